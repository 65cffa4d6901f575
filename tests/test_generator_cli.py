"""`figment generate`, `figment train`, `figment eval`, `figment bench model`: they work, and bad
input gets a clear message with exit code 2, never a traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings
from generator.model.checkpoint import EXPORT_NAME, export_generator
from tests.test_generator_model import same_face, tiny_generator
from tests.test_train import write_drawn_archive


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FIGMENT_WEIGHTS", raising=False)
    get_settings.cache_clear()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    get_settings.cache_clear()


@pytest.fixture
def weights(tmp_path) -> Path:
    path = tmp_path / EXPORT_NAME
    export_generator(path, tiny_generator(), {"kimg": 1})
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def says(result, text: str) -> bool:
    """The output contains text, however the console wrapped it."""
    return "".join(text.split()) in "".join(result.output.split())


def test_generate_writes_pngs_and_repeats_itself(weights, tmp_path):
    """Same seed, same face (README): the same command gives the same bytes; the seed made alone
    instead of in a batch of three gives the same face up to one level per pixel."""
    def generate(count: int, seed: int, out: Path) -> list[Path]:
        result = invoke("generate", "--count", count, "--seed", seed, "--psi", 0.5, "--weights", weights, "--out", out)
        assert result.exit_code == 0, result.output
        return sorted(out.glob("*.png"))

    files = generate(3, 41, tmp_path / "a")
    assert [f.name for f in files] == [f"seed{s:010d}-psi0.50.png" for s in (41, 42, 43)]
    again = generate(3, 41, tmp_path / "again")
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]
    [alone] = generate(1, 42, tmp_path / "b")
    assert alone.name == files[1].name
    assert same_face(Image.open(alone).convert("RGB"), Image.open(files[1]).convert("RGB"))
    assert not same_face(Image.open(files[0]).convert("RGB"), Image.open(files[1]).convert("RGB"))


def test_generate_grid_is_one_small_png(weights, tmp_path):
    from PIL import Image

    result = invoke("generate", "--count", 64, "--seed", 0, "--weights", weights, "--grid", tmp_path / "g" / "grid.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "g" / "grid.png").size == (8 * 32, 8 * 32)
    assert (tmp_path / "g" / "grid.png").stat().st_size <= 1_000_000


def test_small_png_shrinks_to_fit(tmp_path):
    import numpy as np
    from PIL import Image

    from generator.model.sampling import save_small_png

    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8))
    size = save_small_png(noise, tmp_path / "n.png", max_bytes=300_000)
    assert size == (tmp_path / "n.png").stat().st_size and size <= 300_000


@pytest.mark.parametrize("args, message", [
    (["--psi", "2"], "truncation"),
    (["--psi", "-0.5"], "truncation"),
    (["--seed", "-1"], "seed"),
    (["--seed", str(2**32 - 1), "--count", "2"], "seed"),
    (["--count", "0"], "count"),
])
def test_generate_refuses_bad_input(weights, tmp_path, args, message):
    result = invoke("generate", "--weights", weights, "--out", tmp_path, *args)
    assert result.exit_code == 2 and says(result, message) and "Traceback" not in result.output


def test_generate_and_train_into_a_file_are_clear_errors(weights, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    result = invoke("generate", "--weights", weights, "--out", taken, "--count", 1)
    assert result.exit_code == 2 and says(result, "taken"), result.output  # an uncaught error exits 1
    archive = write_drawn_archive(tmp_path / "drawn.npz")
    result = invoke("train", "--data", archive, "--out", taken, "--kimg", 0.01, "--model", "tiny", "--device", "cpu")
    assert result.exit_code == 2 and says(result, "taken")


def test_generate_names_missing_or_corrupt_weights(tmp_path):
    result = invoke("generate", "--weights", tmp_path / "missing.safetensors", "--out", tmp_path)
    assert result.exit_code == 2 and says(result, "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    result = invoke("generate", "--weights", bad, "--out", tmp_path)
    assert result.exit_code == 2 and says(result, "bad.safetensors")


def test_train_command_runs_and_refuses_bad_input(tmp_path):
    archive = write_drawn_archive(tmp_path / "drawn.npz")
    result = invoke("train", "--data", archive, "--out", tmp_path / "run", "--kimg", 0.02, "--model", "tiny",
                    "--batch", 4, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / EXPORT_NAME).is_file() and says(result, "img/s over the run")
    result = invoke("train", "--data", tmp_path / "none.npz", "--out", tmp_path / "run2", "--minutes", 1)
    assert result.exit_code == 2 and says(result, "none.npz")
    result = invoke("train", "--data", archive, "--out", tmp_path / "run2")
    assert result.exit_code == 2 and says(result, "budget")
    result = invoke("train", "--data", archive, "--out", tmp_path / "run2", "--kimg", 1, "--ckpt", "quarter")
    assert result.exit_code == 2 and says(result, "ckpt")


def test_eval_refuses_bad_input(weights, tmp_path):
    archive = write_drawn_archive(tmp_path / "drawn.npz")
    result = invoke("eval", "--real", tmp_path / "nothing.npz", "--weights", weights)
    assert result.exit_code == 2 and says(result, "nothing.npz")
    result = invoke("eval", "--real", archive, "--weights", tmp_path / "gone.safetensors", "--n", 20)
    assert result.exit_code == 2 and says(result, "gone.safetensors")
    result = invoke("eval", "--real", archive, "--weights", weights, "--psi", 3)
    assert result.exit_code == 2 and says(result, "truncation")
    result = invoke("eval", "--real", archive, "--weights", weights, "--n", 5)
    assert result.exit_code == 2 and says(result, "--n")


def test_bench_model_reports_flops_and_latency(weights):
    result = invoke("bench", "model", "--weights", weights, "--repeats", 1)
    assert result.exit_code == 0, result.output
    assert '"gflop_per_face"' in result.output and '"16"' in result.output
    result = invoke("bench", "model", "--weights", "/nonexistent/w.safetensors")
    assert result.exit_code == 2 and says(result, "w.safetensors")


def test_figment_train_and_the_module_share_one_definition_of_the_options(tmp_path, capsys):
    from generator.train import build_parser

    result = invoke("train", "--help")
    assert result.exit_code == 0
    shown = capsys.readouterr().out + result.output
    options = [o for action in build_parser()._actions for o in action.option_strings if o.startswith("--")]
    assert len(options) > 20 and all(option in shown for option in options)
    archive = write_drawn_archive(tmp_path / "drawn.npz")
    result = invoke("train", "--data", archive, "--out", tmp_path / "run", "--kimg", 0.02, "--model", "tiny",
                    "--batch", 4, "--r1-every", 3, "--ema-kimg", 0.5, "--device", "cpu", "--ckpt", "half")
    assert result.exit_code == 0, result.output
    # a resumed run keeps the run's own hyperparameters unless given again
    result = invoke("train", "--data", archive, "--out", tmp_path / "run", "--kimg", 0.04, "--resume",
                    tmp_path / "run", "--device", "cpu")
    assert result.exit_code == 0, result.output
    log = [json.loads(line) for line in (tmp_path / "run" / "train.log").read_text().splitlines()]
    resumed = [entry for entry in log if entry["event"] == "start"][-1]["options"]
    assert (resumed["batch"], resumed["r1_every"], resumed["ema_kimg"]) == (4, 3, 0.5)
