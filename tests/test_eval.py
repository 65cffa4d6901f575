"""Offline evaluation: each measure tells apart what it should, and `evaluate` writes its report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from generator.model.checkpoint import CARD_NAME, EXPORT_NAME, export_generator
from generator.evaluate import EvalOptions, evaluate
from generator.evaluation.c2st import c2st_features, c2st_pixels
from generator.evaluation.copying import data_copying, mann_whitney_z, near_copies, pixel_features
from generator.evaluation.faces import FaceAnalyzer
from generator.evaluation.frechet import frechet_distance
from generator.evaluation.swd import swd
from tests.test_generator_model import tiny_generator
from tests.conftest import SHARED_FACES
from tests.test_train import write_drawn_archive



pytestmark = pytest.mark.usefixtures("one_torch_thread")


def drawn(count: int, resolution: int = 32, seed: int = 0) -> np.ndarray:
    from tests.fakes import DrawnFaceModel

    images = DrawnFaceModel(resolution).generate(list(range(seed, seed + count)), 1.0)
    return np.stack([np.asarray(image) for image in images])


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4000, 6)), rng.normal(size=(4000, 6))
    assert frechet_distance(a, b) < 0.02
    assert frechet_distance(a, b + 0.5) == pytest.approx(6 * 0.25, rel=0.1)
    assert frechet_distance(a, b * 2) == pytest.approx(6 * 1.0, rel=0.1)  # (2 - 1)^2 per dimension
    with pytest.raises(ValueError):
        frechet_distance(a, b[:, :3])


def test_swd_is_small_between_alike_sets_and_large_otherwise():
    real, alike = drawn(64), drawn(64, seed=1000)
    noise = np.random.default_rng(0).integers(0, 256, real.shape, dtype=np.uint8)
    near, far = swd(real, alike), swd(real, noise)
    assert set(near) == {"swd_32", "swd_16", "swd_avg"}
    assert near["swd_avg"] * 3 < far["swd_avg"]


def test_mann_whitney_z():
    assert mann_whitney_z(np.arange(10.0), np.arange(10.0)) == 0
    assert mann_whitney_z(np.arange(10.0), np.arange(10.0) + 100) < -3  # first sample smaller: "closer"
    assert mann_whitney_z(np.arange(10.0) + 100, np.arange(10.0)) > 3


def test_data_copying_catches_copies_and_passes_new_samples():
    rng = np.random.default_rng(0)
    train, heldout, fresh = rng.normal(size=(600, 16)), rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    assert data_copying(train, heldout, fresh)["passed"]
    copies = train[:300] + rng.normal(scale=0.01, size=(300, 16))
    report = data_copying(train, heldout, copies)
    assert not report["passed"] and report["C_T"] < -5
    images = drawn(20)
    count, rms = near_copies(pixel_features(images), pixel_features(images[:5]), 0.05)
    # The same images give distance 0 on any CPU, not the 1e-3 that |a|^2 + |b|^2 - 2ab leaves on some;
    # 1e-6 only allows the pooling (batches of 20 and of 5) to round each value up to ~8 float32 ulps.
    assert count == 5 and rms.max() < 1e-6


def test_c2st_tells_different_sets_apart_and_not_alike_ones():
    rng = np.random.default_rng(0)
    assert abs(c2st_features(rng.normal(size=(400, 8)), rng.normal(size=(400, 8))) - 0.5) < 0.1
    assert c2st_features(rng.normal(size=(400, 8)), rng.normal(size=(400, 8)) + 1) > 0.85
    noise = np.random.default_rng(0).integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    assert c2st_pixels(drawn(60), noise, side=32, epochs=4) > 0.9


@pytest.mark.skipif(not SHARED_FACES.is_dir(), reason="needs ../shared/faces")
def test_dlib_finds_real_faces_and_not_flat_images():
    folder = sorted((SHARED_FACES / "celeba-6k" / "celeb_10").glob("*.jpg"))[:3]
    photos = [np.asarray(Image.open(p).convert("RGB").crop((0, 30, 178, 208)).resize((128, 128))) for p in folder]
    flat = np.full((128, 128, 3), 128, dtype=np.uint8)
    stats = FaceAnalyzer().analyze(photos + [flat])
    assert stats.detected.tolist() == [True, True, True, False]
    assert stats.embeddings.shape == (4, 128)
    same_person = np.linalg.norm(stats.embeddings[0] - stats.embeddings[1])
    assert same_person < 0.6  # dlib's same-person threshold


@pytest.mark.skipif(not SHARED_FACES.is_dir(), reason="needs ../shared/faces")
def test_dlib_in_two_processes_gives_the_same_answers(monkeypatch):
    from generator.evaluation import faces

    monkeypatch.setattr(faces, "CHUNK", 3)
    folder = sorted((SHARED_FACES / "celeba-6k" / "celeb_10").glob("*.jpg"))[:6]
    photos = [np.asarray(Image.open(p).convert("RGB").crop((0, 30, 178, 208)).resize((128, 128))) for p in folder]
    photos.append(np.full((128, 128, 3), 128, dtype=np.uint8))
    one, two = FaceAnalyzer().analyze(photos), FaceAnalyzer().analyze(photos, workers=2)
    assert one.detected.tolist() == two.detected.tolist() and one.detected.sum() >= 5
    assert np.allclose(one.embeddings, two.embeddings, atol=1e-5)


def test_evaluate_writes_report_grid_and_card(tmp_path):
    archive = write_drawn_archive(tmp_path / "drawn.npz", count=72)
    weights = tmp_path / EXPORT_NAME
    export_generator(weights, tiny_generator(), {"kimg": 5, "batch": 4})
    card = tmp_path / CARD_NAME
    result = evaluate(EvalOptions(real=archive, weights=weights, n=20, out=tmp_path / "eval", train_n=20,
                                  c2st_epochs=2, cache=tmp_path / "cache", card=card), echo=lambda _: None)
    saved = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert saved == result
    assert result["n_real"] == 12 and result["n_generated"] == 20  # all of the archive's held-out faces
    for key in ("fd_face", "face_rate", "face_rate_real", "swd", "copying", "c2st"):
        assert key in result
    assert {"identity", "pixels", "near_copies", "passed"} <= set(result["copying"])
    assert 0 <= result["c2st"]["pixels_cnn"] <= 1
    assert Image.open(tmp_path / "eval" / "samples.png").size == (8 * 32, 3 * 32)
    assert "FD_face" in card.read_text() and "data-copying" in card.read_text()
    assert list((tmp_path / "cache").glob("faces-*.npz"))  # real embeddings cached for the next run
