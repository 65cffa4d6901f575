"""The training state that carries one run across sessions and machines.

It lives in the repository, in `generator/weights/training/` (STATE_DIR), so any later session
finds it; a newer one may also be placed in `../shared/training/` (same files, made by the same
prepared command). Whichever has seen more images wins.

Files (each under 16 MiB, what one file back from a GPU machine may be):
- `checkpoint-0.safetensors`, `checkpoint-1.safetensors`: G and D in fp16, the random generator
  states, and JSON metadata (images seen, step, model config, options). Adam's moments are left
  out: with beta1 = 0 the first moment is only the last gradient, and the second moment (beta2 =
  0.99) forgets in a few hundred steps; tests/test_state.py measures that a resume through this
  state trains like an uninterrupted run.
- `generator.safetensors`: G's EMA in fp16 (the exported generator). When it is the very file that
  ships (`generator/weights/generator.safetensors`, the state's parent), it is not kept twice: the
  checkpoint names its model version and the shipped file stands in.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from safetensors import safe_open

from generator.model.checkpoint import (
    CHECKPOINT_FORMAT, EXPORT_NAME, WeightsFileError, checkpoint_files, read_export,
)

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
STATE_DIR = WEIGHTS_DIR / "training"
SHARED_STATE = WEIGHTS_DIR.parent.parent.parent / "shared" / "training"  # ../shared/training from the repo
MAX_STATE_FILE = 16 * 2**20


def state_meta(run_dir: Path) -> dict[str, Any] | None:
    """The checkpoint metadata of a run directory (read from the header alone), or None if it has none."""
    files = checkpoint_files(run_dir) if run_dir.is_dir() else []
    if not files:
        return None
    try:
        with safe_open(str(files[0]), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # safetensors raises its own error types for a damaged header
        raise WeightsFileError(f"damaged training state in {run_dir}: {error}") from error
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise WeightsFileError(f"not a Figment training checkpoint: {files[0]}")
    return json.loads(metadata["meta"])


def images_seen(run_dir: Path) -> int:
    meta = state_meta(run_dir)
    return int(meta["nimg"]) if meta else -1


def newest_state(*candidates: Path) -> Path | None:
    """The candidate directory whose state has seen the most images (None if none holds a state).
    The first one wins a tie, so list the repository's own state first."""
    best, best_nimg = None, -1
    for run_dir in candidates:
        nimg = images_seen(run_dir)
        if nimg > best_nimg:
            best, best_nimg = run_dir, nimg
    return best


def ema_file(run_dir: Path, meta: dict[str, Any]) -> Path:
    """The exported EMA generator that belongs to the checkpoint in run_dir.

    It is run_dir/generator.safetensors, or, when the state's EMA is what ships, the shipped file in
    run_dir's parent. Either must be from the checkpoint's step; a stale file is an error, never a
    silent mix of two runs."""
    for path in (run_dir / EXPORT_NAME, run_dir.parent / EXPORT_NAME):
        if not path.is_file():
            continue
        _, _, version, info = read_export(path)
        if info.get("step") == meta["step"] and meta.get("ema_version", version) == version:
            return path
        if path.parent == run_dir:
            raise WeightsFileError(f"{path} is from step {info.get('step')} but the checkpoint from step "
                                   f"{meta['step']}")
    raise WeightsFileError(f"no EMA generator for the checkpoint in {run_dir} (step {meta['step']}): "
                           f"expected {run_dir / EXPORT_NAME}")


def same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def adopt(source: Path, target: Path = STATE_DIR, shipped: Path | None = None) -> dict[str, Any]:
    """Copy the state in `source` (a run directory) into `target`, replacing what was there.

    The EMA generator is kept in `target` only when it differs from `shipped` (default: the file
    in target's parent). Returns the adopted checkpoint's metadata."""
    meta = state_meta(source)
    if meta is None:
        raise WeightsFileError(f"no training state in {source}")
    ema = ema_file(source, meta)
    shipped = shipped or target.parent / EXPORT_NAME
    files = checkpoint_files(source)
    for path in files + [ema]:
        if path.stat().st_size > MAX_STATE_FILE:
            raise WeightsFileError(f"{path} is {path.stat().st_size} bytes, over the {MAX_STATE_FILE} byte limit "
                                   "of a state file (train with --ckpt half)")
    if source.resolve() == target.resolve():
        return meta
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("checkpoint*.safetensors"):
        stale.unlink()
    for path in files:
        tmp = target / (path.name + ".tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(target / path.name)
    kept = target / EXPORT_NAME
    if same_file(ema, shipped):
        kept.unlink(missing_ok=True)
    elif ema.resolve() != kept.resolve():
        shutil.copyfile(ema, kept.with_name(kept.name + ".tmp"))
        kept.with_name(kept.name + ".tmp").replace(kept)
    return meta
