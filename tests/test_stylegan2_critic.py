"""The realness critic and curation (best 1 of K) for an imported StyleGAN2: `figment critic train
--weights` on the 64 px reference snapshot against a smaller archive (the faces brought down to its
side, as the quiz brings them to its detail), then `figment generate --select` and the quiz's
curated source pick among the imported model's faces."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.settings import get_settings
from bot.ops.wiring import load_curator
from generator.curation.critic import load_critic
from generator.curation.source import CuratedSource
from generator.serving.direct import DirectSource
from generator.loading import load_face_model
from generator.stylegan2.importer import import_weights
from tests.conftest import make_settings
from tests.test_stylegan2_equality import DATA
from tests.test_train import write_drawn_archive


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield import_weights(DATA / "sg2_64-snapshot.pkl", "s64", "test", tmp_path / "model")
    get_settings.cache_clear()


async def test_critic_train_and_curation_with_an_imported_model(tmp_path: Path, imported: Path,
                                                                one_torch_thread: None) -> None:
    archive = write_drawn_archive(tmp_path / "drawn.npz", count=120, resolution=32)
    out = tmp_path / "critic.safetensors"
    result = invoke("critic", "train", "--data", archive, "--weights", imported, "--out", out, "--n", 100,
                    "--epochs", 1, "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "brought to 32 px" in result.output
    version = load_face_model(imported, "cpu").model_version
    critic = load_critic(out)
    assert critic.info["model_version"] == version and critic.info["generated_faces"] == 100

    result = invoke("generate", "--count", 2, "--seed", 10, "--select", 4, "--critic", out, "--weights", imported,
                    "--device", "cpu", "--out", tmp_path / "faces")
    assert result.exit_code == 0, result.output
    seeds = sorted(int(p.name[4:14]) for p in (tmp_path / "faces").glob("*.png"))
    assert len(seeds) == 2 and 10 <= seeds[0] < 14 and 14 <= seeds[1] < 18

    curator = load_curator(make_settings(tmp_path, critic=out, curate_k=4), version)
    assert curator.k == 4 and curator.critic is not None
    source = CuratedSource(DirectSource(load_face_model(imported, "cpu")), curator, [0.7])
    try:
        face = await source.face(None, 0.7)
    finally:
        await source.aclose()
    assert face.model_version == version and face.image.size == (64, 64)


def test_an_archive_larger_than_the_generator_is_refused(tmp_path: Path, imported: Path) -> None:
    archive = write_drawn_archive(tmp_path / "drawn.npz", count=120, resolution=128)
    result = invoke("critic", "train", "--data", archive, "--weights", imported, "--out", tmp_path / "c.safetensors",
                    "--n", 100, "--epochs", 1, "--threads", 1)
    assert result.exit_code == 2 and "real faces are 128 px, generated ones 64 px" in " ".join(result.output.split())
