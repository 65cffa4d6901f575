"""Split what a GPU session needs into parts that each fit one call to the device machine.

A call carries the working tree (every tracked file and every untracked file git does not
ignore) plus the carried folder, 64 MiB in all. The training data and the evaluation tools do
not fit beside the tree and the training state in one call, so they go in parts,
`.carry/gpu-1` ... `.carry/gpu-N`: the first N-1 calls stage theirs on the machine's disk, the
last one stages its own and trains (generator/gpu/session.py). Every part holds the manifest,
so the last call knows what should have arrived.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.training.archive import read_meta
from generator.gpu.session import MANIFEST, sha256

CALL_LIMIT = 64 * 2**20  # what one call may carry, the working tree included
MARGIN = 256 * 1024  # for the manifest and small edits between packing and the calls
# A session's device minutes, as seen here: a machine's start, a stage call (transfer and copy),
# the train call (its whole 10 minutes), the eval call; the lease is 15 minutes.
START_MINUTES, STAGE_MINUTES, TRAIN_MINUTES, EVAL_MINUTES = 2.0, 0.5, 10.0, 2.0
LEASE_MINUTES, SLACK_MINUTES = 15.0, 0.5


def session_minutes(parts: int, evaluate: bool) -> float:
    """Device minutes a session of `parts` calls (the last one trains) takes, with or without an eval call."""
    return START_MINUTES + (parts - 1) * STAGE_MINUTES + TRAIN_MINUTES + (EVAL_MINUTES if evaluate else 0.0)


@dataclass(frozen=True)
class Item:
    name: str  # path inside a part, e.g. data/part-003.npz
    path: Path
    bytes: int


def tree_bytes(repo: Path) -> int:
    """Bytes of the working tree that travels with every call: tracked and untracked-not-ignored files."""
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.split(b"\0")
    total = 0
    for name in filter(None, listed):
        path = repo / name.decode()
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def items_of(data: Path, eval_files: list[Path]) -> list[Item]:
    """The archive's shards under data/, the evaluation tools under eval/."""
    shards = sorted(data.glob("*.npz")) if data.is_dir() else [data]
    return ([Item(f"data/{p.name}", p, p.stat().st_size) for p in shards]
            + [Item(f"eval/{p.name}", p, p.stat().st_size) for p in eval_files])


def plan(items: list[Item], room: int) -> list[list[Item]]:
    """First-fit decreasing into as few parts of `room` bytes as it can; an item larger than room is an error."""
    too_big = [i.name for i in items if i.bytes > room]
    if too_big:
        raise ValueError(f"{', '.join(too_big)} do not fit in one call beside the working tree "
                         f"({room / 2**20:.1f} MiB of room): build smaller shards")
    parts: list[list[Item]] = []
    free: list[int] = []
    for item in sorted(items, key=lambda i: i.bytes, reverse=True):
        for index, left in enumerate(free):
            if item.bytes <= left:
                parts[index].append(item)
                free[index] -= item.bytes
                break
        else:
            parts.append([item])
            free.append(room - item.bytes)
    return parts


def write_parts(parts: list[list[Item]], carry: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """`carry/gpu-1`, ...: hard links (or copies) of the items, and the manifest in each part."""
    for old in carry.glob("gpu-*"):
        shutil.rmtree(old)
    files = {item.name: {"bytes": item.bytes, "sha256": sha256(item.path)} for part in parts for item in part}
    pack_id = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:10]
    manifest = {"pack_id": pack_id, "parts": len(parts), "files": files, **(extra or {})}
    for number, part in enumerate(parts, start=1):
        folder = carry / f"gpu-{number}"
        for item in part:
            target = folder / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.hardlink_to(item.path)
            except OSError:  # another file system
                shutil.copyfile(item.path, target)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def pack(repo: Path, data: Path, eval_files: list[Path], carry: Path | None = None, limit: int = CALL_LIMIT,
         eval_on_device: str = "auto") -> dict[str, Any]:
    """Plan and write the parts. eval_on_device: always, never, or auto (carry the evaluation tools
    when the stage calls they add and the eval call still fit the lease beside a full train call;
    otherwise `figment gpu land` evaluates on this machine)."""
    carry = carry or repo / ".carry"
    tree = tree_bytes(repo)
    room = limit - tree - MARGIN
    if room <= 0:
        raise ValueError(f"the working tree alone is {tree / 2**20:.1f} MiB: nothing fits beside it")
    data_items = items_of(data, [])
    # Shards of held-out faces alone serve only the evaluation: training never reads them.
    training_items = [item for item in data_items if read_meta(item.path)["train"] > 0]
    tool_items = [Item(f"eval/{p.name}", p, p.stat().st_size) for p in eval_files] if eval_on_device != "never" else []
    parts = plan(training_items, room)
    with_tools = plan(data_items + tool_items, room)
    evaluate_there = eval_on_device == "always" or (
        bool(tool_items) and session_minutes(len(with_tools), True) <= LEASE_MINUTES - SLACK_MINUTES)
    chosen = with_tools if evaluate_there else parts
    return write_parts(chosen, carry, {"tree_bytes": tree, "room_bytes": room, "evaluate_on_device": evaluate_there})


def device_calls(manifest: dict[str, Any], carry: str = ".carry") -> list[str]:
    """The calls to make, in order, back to back."""
    calls = []
    for number in range(1, manifest["parts"] + 1):
        mode = "train" if number == manifest["parts"] else "stage"
        timeout = 600 if mode == "train" else 120
        calls.append(f'run(command="bash generator/gpu_train.sh {mode}", carry=["{carry}/gpu-{number}"], '
                     f"timeout_s={timeout})")
    if manifest.get("evaluate_on_device"):
        calls.append('run(command="bash generator/gpu_train.sh eval", timeout_s=300)')
    return calls
