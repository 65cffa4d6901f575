"""The training run that carries across sessions: a resume through the small state trains like an
uninterrupted run, state files fit their limits, the newest state wins, the parts of a GPU session
each fit one call, and the prepared command runs end to end on the CPU (pack, stage, train,
evaluate, land, and a second session that resumes)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from bot.settings import get_settings
from generator.training.archive import (
    TRAIN, ArchiveEntry, archive_files, load_archive, read_meta, write_archive,
)
from generator.bench.resume import compare
from generator.model.checkpoint import EXPORT_NAME, WeightsFileError, checkpoint_files, export_generator
from generator.gpu.pack import MARGIN, Item, device_calls, pack, plan
from generator.gpu.session import EVAL_FILES, OUT_FILES
from generator.training.state import MAX_STATE_FILE, adopt, ema_file, images_seen, newest_state, state_meta
from generator.train import Trainer, TrainOptions, load_resume, model_config, save_run
from tests.conftest import REPO
from tests.test_train import write_drawn_archive

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    return write_drawn_archive(tmp_path_factory.mktemp("drawn") / "drawn.npz", count=120)


def trainer_for(data: Path, out: Path, **overrides) -> Trainer:
    values = dict(data=data, out=out, kimg=1, model="tiny", batch=4, r1_every=2, device="cpu", seed=1, ckpt="half")
    values.update(overrides)
    opts = TrainOptions(**values)
    images = load_archive(data).images
    return Trainer(opts, model_config(opts, images.shape[1]), images, torch.device("cpu"))


def saved_state(data: Path, run: Path, steps: int) -> Path:
    trainer = trainer_for(data, run)
    for _ in range(steps):
        trainer.train_step()
    save_run(trainer, run, "drawn")
    return run


# --- the state ---------------------------------------------------------------------------------------

def test_a_resume_through_the_small_state_trains_like_an_uninterrupted_run(drawn):
    # G and D in fp16, Adam's moments dropped: the second half's mean losses stay within the spread
    # that the seed alone gives (the README has the numbers at 128 px).
    report = compare(drawn, steps=40, seeds=[0, 1, 2], batch=4)
    for key in ("loss_g", "loss_d"):
        assert report[key]["within_noise"], report
        assert report[key]["mean_gap"] < 0.5 * report[key]["seed_spread"], report


def test_state_files_of_the_real_model_fit_their_limits(tmp_path):
    faces = np.random.default_rng(0).integers(0, 255, (4, 128, 128, 3), dtype=np.uint8)
    opts = TrainOptions(data=tmp_path / "unused", out=tmp_path / "run", kimg=1, model="lean", batch=2,
                        device="cpu", ckpt="half")
    trainer = Trainer(opts, model_config(opts, 128), faces, torch.device("cpu"))
    save_run(trainer, tmp_path / "run", "random")
    files = checkpoint_files(tmp_path / "run") + [tmp_path / "run" / EXPORT_NAME]
    sizes = {p.name: p.stat().st_size for p in files}
    assert len(files) == 3 and all(size <= MAX_STATE_FILE for size in sizes.values()), sizes
    assert sum(sizes.values()) < 40 * 2**20, sizes  # G, D and G's EMA in fp16, no optimizer moments
    meta = state_meta(tmp_path / "run")
    assert meta["precision"] == "half" and meta["nimg"] == 0 and meta["ema_version"]


def test_the_newest_state_wins_and_the_shipped_ema_is_not_kept_twice(drawn, tmp_path):
    older = saved_state(drawn, tmp_path / "older", 2)
    newer = saved_state(drawn, tmp_path / "newer", 4)
    assert newest_state(tmp_path / "missing", older, newer) == newer
    assert newest_state(older, older) == older and newest_state(tmp_path / "missing") is None

    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copyfile(newer / EXPORT_NAME, weights / EXPORT_NAME)  # the state's EMA is what ships
    adopt(newer, weights / "training")
    assert not (weights / "training" / EXPORT_NAME).exists()
    assert images_seen(weights / "training") == 16
    assert ema_file(weights / "training", state_meta(weights / "training")) == weights / EXPORT_NAME
    tensors, meta, ema = load_resume(weights / "training")
    assert meta["step"] == 4 and ema is not None

    adopt(older, weights / "training")  # an EMA that does not ship is kept beside the state
    assert (weights / "training" / EXPORT_NAME).is_file() and images_seen(weights / "training") == 8


def test_a_state_with_another_steps_ema_is_refused(drawn, tmp_path):
    run = saved_state(drawn, tmp_path / "run", 2)
    other = saved_state(drawn, tmp_path / "other", 3)
    shutil.copyfile(other / EXPORT_NAME, run / EXPORT_NAME)
    with pytest.raises(WeightsFileError, match="step"):
        load_resume(run)
    (run / EXPORT_NAME).unlink()
    with pytest.raises(WeightsFileError, match="no EMA generator"):
        load_resume(run)


# --- the parts of a session --------------------------------------------------------------------------

def test_parts_fit_the_room_and_oversized_items_are_refused(tmp_path):
    items = [Item(f"data/part-{i}.npz", tmp_path, size) for i, size in enumerate([70, 50, 40, 30, 30, 20, 10])]
    parts = plan(items, room=100)
    assert all(sum(i.bytes for i in part) <= 100 for part in parts)
    assert sorted(i.name for part in parts for i in part) == sorted(i.name for i in items)
    assert len(parts) == 3  # 250 bytes in rooms of 100
    with pytest.raises(ValueError, match="part-0.npz"):
        plan(items, room=60)


def shard_folder(archive: Path, folder: Path, shards: int) -> Path:
    """The drawn archive as a folder of shards, held-out faces first, like `figment dataset build --shard-mib`."""
    every = load_archive(archive, split=None)
    with np.load(archive) as data:
        blob, offsets, split = data["jpeg"], data["offsets"], data["split"]
    entries = [ArchiveEntry(blob[offsets[i]:offsets[i + 1]].tobytes(), int(split[i]), "drawn")
               for i in np.argsort(split == TRAIN, kind="stable")]
    for index, chunk in enumerate(np.array_split(np.arange(len(entries)), shards)):
        write_archive(folder / f"part-{index:03d}.npz", [entries[i] for i in chunk], dict(every.meta))
    return folder


def git_repo(path: Path, tree_bytes: int) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "code.bin").write_bytes(b"x" * tree_bytes)
    (path / ".gitignore").write_text(".carry/\n")
    return path


def test_pack_fits_every_call_and_drops_the_eval_tools_when_they_cost_a_call(drawn, tmp_path):
    data = shard_folder(drawn, tmp_path / "data", 6)
    shards = archive_files(data)
    training = [p for p in shards if read_meta(p)["train"] > 0]
    assert len(training) == 5  # the first shard holds the 20 held-out faces alone
    shard = max(p.stat().st_size for p in shards)
    repo = git_repo(tmp_path / "repo", 50_000)
    tool = tmp_path / "tool.dat.xz"
    tool.write_bytes(os.urandom(shard))
    limit = 50_000 + MARGIN + 2 * shard + 4096  # two shards a call beside the tree and the margin
    manifest = pack(repo, data, [tool], limit=limit)
    assert manifest["parts"] == 3 and not manifest["evaluate_on_device"]
    # without an evaluation on the device, only shards with training faces travel
    assert {f"data/{p.name}" for p in training} == set(manifest["files"])
    parts = sorted((repo / ".carry").glob("gpu-*"))
    for part in parts:
        carried = sum(p.stat().st_size for p in part.rglob("*") if p.is_file())
        assert 50_000 + carried <= limit
        assert json.loads((part / "manifest.json").read_text())["pack_id"] == manifest["pack_id"]
    manifest = pack(repo, data, [tool], limit=limit, eval_on_device="always")
    assert manifest["evaluate_on_device"] and manifest["parts"] == 4
    assert set(manifest["files"]) == {f"data/{p.name}" for p in shards} | {"eval/tool.dat.xz"}
    calls = device_calls(manifest)
    assert calls[0].startswith('run(command="bash generator/gpu_train.sh stage"') and "gpu-1" in calls[0]
    assert calls[3].startswith('run(command="bash generator/gpu_train.sh train"') and "timeout_s=600" in calls[3]
    assert calls[4].startswith('run(command="bash generator/gpu_train.sh eval"') and len(calls) == 5
    assert len(device_calls(pack(repo, data, [tool], limit=limit, eval_on_device="never"))) == 3
    # with room for four shards a call, one stage call carries the tools too: the eval call fits the lease
    roomy = pack(repo, data, [tool], limit=50_000 + MARGIN + 4 * shard + 4096)
    assert roomy["parts"] == 2 and roomy["evaluate_on_device"] and len(device_calls(roomy)) == 3
    with pytest.raises(ValueError, match="nothing fits"):
        pack(repo, data, [], limit=50_000)


# --- the prepared command, end to end on the CPU ---------------------------------------------------

def session(mode: str, carry: Path, stage: Path, state: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OUT": str(out), "PY": sys.executable, "OMP_NUM_THREADS": "1"}
    env.pop("FIGMENT_DLIB_MODELS", None)
    command = ["bash", "generator/gpu_train.sh", mode, "--carry", str(carry), "--stage", str(stage),
               "--state", str(state), "--device", "cpu", "--model", "tiny", "--batch", "4", "--session-seconds", "26",
               "--eval-n", "20", "--first-bench-seconds", "0", *extra]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)


def calls_of(carry: Path, into: Path) -> list[Path]:
    """One carried folder per call, as the device machine sees it: only that call's part."""
    folders = []
    for part in sorted(carry.glob("gpu-*")):
        folder = into / part.name / ".carry"
        shutil.copytree(part, folder / part.name)
        folders.append(folder)
    return folders


