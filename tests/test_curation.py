"""The realness critic and curated (best-of-K) sampling: deterministic for a seed sequence, seeded
faces untouched, a missing or corrupt critic file falls back to K=1 with a warning, and the tools."""
from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from bot.app import Figment
from bot.cli import app as cli
from bot.refs import PlayerRef
from bot.settings import get_settings
from bot.ops.wiring import load_curator
from generator.model.checkpoint import EXPORT_NAME, export_generator
from generator.curation.critic import CriticError, CriticNet, load_critic, save_critic
from generator.curation.source import CuratedSource
from generator.curation.best_of_k import Curator, candidate_seeds, curated_faces
from generator.serving.direct import DirectSource
from generator.interface import InvalidRequest
from generator.loading import DEFAULT_WEIGHTS
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel
from tests.test_generator_model import tiny_generator
from tests.test_train import write_drawn_archive

ALICE = PlayerRef("test", "alice", "Alice")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def critic_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "critic.safetensors"
    save_critic(path, CriticNet((8, 16)), {"model_version": DrawnFaceModel.model_version})
    return path


def pixels(image: Image.Image) -> bytes:
    return image.tobytes()


def test_the_pick_is_the_candidate_the_critic_likes_best(critic_file: Path) -> None:
    model, critic = DrawnFaceModel(), load_critic(critic_file)
    [(seed, image)] = curated_faces(model, Curator(critic, 6), [100], 0.7)
    candidates = model.generate(candidate_seeds(100, 6), 0.7)
    scores = critic.score(np.stack([np.asarray(c) for c in candidates]))
    assert seed == 100 + int(np.argmax(scores)) and len(set(scores.round(6))) > 1
    assert pixels(image) == pixels(model.generate([seed], 0.7)[0])  # the shown face is its seed's face


async def test_curated_sampling_is_deterministic_for_a_seed_sequence(critic_file: Path) -> None:
    curator = Curator(load_critic(critic_file), 4)
    expected = curated_faces(DrawnFaceModel(), curator, [0, 1000, 2000, 3000], 0.7)
    runs = []
    for _ in range(2):
        counter = itertools.count()
        source = CuratedSource(DirectSource(DrawnFaceModel()), curator, [0.7], pool_size=2,
                               seeds=lambda: 1000 * next(counter))
        try:
            runs.append([await source.face(None, 0.7) for _ in range(4)])
        finally:
            await source.aclose()
    for faces in runs:
        assert [face.seed for face in faces] == [seed for seed, _ in expected]
        assert [pixels(face.image) for face in faces] == [pixels(image) for _, image in expected]
    assert any(seed % 1000 for seed, _ in expected)  # the critic did pick, not always the first


async def test_seeded_faces_and_other_truncations_pass_through(critic_file: Path) -> None:
    model = DrawnFaceModel()
    source = CuratedSource(DirectSource(model), Curator(load_critic(critic_file), 8), [0.7])
    try:
        seeded = await source.face(42, 0.7)
        assert model.calls == [((42,), (0.7,))]  # one face made: no candidates for a seeded face
        assert seeded.seed == 42 and pixels(seeded.image) == pixels(model.generate([42], 0.7)[0])
        other = await source.face(None, 0.5)
        assert other.psi == 0.5 and len(model.calls) >= 2 and not source.curates(0.5)
        assert source.curates(0.7)
    finally:
        await source.aclose()


