"""`import_weights`: one source file (official snapshot pickle or rosinality .pt) -> Figment's files.

The kind is told by the content, not the name: a zip archive is a torch.save checkpoint (rosinality),
anything else is read as a snapshot pickle by the restricted unpickler. Neither path runs code
from the file."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import torch

from generator.gpu.session import sha256  # a file's digest, read in 1 MiB blocks
from generator.stylegan2 import official, rosinality, store
from generator.stylegan2.pickle_import import SnapshotError, read_snapshot

# 40 at most: the version (name-1024px-sha8) must fit the database's 64-character model_version
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def import_weights(source: Path, name: str, licence: str, out_dir: Path, force: bool = False) -> Path:
    """Write out_dir/generator.safetensors and MODEL_CARD.md; return the weights path. SnapshotError
    (one-line message) for anything the importer refuses; nothing is written then."""
    if not NAME_RE.fullmatch(name):
        raise SnapshotError("--name must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not licence.strip():
        raise SnapshotError("--licence must say under which licence the weights are used")
    if not source.is_file():
        raise SnapshotError(f"file not found: {source}")
    if (out_dir / store.WEIGHTS_NAME).exists() and not force:
        raise SnapshotError(f"{out_dir / store.WEIGHTS_NAME} exists already (pass --force to replace it)")
    note = ""
    if zipfile.is_zipfile(source):
        try:
            ckpt = torch.load(source, map_location="cpu", weights_only=True)
        except Exception as error:  # torch's restricted unpickler refused or the file is damaged
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise SnapshotError(f"not a loadable weights-only torch checkpoint: {first}") from None
        cfg, state, note = rosinality.import_checkpoint(ckpt)
        kind = "rosinality/stylegan2-pytorch checkpoint"
    else:
        with open(source, "rb") as handle:
            data = read_snapshot(handle)
        cfg, state = official.import_snapshot(data)
        kind = "NVlabs/stylegan2-ada-pytorch snapshot pickle (G_ema)"
    if cfg.c_dim:
        raise SnapshotError(f"conditional generators (c_dim {cfg.c_dim}) are not supported yet")
    G = store.build(cfg, state)
    info = {"name": name, "licence": licence.strip(), "source_file": source.name, "source_sha256": sha256(source),
            "source_kind": kind, "note": note}
    return store.write(out_dir, G, info)