def test_the_prepared_command_runs_end_to_end_on_the_cpu(drawn, tmp_path, monkeypatch):
    big = write_drawn_archive(tmp_path / "big.npz", count=240)  # 40 held-out faces: enough for n=20
    data = shard_folder(big, tmp_path / "data", 4)
    repo = git_repo(tmp_path / "repo", 10_000)
    shard = max(p.stat().st_size for p in archive_files(data))
    manifest = pack(repo, data, [], limit=10_000 + MARGIN + 2 * shard + 4096, eval_on_device="always")
    assert manifest["parts"] == 2
    first, last = calls_of(repo / ".carry", tmp_path / "calls")
    stage, state, out = tmp_path / "stage", tmp_path / "weights" / "training", tmp_path / "out"

    staged = session("stage", first, stage, state, out)
    assert staged.returncode == 0 and "still missing" in staged.stdout, staged.stdout + staged.stderr
    trained = session("train", last, stage, state, out)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["missing"] == [] and result["resumed_kimg"] == 0 and result["images_total"] > 0
    assert result["train_faces"] == 200 and "fd_face" not in result and result["gflop_per_img"] > 0
    came_back = [p for p in out.rglob("*") if p.is_file()]
    names = {str(p.relative_to(out)) for p in came_back}
    assert len(names) <= 8 and names - {"state/checkpoint.safetensors"} <= set(OUT_FILES)  # what $OUT brings back
    assert {"result.json", "state/generator.safetensors", "state/samples.png", "state/train.log"} <= names
    assert all(p.stat().st_size <= 16 * 2**20 for p in came_back)

    evaluated = tmp_path / "out-eval"
    scored = session("eval", tmp_path / "no-carry", stage, state, evaluated)
    assert scored.returncode == 0, scored.stdout[-3000:] + scored.stderr[-3000:]
    assert {p.name for p in evaluated.iterdir()} == set(EVAL_FILES)
    complete = json.loads((evaluated / "result.json").read_text())
    assert complete["images_total"] == result["images_total"] and complete["eval_n"] == 20
    assert complete["fd_face"] > 0 and 0 <= complete["face_rate"] <= 1 and 0.4 <= complete["c2st"] <= 1

    # land: the state goes into the repository's place, a run-log row, the weights when FD improved
    from bot.cli import app, gpu_commands
    import generator.loading
    import generator.training.runlog
    import generator.training.state

    weights = tmp_path / "weights"
    export_generator(weights / EXPORT_NAME, trainer_for(big, tmp_path / "x").G_ema, {"kimg": 0, "step": 0})
    (weights / "runs.jsonl").write_text(json.dumps({"run": 1, "model_version": "old", "shipped": True,
                                                    "fd_face": 99.0, "eval_n": 20, "eval_set": "another"}) + "\n")
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr(generator.training.state, "STATE_DIR", state)
    monkeypatch.setattr(generator.loading, "DEFAULT_WEIGHTS", weights / EXPORT_NAME)
    monkeypatch.setattr(generator.training.runlog, "RUNS_JSONL", weights / "runs.jsonl")
    monkeypatch.setattr(generator.training.runlog, "RUNS_MD", weights / "RUNS.md")
    monkeypatch.setattr(gpu_commands, "REPO", tmp_path)
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "figment-data"))
    get_settings.cache_clear()
    try:
        landed = CliRunner().invoke(app, ["gpu", "land", str(out), "--eval", str(evaluated), "--data", str(data),
                                          "--note", "cpu dry run"])
    finally:
        get_settings.cache_clear()
    assert landed.exit_code == 0, landed.output
    runs = [json.loads(line) for line in (weights / "runs.jsonl").read_text().splitlines()]
    assert [r["run"] for r in runs] == [1, 1, 2]  # the shipped weights measured again on this eval set
    assert runs[1]["eval_set"] == runs[2]["eval_set"] != "another"
    assert runs[2]["kimg_total"] == result["kimg_total"] and runs[2]["fd_face"] == complete["fd_face"]
    assert "cpu dry run" in (weights / "RUNS.md").read_text()
    assert images_seen(state) == result["images_total"]
    if runs[2]["shipped"]:
        assert (tmp_path / "docs" / "samples.png").is_file() and not (state / EXPORT_NAME).exists()
    again = CliRunner().invoke(app, ["gpu", "land", str(out), "--data", str(data)])
    assert again.exit_code == 2 and "nothing to land" in " ".join(again.output.split())  # rich wraps lines

    # the next session resumes where this one stopped
    shutil.rmtree(out)
    trained = session("train", last, stage, state, out)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    second = json.loads((out / "result.json").read_text())
    assert second["resumed_kimg"] == round(result["images_total"] / 1000, 1)
    assert second["images_total"] > result["images_total"]

    # a train call cut short by its time limit brings back no result.json: land takes its last checkpoint
    # and evaluates here
    (out / "result.json").unlink()
    get_settings.cache_clear()
    try:
        landed = CliRunner().invoke(app, ["gpu", "land", str(out), "--data", str(data), "--eval-n", "20"])
    finally:
        get_settings.cache_clear()
    assert landed.exit_code == 0, landed.output
    last = [json.loads(line) for line in (weights / "runs.jsonl").read_text().splitlines()][-1]
    assert last["run"] == 3 and last["cut_short"] and last["images_total"] == second["images_total"]
    assert last["eval_n"] == 20 and last["fd_face"] > 0 and images_seen(state) == second["images_total"]


