"""Find the photo files under the folders (and files) an operator names."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class SourceFile:
    path: Path              # absolute, as found (not resolved through links)
    identity: str | None    # the subfolder the photo sits in, relative to its source root


@dataclass
class WalkReport:
    files: list[SourceFile]
    other_files: int = 0     # not photo file names: ignored
    links_outside: int = 0   # symbolic links that lead out of the source: not followed


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError):
        return False


def walk_sources(sources: list[Path]) -> WalkReport:
    """All photo files under `sources`, sorted per source, each once.

    A photo in a subfolder of a source folder gets that subfolder as its identity
    (e.g. celeba-6k/celeb_12/001.jpg -> 'celeb_12'): photos of one identity are held out together.
    """
    report = WalkReport([])
    seen: set[Path] = set()

    def consider(path: Path, root: Path, identity: str | None) -> None:
        if path.name.startswith(".") or path.suffix.lower() not in PHOTO_SUFFIXES:
            report.other_files += 1
            return
        if path.is_symlink() and not _inside(path, root):
            report.links_outside += 1
            return
        if not path.is_file():
            return
        if path in seen:
            return
        seen.add(path)
        report.files.append(SourceFile(path, identity))

    for source in sources:
        source = source.absolute()
        if source.is_file() or (source.is_symlink() and not source.is_dir()):
            consider(source, source.parent, None)
            continue
        # followlinks=False: a linked folder is never entered, so no loop and no escape.
        for folder, dirnames, filenames in os.walk(source, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            here = Path(folder)
            relative = here.relative_to(source).as_posix()
            identity = None if relative == "." else relative
            for name in sorted(filenames):
                consider(here / name, source, identity)
    return report
