"""Where a pack's files live under the data directory, and the journal of what was tried."""
from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PHOTOS = "photos"
JOURNAL = ".journal.jsonl"
IMPORT_LOCK = ".import.lock"


def check_pack_name(pack: str) -> str:
    if not PACK_NAME.match(pack):
        raise ValueError(f"bad pack name {pack!r}: use letters, digits, '.', '_' or '-' (at most 64), "
                         "starting with a letter or digit")
    return pack


def pack_dir(data_dir: Path, pack: str) -> Path:
    return data_dir / PHOTOS / check_pack_name(pack)


def stored_path(pack: str, content_hash: str) -> str:
    """The aligned face's path relative to the data directory (what RealPhoto.stored_path holds)."""
    return f"{PHOTOS}/{pack}/{content_hash}.png"


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class ImportRunning(ValueError):
    """Another import holds the data directory's photos."""


@contextmanager
def import_lock(data_dir: Path) -> Iterator[None]:
    """One import at a time per data directory: two at once would race on the same files and rows,
    and neither would see the other's photos when looking for duplicates across packs (a photo
    could then be held out in one pack and trained on in another). The lock dies with its process."""
    path = data_dir / PHOTOS / IMPORT_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportRunning(f"another photo import is running on {data_dir}: wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Journal:
    """Files an import looked at and did not import, with the reason: a resumed import skips them."""

    def __init__(self, data_dir: Path, pack: str) -> None:
        self.path = pack_dir(data_dir, pack) / JOURNAL

    def read(self) -> dict[str, str]:
        done: dict[str, str] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                done[entry["path"]] = entry["reason"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interruption
        return done

    def append(self, entries: list[tuple[str, str, str]]) -> None:
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for path, reason, detail in entries:
                handle.write(json.dumps({"path": path, "reason": reason, "detail": detail}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