def test_a_train_call_without_data_says_what_is_missing(tmp_path):
    result = session("train", tmp_path / "nothing", tmp_path / "stage", tmp_path / "state", tmp_path / "out")
    assert result.returncode == 2 and "figment gpu pack" in result.stderr and "Traceback" not in result.stderr


def test_pack_command_adopts_a_newer_shared_state_and_prints_the_calls(drawn, tmp_path, monkeypatch):
    from bot.cli import app, gpu_commands
    import generator.training.state

    repo_state, shared = tmp_path / "weights" / "training", tmp_path / "shared" / "training"
    saved_state(drawn, repo_state, 2)
    saved_state(drawn, shared, 5)  # a later session left a newer state beside the repository
    data = shard_folder(drawn, tmp_path / "data", 3)
    monkeypatch.setattr(generator.training.state, "STATE_DIR", repo_state)
    monkeypatch.setattr(generator.training.state, "SHARED_STATE", shared)
    monkeypatch.setattr(gpu_commands, "REPO", git_repo(tmp_path / "repo", 1000))
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "figment-data"))
    get_settings.cache_clear()
    try:
        packed = CliRunner().invoke(app, ["gpu", "pack", "--data", str(data), "--eval-on-device", "never"])
        refused = CliRunner().invoke(app, ["gpu", "pack", "--data", str(tmp_path / "none"), "--eval-on-device",
                                           "sometimes"])
    finally:
        get_settings.cache_clear()
    assert packed.exit_code == 0, packed.output
    text = " ".join(packed.output.split())
    assert "adopted the newer state" in text and "bash generator/gpu_train.sh train" in text
    assert images_seen(repo_state) == 20 and (tmp_path / "repo" / ".carry" / "gpu-1" / "manifest.json").is_file()
    assert refused.exit_code == 2 and "--eval-on-device" in refused.output
