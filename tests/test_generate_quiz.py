"""`figment generate --quiz`: N faces exactly as the quiz's fake rounds show them; bad input gets a
clear error and exit code 2, never a traceback."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.imaging import quiz_length
from bot.settings import get_settings
from tests.test_generator_cli import invoke, isolated, weights  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def quiz_env(isolated, monkeypatch):  # the CLI tests' isolation, plus a small K and exact fp32
    monkeypatch.setenv("FIGMENT_CURATE_K", "2")
    monkeypatch.setenv("FIGMENT_PRECISION", "fp32")
    get_settings.cache_clear()


def test_writes_n_faces_of_the_quiz_size(weights, tmp_path):
    out = tmp_path / "quiz"
    result = invoke("generate", "--quiz", "--count", 3, "--seed", 7, "--weights", weights, "--out", out)
    assert result.exit_code == 0, result.output
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["quiz-00001.jpg", "quiz-00002.jpg", "quiz-00003.jpg"]
    size = get_settings().posted_size
    for file in files:
        data = file.read_bytes()
        assert len(data) == quiz_length(size)  # the quiz's fixed byte length: no side channel
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (size, size)
    assert "best 1 of 2" in " ".join(result.output.split())
    again = tmp_path / "again"
    assert invoke("generate", "--quiz", "--count", 3, "--seed", 7, "--weights", weights, "--out", again).exit_code == 0
    assert [f.read_bytes() for f in sorted(again.iterdir())] == [f.read_bytes() for f in files]
    wider = tmp_path / "k3"
    result = invoke("generate", "--quiz", "--count", 1, "--seed", 7, "--k", 3, "--weights", weights, "--out", wider)
    assert result.exit_code == 0 and "best 1 of 3" in " ".join(result.output.split())


@pytest.mark.parametrize("extra, message", [
    (["--count", 0], "--count must be from 1 to 10000"),
    (["--count", -3], "--count must be from 1 to 10000"),
    (["--count", 2, "--k", 0], "--k must be from 1 to 64"),
    (["--count", 2, "--k", 65], "--k must be from 1 to 64"),
    (["--count", 2, "--select", 4], "leave out --grid, --select and --psi"),
    (["--count", 2, "--psi", 0.5], "leave out --grid, --select and --psi"),
    (["--count", 2, "--seed", 2**32 - 2], "seed must be a whole number"),
])
def test_bad_input_gets_a_clear_error(weights, tmp_path, extra, message):
    result = invoke("generate", "--quiz", *extra, "--weights", weights, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_bad_out_folder_gets_a_clear_error(weights, tmp_path):
    result = invoke("generate", "--quiz", "--count", 1, "--weights", weights, "--out", tmp_path / "no" / "such" / "dir")
    assert result.exit_code == 2 and "does not exist" in " ".join(result.output.split())
    file = tmp_path / "a-file"
    file.write_text("x")
    result = invoke("generate", "--quiz", "--count", 1, "--weights", weights, "--out", file)
    assert result.exit_code == 2 and "is a file" in " ".join(result.output.split())
    result = invoke("generate", "--count", 1, "--k", 4, "--weights", weights, "--out", tmp_path / "plain")
    assert result.exit_code == 2 and "--k goes with --quiz" in " ".join(result.output.split())