def test_k_must_be_sensible(critic_file: Path) -> None:
    for bad in (0, 65, True, 2.5):
        with pytest.raises(InvalidRequest):
            Curator(load_critic(critic_file), bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a critic"):
        Curator(None, 4)
    with pytest.raises(InvalidRequest):
        candidate_seeds(2**32 - 2, 4)


def test_critic_round_trip_is_fp16_and_small(critic_file: Path, tmp_path: Path) -> None:
    critic = load_critic(critic_file)
    faces = np.stack([np.asarray(image) for image in DrawnFaceModel(128).generate([1, 2, 3], 0.7)])
    assert critic.score(faces).shape == (3,) and critic.score(faces).dtype == np.float32
    assert (critic.score(faces) == load_critic(critic_file).score(faces)).all()
    assert critic.model_version == DrawnFaceModel.model_version


def test_missing_corrupt_or_foreign_critic_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(CriticError, match="not found.*nope.safetensors"):
        load_critic(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(CriticError, match="corrupt.*bad.safetensors"):
        load_critic(bad)
    with pytest.raises(CriticError, match="not a Figment critic"):
        load_critic(DEFAULT_WEIGHTS)


async def test_a_missing_or_corrupt_critic_falls_back_to_uncurated_faces(tmp_path: Path, critic_file: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    for path in (tmp_path / "missing.safetensors", bad):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.ops.wiring"):
            curator = load_curator(make_settings(tmp_path, critic=path, curate_k=8))
        assert curator.k == 1 and curator.critic is None
        assert "uncurated faces (K=1)" in caplog.text and path.name in caplog.text
    settings = make_settings(tmp_path, critic=bad, curate_k=8)
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()), curator=load_curator(settings))
    try:
        assert not figment.curated.curating
        assert (await figment.faces.face(ALICE)).psi == 0.7  # the bot still serves faces
    finally:
        await figment.close()
    good = load_curator(make_settings(tmp_path, critic=critic_file, curate_k=8))
    assert good.k == 8 and good.critic is not None
    assert load_curator(make_settings(tmp_path, critic=bad, curate_k=1)).k == 1  # K=1 never reads the file


async def test_quiz_and_face_use_curated_faces(tmp_path: Path, critic_file: Path) -> None:
    model = DrawnFaceModel()
    settings = make_settings(tmp_path, critic=critic_file, curate_k=4, quiz_psis=(0.7,), bank_size=0)
    figment = await Figment.open(settings, DirectSource(model), curator=load_curator(settings))
    try:
        post = await figment.faces.face(ALICE)
        batches = [seeds for seeds, _ in model.calls]
        # unseeded: one of 4 consecutive candidate seeds, made one by one through the source
        assert any(post.seed in range(s[0], s[0] + 4) for s in batches) and len(model.calls) >= 4
        seeded = await figment.faces.face(ALICE, "5")
        assert seeded.seed == 5
    finally:
        await figment.close()
    settings = make_settings(tmp_path, critic=critic_file, curate_k=4, face_curated=False)
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()), curator=load_curator(settings))
    try:  # the face bank comes first; behind it, the generator for /face, curated faces for the quiz
        assert figment.faces.source.fallback is figment.source and figment.quiz.source.fallback is figment.curated
    finally:
        await figment.close()


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_generate_select_writes_curated_faces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    weights = tmp_path / EXPORT_NAME
    export_generator(weights, tiny_generator(), {"kimg": 1})
    torch.manual_seed(0)
    critic = tmp_path / "critic.safetensors"
    save_critic(critic, CriticNet((8, 16)), {"model_version": "tiny"})
    result = invoke("generate", "--count", 2, "--seed", 10, "--select", 4, "--critic", critic,
                    "--weights", weights, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "a").glob("*.png"))
    seeds = [int(name[4:14]) for name in names]
    assert len(seeds) == 2 and 10 <= seeds[0] < 14 and 14 <= seeds[1] < 18
    again = invoke("generate", "--count", 2, "--seed", 10, "--select", 4, "--critic", critic,
                   "--weights", weights, "--out", tmp_path / "b")
    assert again.exit_code == 0 and sorted(p.name for p in (tmp_path / "b").glob("*.png")) == names
    for bad, message in (((("--select", 0)), "--select"), (("--select", 4, "--critic", tmp_path / "x.safetensors"),
                                                           "x.safetensors")):
        result = invoke("generate", "--count", 1, "--weights", weights, "--out", tmp_path / "c", *bad)
        assert result.exit_code == 2 and message in "".join(result.output.split()), result.output
    get_settings.cache_clear()


def test_critic_train_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    weights = tmp_path / EXPORT_NAME
    export_generator(weights, tiny_generator(), {"kimg": 1})
    archive = write_drawn_archive(tmp_path / "drawn.npz", count=120)
    out = tmp_path / "critic.safetensors"
    result = invoke("critic", "train", "--data", archive, "--weights", weights, "--out", out, "--n", 100,
                    "--epochs", 2, "--threads", 1)
    assert result.exit_code == 0, result.output
    critic = load_critic(out)
    assert critic.info["real_train_faces"] == 100 and critic.info["model_version"].startswith("sg2-32px")
    assert invoke("critic", "train", "--data", tmp_path / "none.npz").exit_code == 2
    assert invoke("critic", "train", "--data", archive, "--n", 5).exit_code == 2
    get_settings.cache_clear()
