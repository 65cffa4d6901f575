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
    (["--count", 2, "--bank", "--k", 0], "--k must be from 1 to 1024 with --bank"),
    (["--count", 2, "--bank", "--k", 1025], "--k must be from 1 to 1024 with --bank"),
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
    assert result.exit_code == 2 and "--k and --bank go with --quiz" in " ".join(result.output.split())


def test_bank_picking_writes_the_best_of_all_candidates(tmp_path):
    """--bank: the COUNT best of COUNT x K candidates by the critic among those the broken-face
    filter passes, best first, as a face bank shows them; each the same JPEG as that seed's quiz face.
    The shipped weights and critic: the filter passes most of their faces."""
    import numpy as np

    from bot.ops.wiring import load_curator
    from generator.curation.picking import best_passing
    from generator.loading import DEFAULT_WEIGHTS, load_face_model

    out = tmp_path / "bank"
    result = invoke("generate", "--quiz", "--bank", "--count", 3, "--k", 4, "--seed", 100, "--out", out)
    assert result.exit_code == 0, result.output
    assert "the 3 best of 12" in " ".join(result.output.split())
    config = get_settings()
    model = load_face_model(DEFAULT_WEIGHTS, "cpu", config.precision)
    curator = load_curator(config, model.model_version, 2)
    seeds = list(range(100, 112))
    psi = config.quiz_psis[0]
    scores = curator.critic.score(np.stack([np.asarray(image) for image in model.generate(seeds, psi)]))
    chosen, _ = best_passing(scores, 3, lambda i: curator.face_filter.check(model.generate([seeds[i]], psi)[0]).passed)
    for i, index in enumerate(chosen):  # K=1 at a seed: that seed's face exactly as the quiz posts it
        one = tmp_path / f"one{i}"
        assert invoke("generate", "--quiz", "--count", 1, "--k", 1, "--seed", seeds[index], "--out", one).exit_code == 0
        assert (out / f"quiz-{i + 1:05d}.jpg").read_bytes() == (one / "quiz-00001.jpg").read_bytes()
