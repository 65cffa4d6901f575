"""An imported StyleGAN2 is served like Figment's own model: load_face_model (so FIGMENT_WEIGHTS and
`figment generate`) takes it and generate(seeds, psi) uses the official z convention; rosinality
checkpoints map onto the same generator."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from generator.loading import StyleGANFaceModel, WeightsError, load_face_model
from generator.stylegan2 import rosinality
from generator.stylegan2.importer import import_weights
from generator.stylegan2.pickle_import import SnapshotError
from tests.test_stylegan2_equality import DATA


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    return import_weights(DATA / "sg2_64-snapshot.pkl", "t", "test", out)


def test_load_face_model_serves_the_official_seed(imported):
    model = load_face_model(imported, "cpu")
    assert not isinstance(model, StyleGANFaceModel) and model.resolution == 64
    assert model.model_version.startswith("t-64px-")
    faces = model.generate([3, 5], 0.7)
    for seed, face in zip((3, 5), faces):
        ref = np.asarray(Image.open(DATA / f"sg2_64-seed{seed}-psi0.7.png")).astype(int)
        assert np.abs(np.asarray(face).astype(int) - ref).max() <= 1
    # per-seed truncation, and the folder of an import works as well as its file
    mixed = load_face_model(imported.parent, "cpu").generate([5, 5], [1.0, 0.7])
    ref = np.asarray(Image.open(DATA / "sg2_64-seed5-psi1.0.png")).astype(int)
    assert np.abs(np.asarray(mixed[0]).astype(int) - ref).max() <= 1
    assert np.abs(np.asarray(mixed[1]).astype(int) - np.asarray(faces[1]).astype(int)).max() <= 1


def test_a_damaged_import_is_a_weights_error(imported, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(imported), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    tensors.pop("mapping.w_avg")
    save_file(tensors, str(tmp_path / "g.safetensors"), metadata=metadata)
    with pytest.raises(WeightsError, match="mapping.w_avg"):
        load_face_model(tmp_path / "g.safetensors", "cpu")


def our_state(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_rosinality_checkpoint_maps_onto_the_same_generator(imported, tmp_path):
    from generator.stylegan2.store import read
    from safetensors import safe_open

    with safe_open(str(imported), framework="pt") as handle:
        G, _, _ = read(our_state(imported), handle.metadata(), imported)
    ckpt = rosinality.to_rosinality(G.cfg, G.state_dict())
    assert "convs.7.conv.weight" in ckpt["g_ema"] and ckpt["g_ema"]["conv1.conv.weight"].dim() == 5
    path = tmp_path / "550000.pt"
    torch.save({**ckpt, "args": {"size": 64}}, path)
    out = import_weights(path, "ros", "test", tmp_path / "ros")
    assert "rosinality" in (out.parent / "MODEL_CARD.md").read_text()
    original = load_face_model(imported, "cpu").generate(list(range(4)), 0.7)
    mapped = load_face_model(out, "cpu").generate(list(range(4)), 0.7)
    for a, b in zip(original, mapped):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    # without latent_avg, w_avg is estimated, and the card says so
    del ckpt["latent_avg"]
    torch.save(ckpt, path)
    out = import_weights(path, "ros2", "test", tmp_path / "ros2")
    assert "no latent_avg" in (out.parent / "MODEL_CARD.md").read_text()
    assert load_face_model(out, "cpu").generate([0], 1.0)[0].size == (64, 64)


def test_rosinality_checkpoint_missing_a_layer_is_refused(imported, tmp_path):
    from generator.stylegan2.store import read
    from safetensors import safe_open

    with safe_open(str(imported), framework="pt") as handle:
        G, _, _ = read(our_state(imported), handle.metadata(), imported)
    ckpt = rosinality.to_rosinality(G.cfg, G.state_dict())
    del ckpt["g_ema"]["convs.3.noise.weight"]
    torch.save(ckpt, tmp_path / "x.pt")
    with pytest.raises(SnapshotError, match="convs.3.noise.weight"):
        import_weights(tmp_path / "x.pt", "x", "t", tmp_path / "x")


def test_the_longest_name_gives_a_version_the_database_stores(tmp_path):
    """generated_faces.model_version and fool_counts.model_version are VARCHAR(64) (PostgreSQL
    enforces it): a name plus '-1024px-' and eight hex digits must fit."""
    from db.models import GeneratedFace

    limit = GeneratedFace.__table__.c.model_version.type.length
    with pytest.raises(SnapshotError, match="--name must be 1-40"):
        import_weights(DATA / "sg2_64-snapshot.pkl", "n" * 41, "test", tmp_path / "long")
    path = import_weights(DATA / "sg2_64-snapshot.pkl", "n" * 40, "test", tmp_path / "ok")
    version = load_face_model(path, "cpu").model_version
    assert len(version.replace("-64px-", "-1024px-")) <= limit


def test_a_large_imported_model_sizes_the_cpu_service_by_its_cost(imported, tmp_path):
    """At about 2 s a face (256 px on the CPU), a refill call makes one face and a batch about 8 s of
    work, so a /face request never waits behind a minute of pool refills; small models keep the
    service's defaults."""
    from bot.ops.wiring import service_config
    from generator.serving.service import ServiceConfig
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    big = load_face_model(import_weights(DATA / "paper256-snapshot.pkl", "p", "test", tmp_path / "p"), "cpu")
    config = service_config(settings, big)
    assert (config.refill_batch, config.max_batch, config.pool_size) == (1, 4, 32)
    small = service_config(settings, load_face_model(imported, "cpu"))
    defaults = ServiceConfig.for_device("cpu")
    assert (small.refill_batch, small.max_batch, small.pool_size) == \
        (defaults.refill_batch, defaults.max_batch, defaults.pool_size)
    assert service_config(settings, big, max_batch=2).max_batch == 2  # the caller's word wins


def test_a_large_imported_model_curates_what_the_cpu_affords(imported, tmp_path):
    """A curated face costs K faces: K=8 at ~2 s a face (256 px) would be 16 s of CPU each, so the
    quiz curates the best of 2 there unless the operator set FIGMENT_CURATE_K; small models keep 8."""
    from bot.ops.wiring import build_face_source, curate_k
    from generator.stylegan2.model import curate_k_cap
    from tests.conftest import make_settings

    assert (curate_k_cap(256, "cpu"), curate_k_cap(512, "cpu"), curate_k_cap(1024, "cpu")) == (2, 1, 1)
    assert curate_k_cap(256, "cuda") is None and curate_k_cap(64, "cpu") is None
    big_weights = import_weights(DATA / "paper256-snapshot.pkl", "p", "test", tmp_path / "p")
    big = build_face_source(make_settings(tmp_path, weights=big_weights, device="cpu"))
    small = build_face_source(make_settings(tmp_path, weights=imported, device="cpu"))
    assert curate_k(make_settings(tmp_path), big) == 2
    assert curate_k(make_settings(tmp_path, curate_k=8), big) == 8  # the operator's word wins
    assert curate_k(make_settings(tmp_path), small) == 8
