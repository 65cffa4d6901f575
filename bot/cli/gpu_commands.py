"""`figment gpu pack | land`: the development machine's side of a GPU training session.

pack: make the repository's training state the newest there is, build the training data if it
is missing, and split what the device machine needs into parts that each fit one call; print
the calls. land: take a session's results in (state, run log, and the weights when FD_face
improved). generator/gpu/session.py is the device machine's side.
"""
from __future__ import annotations

import json
import lzma
import subprocess
import sys
from pathlib import Path

import typer

from bot.cli.common import console, fail, settings

app = typer.Typer(help="GPU training sessions: pack what the device needs, land what it made.",
                  no_args_is_help=True)

REPO = Path(__file__).resolve().parents[2]
DLIB_WHEEL = "dlib-bin==20.0.1.post1"  # the version this project installs, as a wheel for the device's Python 3.12
DLIB_MODELS = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
SHARD_MIB = 1.0  # small shards pack the calls nearly full


@app.command("pack")
def pack_command(
    data: Path | None = typer.Option(None, help="Training archive folder (default DATA_DIR/gpu/dataset-128, "
                                                "built from the imported photos when missing)."),
    eval_on_device: str = typer.Option("auto", help="auto (when it costs no extra call), always or never."),
    eval_n: int = typer.Option(2000, help="Generated and held-out faces the evaluation compares."),
    limit_mib: float = typer.Option(64.0, help="What one call may carry, working tree included."),
) -> None:
    """Prepare the parts for a GPU session and print the device calls to make."""
    from generator.gpu.pack import device_calls, pack
    from generator.training.state import SHARED_STATE, STATE_DIR, adopt, images_seen, newest_state

    config = settings()
    if eval_on_device not in ("auto", "always", "never"):
        fail("--eval-on-device must be auto, always or never")
    try:
        newest = newest_state(STATE_DIR, SHARED_STATE)
        if newest is not None and newest != STATE_DIR:
            adopt(newest, STATE_DIR)
            console.print(f"adopted the newer state from {newest} ({images_seen(STATE_DIR) / 1000:.0f} kimg): "
                          "commit generator/weights/training", highlight=False)
        data = data or gpu_data(config.data_dir)
        if not data.exists():
            build_training_data(data)
        tools = eval_tools(config.data_dir / "gpu-cache", data, eval_n) if eval_on_device != "never" else []
        manifest = pack(REPO, data, tools, REPO / ".carry", int(limit_mib * 2**20), eval_on_device)
    except (ValueError, OSError) as error:
        fail(str(error))
    state = images_seen(STATE_DIR)
    console.print(f"pack {manifest['pack_id']}: {len(manifest['files'])} files in {manifest['parts']} parts "
                  f"(working tree {manifest['tree_bytes'] / 2**20:.1f} MiB, room per call "
                  f"{manifest['room_bytes'] / 2**20:.1f} MiB); evaluation on the device: "
                  f"{'yes' if manifest['evaluate_on_device'] else 'no (figment gpu land does it here)'}; "
                  f"state: {f'{state / 1000:.0f} kimg' if state >= 0 else 'none, a fresh run'}", highlight=False)
    console.print("Device calls, back to back (the machine stays warm only 30 s after each):", highlight=False)
    for call in device_calls(manifest):
        console.print("  " + call, highlight=False)
    console.print("Then: figment gpu land TRAIN_FILES_AT [--eval EVAL_FILES_AT] (the folders the train and eval "
                  "calls' files came back to)", highlight=False)


def gpu_data(data_dir: Path) -> Path:
    """The archive GPU sessions carry: every face, in 1 MiB shards (its own folder, so that rebuilding
    it never disturbs data/dataset-128)."""
    return data_dir / "gpu" / "dataset-128"


def build_training_data(out: Path) -> None:
    import asyncio

    from bot.photos.dataset import MIB, DatasetOptions, build_dataset
    from bot.photos.packs import photo_rows

    config = settings()
    rows = asyncio.run(photo_rows(config.db_url, None))
    console.print(f"building {out} from {len(rows)} imported photos (all faces, WebP, {SHARD_MIB:g} MiB shards)")
    build_dataset(rows, config.data_dir, DatasetOptions(out, shard_bytes=int(SHARD_MIB * MIB)))


