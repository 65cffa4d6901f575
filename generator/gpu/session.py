"""The prepared GPU session: `python -m generator.gpu.session stage|train|eval` on the device machine.

A call to a GPU machine carries the working tree and at most 64 MiB, less than the code, the
training state and every training face together. So `figment gpu pack` (on the development
machine) splits what must travel into parts, `.carry/gpu-1`, `.carry/gpu-2`, ..., each a call's
worth, with one manifest; then, in calls that follow each other while the machine stays warm:

  stage   copy this call's part into the stage folder on the machine's disk (seconds), and say
          what is there and what is still missing;
  train   stage the last part, check everything, resume the repository's training state, train
          until the call's time is nearly spent (all of it goes to training), and write to $OUT
          the new state, the EMA weights, a sample grid, the log and one JSON line (result.json);
  eval    evaluate the train call's weights on the machine's CPU cores (FD_face, face rate, SWD,
          C2ST against the held-out faces) and write eval.json and the completed result.json.

Missing parts never waste the call: training runs on the data that arrived (the log says what
was missing), and without the evaluation tools (or a machine gone cold before the eval call) the
evaluation is left to `figment gpu land`. Imports only generator/ modules and what a bare GPU
box has (torch, numpy, pillow, safetensors).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
CARRY = Path(".carry")
DEFAULT_STAGE = Path("/root/figment-stage")
# What $OUT may bring back: 8 files, each at most 16 MiB, at most two folders down.
OUT_FILES = ("state/checkpoint-0.safetensors", "state/checkpoint-1.safetensors", "state/generator.safetensors",
             "state/samples.png", "state/train.log", "result.json")
EVAL_FILES = ("eval.json", "result.json")


@dataclass
class SessionOptions:
    out: Path
    stage: Path = DEFAULT_STAGE
    carry: Path = CARRY
    state: Path = Path("generator/weights/training")
    session_seconds: float = 580.0  # the whole train call, inside the device tool's 600 s
    eval_n: int = 2000
    device: str = "cuda"
    model: str = "lean"
    batch: int = 128
    first_bench_seconds: float = 10.0  # a fresh run (no state) benches classic vs fast resampling first
    train_args: list[str] = field(default_factory=list)  # more `python -m generator.train` options


def echo(text: str) -> None:
    print(f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}] {text}", flush=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- staging ---------------------------------------------------------------------------------------

def stage_parts(opts: SessionOptions) -> dict[str, Any]:
    """Copy every carried part into the stage folder; return the manifest (from a part or the stage)."""
    opts.stage.mkdir(parents=True, exist_ok=True)
    manifest = None
    for part in sorted(opts.carry.glob("gpu-*")):
        for path in sorted(part.rglob("*")):
            if path.is_file():
                target = opts.stage / path.relative_to(part)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        if (part / MANIFEST).is_file():
            manifest = json.loads((part / MANIFEST).read_text())
    if manifest is None and (opts.stage / MANIFEST).is_file():
        manifest = json.loads((opts.stage / MANIFEST).read_text())
    if manifest is None:
        raise ValueError(f"no {MANIFEST} in {opts.carry}/gpu-* or {opts.stage}: run `figment gpu pack` and carry a part")
    return manifest


def missing_files(stage: Path, manifest: dict[str, Any]) -> list[str]:
    """Manifest files not (or not whole) in the stage folder."""
    missing = []
    for name, info in manifest["files"].items():
        path = stage / name
        if not path.is_file() or path.stat().st_size != info["bytes"] or sha256(path) != info["sha256"]:
            missing.append(name)
    return missing


def report_stage(opts: SessionOptions) -> list[str]:
    manifest = stage_parts(opts)
    missing = missing_files(opts.stage, manifest)
    have = len(manifest["files"]) - len(missing)
    echo(f"staged in {opts.stage}: {have} of {len(manifest['files'])} files of pack {manifest['pack_id']}"
         + (f"; still missing: {', '.join(missing)}" if missing else "; complete"))
    return missing


# --- the evaluation tools (dlib) ---------------------------------------------------------------------------

SITE = Path("/tmp/figment-site")
DLIB_MODELS = Path("/tmp/figment-dlib-models")


def prepare_eval_tools(stage: Path) -> None:
    """Make dlib and its two models usable: the carried wheel is installed and the carried models
    unpacked, unless this Python already has them (as a development machine does).
    Raises OSError or ValueError saying what is missing."""
    import importlib.util

    if importlib.util.find_spec("dlib") is None and not any(SITE.glob("dlib*")):
        wheels = sorted((stage / "eval").glob("*.whl"))
        if not wheels:
            raise ValueError("dlib is not installed and no dlib wheel was carried")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                               "--target", str(SITE), *map(str, wheels)], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise OSError(f"installing {wheels[-1].name} failed: {done.stderr.strip()[-500:]}")
    if SITE.is_dir():
        sys.path.insert(0, str(SITE))
        # spawned dlib workers get sys.path from this process; PYTHONPATH says it for any other child
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))
    packed = sorted((stage / "eval").glob("*.dat.xz"))
    if packed:
        DLIB_MODELS.mkdir(parents=True, exist_ok=True)
        for path in packed:
            target = DLIB_MODELS / path.name[:-3]
            if not target.is_file():
                with lzma.open(path) as source, open(target.with_suffix(".part"), "wb") as sink:
                    shutil.copyfileobj(source, sink)
                target.with_suffix(".part").replace(target)
        os.environ["FIGMENT_DLIB_MODELS"] = str(DLIB_MODELS)
    elif importlib.util.find_spec("face_recognition_models") is None:
        raise ValueError("no dlib models were carried and face-recognition-models is not installed")


# --- training and evaluation ----------------------------------------------------------------------

def pick_resample(opts: SessionOptions, data: Path, notes: dict[str, Any]) -> str:
    """A fresh run only: the faster of the two resampling designs on this machine (kept for good after).
    The measured rates go into `notes` (and so into result.json)."""
    if opts.first_bench_seconds <= 0:
        return "classic"
    from generator.bench.train import run as bench

    report = bench(data, opts.batch, ["optimized", "fast-resample"], opts.first_bench_seconds, warmup=3, min_steps=2,
                   device_arg=opts.device, model=opts.model, data_limit=4096, echo=echo)
    rates = {name: result.get("img_s", 0.0) for name, result in report["results"].items()}
    # "fast" is a different model: take it only for a clear gain.
    choice = "fast" if rates.get("fast-resample", 0) > 1.2 * rates.get("optimized", 0) else "classic"
    echo(f"first run: resample {choice} ({rates})")
    notes["first_bench"] = {name: {k: result.get(k) for k in ("img_s", "tflop_s", "gflop_per_img", "error")}
                            for name, result in report["results"].items()}
    return choice


def train_call(opts: SessionOptions, started: float) -> dict[str, Any]:
    from generator.training.archive import read_meta
    from generator.training.state import state_meta
    from generator.train import TrainOptions, build_parser, train, with_resumed_options

    deadline = started + opts.session_seconds
    missing = report_stage(opts)
    manifest = json.loads((opts.stage / MANIFEST).read_text()) if (opts.stage / MANIFEST).is_file() else {}
    data = opts.stage / "data"
    train_faces = read_meta(data)["train"] if data.is_dir() and any(data.glob("*.npz")) else 0
    if not train_faces:
        raise ValueError(f"no training faces arrived in {data}: stage the parts first (missing: {missing})")
    echo(f"training data: {train_faces} faces" + (f" (missing shards: {missing})" if missing else ""))
    resume = opts.state if state_meta(opts.state) else None
    given = vars(build_parser().parse_args(["--data", str(data), "--out", "x", *opts.train_args]))
    given.pop("data"), given.pop("out")
    notes: dict[str, Any] = {}
    if resume is None and "resample" not in given:
        given["resample"] = pick_resample(opts, data, notes)
    minutes = (deadline - time.monotonic()) / 60
    if minutes <= 0.05:
        raise ValueError("no time left to train")
    defaults = {"batch": opts.batch, "model": opts.model, "device": opts.device, "ckpt": "half",
                "log_seconds": 20.0, "grid_minutes": 1e9, "ckpt_minutes": 3.0}
    given = with_resumed_options({**given, "resume": resume})
    train_opts = TrainOptions(**{**defaults, **given, "data": data, "out": opts.out / "state", "minutes": minutes})
    summary = train(train_opts, echo=echo)
    import torch

    echo(f"torch {torch.__version__}, {summary['device']}")
    config = (state_meta(opts.out / "state") or {}).get("config", {})  # a resumed run's model is the state's
    counted = replace(train_opts, **{k: config[k] for k in ("resample", "channel_base", "channel_max") if k in config})
    notes.update(achieved_flops(counted, data, summary["img_s"]))

    result: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "pack_id": manifest.get("pack_id"),
        "missing": missing, "resumed_kimg": round(summary["resumed_kimg"], 1),
        "kimg_total": round(summary["kimg"], 1), "images_total": round(summary["kimg"] * 1000), "img_s": summary["img_s"],
        "train_minutes_total": summary["train_minutes"], "wall_minutes": summary["wall_minutes"],
        "diverged": summary["diverged"], "model_version": summary["model_version"],
        "train_faces": train_faces, "device": summary.get("device"), **notes,
    }
    (opts.out / "state" / "MODEL_CARD.md").unlink(missing_ok=True)  # `figment gpu land` writes the card
    write_result(opts.out, result)
    # The eval call finds the run here ($OUT is emptied before each call; the stage stays while warm).
    shutil.rmtree(opts.stage / "run", ignore_errors=True)
    shutil.copytree(opts.out, opts.stage / "run")
    echo("result " + json.dumps(result))
    return result


def eval_call(opts: SessionOptions) -> dict[str, Any]:
    """The call after the train call: evaluate its weights on the CPU cores and bring back
    eval.json and result.json with the metrics."""
    run = opts.stage / "run"
    if not (run / "result.json").is_file():
        raise ValueError(f"no finished train call in {run}: the machine went cold, or the train call failed; "
                         "`figment gpu land` evaluates on the development machine instead")
    result = json.loads((run / "result.json").read_text())
    if result.get("diverged"):
        raise ValueError("the run diverged: nothing to evaluate")
    try:
        prepare_eval_tools(opts.stage)
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        raise ValueError(f"the evaluation tools are not here ({error}): `figment gpu land` evaluates instead") from None
    result.update(evaluate_run(opts, run))
    write_result(opts.out, result)
    echo("result " + json.dumps(result))
    return result


def write_result(out: Path, result: dict[str, Any]) -> None:
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(result) + "\n")
    tmp.replace(out / "result.json")


def achieved_flops(train_opts: Any, data: Path, img_s: float) -> dict[str, Any]:
    """FLOPs of one training image (torch's counter on a small batch) and what the run achieved."""
    import torch

    from generator.training.archive import TRAIN, load_archive
    from generator.bench.train import train_flops_per_image
    from generator.train import resolve_device

    try:
        images = load_archive(train_opts.data, TRAIN, limit=64).images
        flops = train_flops_per_image(train_opts, images, resolve_device(train_opts.device))
    except Exception as error:  # a number for the log, never a reason to lose the run
        return {"flops_error": f"{type(error).__name__}: {error}"}
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return {"gflop_per_img": round(flops / 1e9, 2), "tflop_s": round(img_s * flops / 1e12, 1)}


def evaluate_run(opts: SessionOptions, run: Path) -> dict[str, Any]:
    from generator.evaluate import EvalOptions, evaluate

    real_faces = opts.stage / "eval" / "heldout-faces.npz"
    work = opts.out / "eval-work"
    report = evaluate(EvalOptions(real=opts.stage / "data", weights=run / "state" / "generator.safetensors",
                                  n=opts.eval_n, out=work, device=opts.device, workers=os.cpu_count() or 1,
                                  copying=False, real_faces=real_faces if real_faces.is_file() else None), echo=echo)
    shutil.move(str(work / "eval.json"), opts.out / "eval.json")
    shutil.rmtree(work, ignore_errors=True)
    return {"eval_n": report["n_generated"], "fd_face": report["fd_face"], "face_rate": report["face_rate"],
            "swd": report["swd"]["swd_avg"], "c2st": report["c2st"]["pixels_cnn"], "eval_seconds": report["seconds"]}


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    p = argparse.ArgumentParser(prog="python -m generator.gpu.session", description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["stage", "train", "eval"])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "out")))
    p.add_argument("--stage", type=Path, default=DEFAULT_STAGE)
    p.add_argument("--carry", type=Path, default=CARRY)
    p.add_argument("--state", type=Path, default=Path("generator/weights/training"))
    p.add_argument("--session-seconds", type=float, default=580.0)
    p.add_argument("--eval-n", type=int, default=2000)
    p.add_argument("--device", default="cuda")
    p.add_argument("--model", default="lean")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--first-bench-seconds", type=float, default=10.0)
    args, train_args = p.parse_known_args(argv)
    opts = SessionOptions(**{k: v for k, v in vars(args).items() if k != "mode"}, train_args=train_args)
    try:
        if args.mode == "stage":
            report_stage(opts)
        elif args.mode == "train":
            opts.out.mkdir(parents=True, exist_ok=True)
            train_call(opts, started)
        else:
            opts.out.mkdir(parents=True, exist_ok=True)
            eval_call(opts)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
