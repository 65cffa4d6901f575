"""Training: a few steps stay finite, checkpoints resume bit-exactly, the time budget is kept,
`python -m generator.train` runs without the bot's packages, bad input gets a clear error."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from generator.training.archive import HELDOUT, TRAIN, ArchiveEntry, load_archive, write_archive
from generator.model.checkpoint import (
    CARD_NAME, EXPORT_NAME, checkpoint_files, load_checkpoint, save_checkpoint,
)
from generator.loading import load_face_model
from generator.train import GRID_NAME, LOG_NAME, Trainer, TrainOptions, load_resume, model_config, train
from tests.fakes import DrawnFaceModel
from tests.test_generator_model import same_face

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def write_drawn_archive(path: Path, count: int = 48, resolution: int = 32) -> Path:
    """A training archive of drawn test faces (no real photos in tests that need no photos)."""
    entries = []
    for seed, image in enumerate(DrawnFaceModel(resolution).generate(list(range(count)), 1.0)):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        entries.append(ArchiveEntry(buffer.getvalue(), HELDOUT if seed % 6 == 0 else TRAIN, "drawn"))
    write_archive(path, entries, {"resolution": resolution, "quality": 90, "seed": 0})
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return write_drawn_archive(tmp_path_factory.mktemp("data") / "drawn.npz")


def options(archive: Path, out: Path, **overrides) -> TrainOptions:
    values = dict(data=archive, out=out, kimg=0.05, model="tiny", batch=4, r1_every=2, log_seconds=0.0,
                  device="cpu", seed=3)
    values.update(overrides)
    return TrainOptions(**values)


def make_trainer(archive: Path, tmp_path: Path, **overrides) -> Trainer:
    opts = options(archive, tmp_path, **overrides)
    images = load_archive(archive).images
    return Trainer(opts, model_config(opts, images.shape[1]), images, torch.device("cpu"))


def state(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.state_tensors("full").items()}


def test_a_few_steps_stay_finite_and_learn_something(archive, tmp_path):
    trainer = make_trainer(archive, tmp_path)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    for _ in range(4):
        trainer.train_step()
    losses = trainer.take_losses()
    assert all(np.isfinite(v) for v in losses.values()), losses
    assert losses["r1"] > 0
    for module in (trainer.G, trainer.D, trainer.G_ema):
        assert all(torch.isfinite(p).all() for p in module.state_dict().values())
    assert any(not torch.equal(before[k], v) for k, v in trainer.G.state_dict().items())
    assert not torch.equal(trainer.G.mapping.w_avg, torch.zeros_like(trainer.G.mapping.w_avg))
    assert trainer.nimg == 16 and trainer.step == 4


def test_every_image_the_discriminator_sees_is_augmented(archive, tmp_path):
    """Reals and fakes alike, in the G step, the D step and R1: a cutout square of exact zeros in each.
    (A real face is never exactly 0 anywhere unaugmented: uint8 / 127.5 - 1 cannot be 0.)"""
    trainer = make_trainer(archive, tmp_path, augment="cutout")
    seen: list[torch.Tensor] = []
    trainer.D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    trainer.train_step()  # step 0: G step, D step on fakes and reals, and R1 on the reals
    assert len(seen) == 4
    for batch in seen:
        zero_pixels = (batch == 0).all(1).sum((1, 2))
        assert (zero_pixels >= 8 * 8).all(), zero_pixels  # a 16 px square, at least a quarter inside
    plain = make_trainer(archive, tmp_path, augment="none")
    assert not (plain.faces.sample(4) == 0).all(1).any()


def test_ema_follows_the_generator_at_its_half_life_after_the_ramp_up(archive, tmp_path):
    trainer = make_trainer(archive, tmp_path, ema_kimg=0.01, ema_rampup=0.0)  # half-life 10 images
    before = [p.clone() for p in trainer.G_ema.parameters()]
    trainer.train_step()
    beta = 0.5 ** (4 / 10)  # one batch of 4
    for old, ema, live in zip(before, trainer.G_ema.parameters(), trainer.G.parameters()):
        torch.testing.assert_close(ema, old.lerp(live, 1 - beta))
    assert torch.equal(trainer.G_ema.mapping.w_avg, trainer.G.mapping.w_avg)  # buffers are copied
    ramped = make_trainer(archive, tmp_path)  # ramp-up: after 4 images the half-life is 0.2 images
    ramped.train_step()
    for ema, live in zip(ramped.G_ema.parameters(), ramped.G.parameters()):
        torch.testing.assert_close(ema, live, rtol=1e-4, atol=1e-5)


def test_bf16_channels_last_path_runs_on_cpu(archive, tmp_path):
    """The GPU settings (bf16 autocast, channels_last) exercised here, where no GPU is."""
    trainer = make_trainer(archive, tmp_path, amp="bf16", channels_last=True)
    assert trainer.G.synthesis.blocks[-1].conv1.weight.is_contiguous(memory_format=torch.channels_last)
    for _ in range(3):
        trainer.train_step()
    assert all(np.isfinite(v) for v in trainer.take_losses().values())


def test_fast_resample_model_trains_and_exports(archive, tmp_path):
    """The strided-convolution variant (issue 9's speed option) trains and round-trips."""
    summary = train(options(archive, tmp_path / "run", resample="fast"), echo=lambda _: None)
    assert not summary["diverged"]
    model = load_face_model(tmp_path / "run" / EXPORT_NAME, device="cpu")
    assert model.G.cfg.resample == "fast"
    assert model.G.synthesis.blocks[1].conv0.weight.shape[-1] == 4
    [a, b] = model.generate([1, 1], 0.7)
    assert a.size == (32, 32) and same_face(a, b)  # one seed twice in a batch: one face


def test_checkpoint_resumes_bit_exactly(archive, tmp_path):
    straight = make_trainer(archive, tmp_path)
    for _ in range(5):
        straight.train_step()

    first = make_trainer(archive, tmp_path)
    for _ in range(2):
        first.train_step()
    save_checkpoint(tmp_path / "run", first.state_tensors("full"), first.state_meta("full"))
    torch.manual_seed(12345)  # whatever happens in between must not matter

    resumed = make_trainer(archive, tmp_path, seed=99)
    resumed.load_state(*load_resume(tmp_path / "run"))
    for _ in range(3):
        resumed.train_step()
    expected, got = state(straight), state(resumed)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    assert resumed.nimg == straight.nimg and resumed.step == straight.step


def test_half_checkpoint_is_small_sharded_and_resumes(archive, tmp_path):
    opts = options(archive, tmp_path / "run", ckpt="half", kimg=0.02)
    train(opts, echo=lambda _: None)
    tensors, meta = load_checkpoint(tmp_path / "run")
    assert meta["precision"] == "half" and not any(k.startswith(("G_ema.", "opt_")) for k in tensors)
    assert all(v.dtype == torch.float16 for k, v in tensors.items() if k.startswith("G."))
    # shards: split a checkpoint in pieces of a few kB and read it back whole
    shards = save_checkpoint(tmp_path / "sharded", tensors, meta, max_shard_bytes=20_000)
    assert len(shards) > 1 and all(p.stat().st_size < 60_000 for p in shards)
    again, meta2 = load_checkpoint(tmp_path / "sharded")
    assert again.keys() == tensors.keys() and meta2["step"] == meta["step"]
    summary = train(options(archive, tmp_path / "run2", ckpt="half", kimg=0.04, resume=tmp_path / "run"),
                    echo=lambda _: None)
    assert summary["kimg"] == pytest.approx(0.04) and not summary["diverged"]


def test_train_writes_weights_card_grid_and_log(archive, tmp_path):
    out = tmp_path / "run"
    lines: list[str] = []
    summary = train(options(archive, out), echo=lines.append)
    assert summary["kimg"] >= 0.05 and not summary["diverged"]
    for name in (EXPORT_NAME, CARD_NAME, GRID_NAME, LOG_NAME):
        assert (out / name).is_file(), name
    assert checkpoint_files(out)
    events = [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and all(e["img_s"] > 0 and np.isfinite(e["loss_g"]) for e in progress)
    model = load_face_model(out / EXPORT_NAME, device="cpu")
    assert model.model_version == summary["model_version"] and model.resolution == 32
    assert "images seen" in (out / CARD_NAME).read_text()
    assert any("img_s" in line for line in lines)


def test_time_budget_is_kept(archive, tmp_path):
    started = time.monotonic()
    summary = train(options(archive, tmp_path / "run", kimg=None, minutes=0.08), echo=lambda _: None,
                    started=started)
    took = time.monotonic() - started
    assert took < 0.08 * 60, took
    assert summary["kimg"] > 0 and (tmp_path / "run" / EXPORT_NAME).is_file()


@pytest.mark.parametrize("overrides, message", [
    ({"kimg": None}, "budget"),
    ({"batch": 1}, "batch"),
    ({"augment": "color,blur"}, "blur"),
    ({"data": Path("/nonexistent/archive.npz")}, "archive.npz"),
    ({"device": "tpu"}, "tpu"),
])
def test_bad_options_are_refused(archive, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        train(options(archive, tmp_path / "run", **overrides), echo=lambda _: None)


def test_resume_from_an_empty_directory_names_it(archive, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        train(options(archive, tmp_path / "run", resume=tmp_path / "empty"), echo=lambda _: None)


def test_module_runs_standalone_without_the_bot_packages(archive, tmp_path):
    """What the GPU box runs: only generator/ + torch, numpy, pillow, safetensors get imported."""
    code = (
        "import sys, generator.train as t, generator.bench.train as b\n"
        f"rc = t.main(['--data', {str(archive)!r}, '--out', {str(tmp_path / 'run')!r}, '--kimg', '0.02',"
        " '--model', 'tiny', '--batch', '4', '--device', 'cpu', '--ckpt', 'half'])\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'pydantic_settings', 'sqlalchemy',"
        " 'bot', 'db', 'aiohttp', 'discord', 'telegram', 'dlib', 'typer'})\n"
        "print('BAD', bad)\n"
        "sys.exit(rc or bool(bad))\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BAD []" in result.stdout
    assert (tmp_path / "run" / EXPORT_NAME).is_file()
    bad = subprocess.run([sys.executable, "-m", "generator.train", "--data", str(tmp_path / "missing.npz"),
                          "--out", str(tmp_path / "x"), "--kimg", "1"], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env=env)
    assert bad.returncode == 2 and "missing.npz" in bad.stderr and "Traceback" not in bad.stderr


def test_throughput_bench_reports_each_setting(archive, tmp_path):
    from generator.bench.train import run

    report = run(archive, batch=4, configs=["naive", "optimized"], seconds=0.0, warmup=1, min_steps=1,
                 device_arg="cpu", model="tiny", out=tmp_path / "bench.json", echo=lambda _: None)
    assert set(report["results"]) == {"naive", "optimized"}
    assert all(r["img_s"] > 0 and r["finite"] for r in report["results"].values())
    assert report["train_gflop_per_img"] > 0 and "speedup" in report
    assert json.loads((tmp_path / "bench.json").read_text())["batch"] == 4


@pytest.mark.parametrize("log_seconds", [0.0, 3600.0])
def test_a_diverged_run_keeps_the_last_good_weights(archive, tmp_path, log_seconds):
    """Whether or not a log line saw the bad losses, broken weights never replace good ones."""
    out = tmp_path / "run"
    good = train(options(archive, out, kimg=0.02), echo=lambda _: None)
    exported = (out / EXPORT_NAME).read_bytes()
    summary = train(options(archive, out, kimg=0.06, lr=1e30, resume=out, log_seconds=log_seconds),
                    echo=lambda _: None)
    assert summary["diverged"]
    assert (out / EXPORT_NAME).read_bytes() == exported
    assert load_checkpoint(out)[1]["step"] == good["step"]
    events = [json.loads(line)["event"] for line in (out / LOG_NAME).read_text().splitlines()]
    assert "diverged" in events