def eval_tools(cache: Path, data: Path, eval_n: int) -> list[Path]:
    """The dlib wheel for the device's Python, its two models (xz), and the held-out faces' analysis."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("dlib_bin-*.whl"))
    if not wheels:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                               "--python-version", "3.12", "--implementation", "cp", "--platform",
                               "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64", "-d", str(cache),
                               DLIB_WHEEL], capture_output=True, text=True)
        if done.returncode:
            raise OSError(f"could not download {DLIB_WHEEL} for the device's Python 3.12: {done.stderr[-800:]}")
        wheels = sorted(cache.glob("dlib_bin-*.whl"))
    from generator.evaluation.faces import model_dir

    packed = []
    for name in DLIB_MODELS:
        target = cache / f"{name}.xz"
        if not target.is_file():
            with open(model_dir() / name, "rb") as source, lzma.open(target.with_suffix(".tmp"), "wb") as sink:
                sink.write(source.read())
            target.with_suffix(".tmp").replace(target)
        packed.append(target)
    return wheels[-1:] + packed + [heldout_analysis(cache, data, eval_n)]


def heldout_analysis(cache: Path, data: Path, eval_n: int) -> Path:
    """dlib's analysis of the first eval_n held-out faces, made once per archive (the device then embeds
    only the generated faces)."""
    from generator.training.archive import HELDOUT, load_archive
    from generator.evaluate import save_face_stats
    from generator.evaluation.faces import FaceAnalyzer

    key = eval_set_name(data, eval_n)
    target = cache / "heldout-faces.npz"
    stamp = cache / "heldout-faces.json"
    wanted = {"archive": key, "n": eval_n}
    if target.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return target
    real = load_archive(data, HELDOUT, limit=eval_n).images
    console.print(f"analysing {len(real)} held-out faces with dlib (once per archive)")
    save_face_stats(target, FaceAnalyzer().analyze(real, workers=2))
    stamp.write_text(json.dumps(wanted))
    return target


@app.command("land")
def land_command(
    results: Path = typer.Argument(..., help="The folder the train call's $OUT came back to."),
    evaluated: Path | None = typer.Option(None, "--eval", help="The folder the eval call's $OUT came back to "
                                                                "(without it, the evaluation is made here)."),
    data: Path | None = typer.Option(None, help="Training archive folder the session used (default "
                                                "DATA_DIR/gpu/dataset-128): its held-out faces are the eval set."),
    eval_n: int = typer.Option(2000, help="Faces compared when the evaluation is made here."),
    note: str = typer.Option("", help="A note for the run log."),
) -> None:
    """Take a GPU session's results in: the state into generator/weights/training, a run log row, and the
    weights (with card and README grid) when FD_face beats the shipped model on the same eval set."""
    from generator.training.runlog import append_run, read_runs, shipped_record
    from generator.training.state import STATE_DIR, images_seen, state_meta

    config = settings()
    data = data or gpu_data(config.data_dir)
    state_dir = results / "state"
    try:
        meta = state_meta(state_dir)
        if meta is None:
            raise ValueError(f"no training state in {state_dir}")
        result = read_results(results, evaluated, meta)
        if meta["nimg"] <= images_seen(STATE_DIR):
            raise ValueError(f"{state_dir} has seen {meta['nimg']} images, no more than the repository's state "
                             f"({images_seen(STATE_DIR)}): nothing to land")
        if "fd_face" not in result:  # no evaluation on the device: make it here
            result.update(evaluate_here(state_dir / "generator.safetensors", data, result.get("eval_n", eval_n),
                                        config.data_dir / "gpu-cache"))
        n = result["eval_n"]
        eval_set = eval_set_name(data, n)
        runs = read_runs()
        baseline = shipped_record(runs, eval_set, n)
        if baseline is None and runs:  # the shipped weights were measured on another set: measure them again
            from generator.loading import DEFAULT_WEIGHTS

            again = evaluate_here(DEFAULT_WEIGHTS, data, n, config.data_dir / "gpu-cache")
            shipped = [r for r in runs if r.get("shipped")][-1]
            baseline = {**{k: shipped.get(k) for k in ("run", "kimg_total", "train_minutes_total", "model_version")},
                        **again, "eval_set": eval_set, "shipped": True, "date": result.get("date"),
                        "note": "shipped weights re-evaluated on this eval set"}
            append_run(baseline)
        improved = baseline is None or result["fd_face"] < baseline["fd_face"]
        record = {"run": 1 + max([r.get("run", 0) for r in runs] or [0]), **result, "eval_set": eval_set,
                  "shipped": improved, "note": note or None,
                  "train_minutes": round(result["train_minutes_total"]
                                         - max([r.get("train_minutes_total") or 0 for r in runs] or [0]), 2)}
        ship_or_keep(state_dir, improved, result)
        append_run(record)
    except (ValueError, OSError, KeyError) as error:
        fail(str(error))
    before = f"{baseline['fd_face']}" if baseline else "none"
    console.print(f"landed run {record['run']}: {record['kimg_total']} kimg in total, FD_face {record['fd_face']} "
                  f"(shipped before: {before}) -> {'shipped' if improved else 'kept as state only'}. "
                  "Commit generator/weights (and docs/samples.png); update the README's numbers.", highlight=False)
    if improved:  # the realness critic belongs to one generator (tests/test_shipped_critic.py checks it)
        console.print(f"New weights ship: make their realness critic again before committing (about 40 minutes on "
                      f"this CPU): figment critic train --data {data}", highlight=False)


def read_results(results: Path, evaluated: Path | None, meta: dict) -> dict:
    """The session's result.json: the eval call's (the train call's, completed) when given; for a train
    call cut short by its time limit, what its last checkpoint says."""
    if evaluated is not None:
        completed = json.loads((evaluated / "result.json").read_text())
        if completed.get("images_total") != meta["nimg"]:
            raise ValueError(f"{evaluated} evaluated another run ({completed.get('images_total')} images, "
                             f"not {meta['nimg']})")
        return completed
    if (results / "result.json").is_file():
        return json.loads((results / "result.json").read_text())
    console.print(f"no result.json in {results}: the call was cut short; landing its last checkpoint", highlight=False)
    return {"images_total": meta["nimg"], "kimg_total": round(meta["nimg"] / 1000, 1),
            "train_minutes_total": round(meta.get("train_seconds", 0) / 60, 2), "model_version": meta.get("ema_version"),
            "cut_short": True}


def eval_set_name(data: Path, n: int) -> str:
    """The evaluation set: the first n held-out faces of the archive, named by their bytes."""
    from generator.training.archive import split_digest

    return f"{data.name} held-out " + split_digest(data, limit=n)


def evaluate_here(weights: Path, data: Path, n: int, cache: Path) -> dict:
    from generator.evaluate import EvalOptions, evaluate

    console.print(f"evaluating {weights} here on {n} faces (FD_face, face rate, SWD, C2ST)", highlight=False)
    analysis = heldout_analysis(cache, data, n)
    report = evaluate(EvalOptions(real=data, weights=weights, n=n, out=cache / "eval", device="cpu", copying=False,
                                  real_faces=analysis), echo=lambda line: console.print(line, highlight=False))
    return {"eval_n": report["n_generated"], "fd_face": report["fd_face"], "face_rate": report["face_rate"],
            "swd": report["swd"]["swd_avg"], "c2st": report["c2st"]["pixels_cnn"]}


def ship_or_keep(state_dir: Path, improved: bool, result: dict) -> None:
    """Adopt the state; when it improved, its EMA generator becomes the shipped weights."""
    import shutil

    from generator.model.checkpoint import CARD_NAME, read_export, write_model_card
    from generator.loading import DEFAULT_WEIGHTS, load_face_model
    from generator.model.sampling import image_grid, save_small_png
    from generator.training.state import STATE_DIR, adopt

    ema = state_dir / "generator.safetensors"
    if improved:
        shutil.copyfile(ema, DEFAULT_WEIGHTS.with_name(DEFAULT_WEIGHTS.name + ".tmp"))
        DEFAULT_WEIGHTS.with_name(DEFAULT_WEIGHTS.name + ".tmp").replace(DEFAULT_WEIGHTS)
        _, cfg, version, info = read_export(DEFAULT_WEIGHTS)
        metrics = {"samples": f"{result['eval_n']} generated at psi 0.7 vs the first {result['eval_n']} held-out faces",
                   "FD_face (x100, lower is better)": result["fd_face"], "face rate (dlib HOG)": result["face_rate"],
                   "SWD x1e3 (avg of levels)": result["swd"], "C2ST accuracy, pixels CNN": result["c2st"]}
        write_model_card(DEFAULT_WEIGHTS.parent / CARD_NAME, version, cfg, info, metrics)
        model = load_face_model(DEFAULT_WEIGHTS, "cpu")
        faces = [face for start in range(0, 64, 16) for face in model.generate(list(range(start, start + 16)), 0.7)]
        save_small_png(image_grid(faces, cols=8), REPO / "docs" / "samples.png")
    adopt(state_dir, STATE_DIR, shipped=DEFAULT_WEIGHTS)
