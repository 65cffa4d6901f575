"""`figment eval`: how good, and how new, the generated faces are, measured offline.

Generates n faces (seeds seed..seed+n-1 at one psi), compares them with n held-out real faces
(the archive's held-out split, or a folder of aligned photos) and, for the data-copying test, with
the archive's training split. Writes eval.json and an 8x8 sample grid; optionally puts the metrics
into a model card.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageOps

from generator.training.archive import HELDOUT, TRAIN, load_archive
from generator.model.checkpoint import read_export, write_model_card
from generator.evaluation.c2st import c2st_features, c2st_pixels
from generator.evaluation.copying import data_copying, near_copies, pixel_features
from generator.evaluation.faces import FaceAnalyzer, FaceStats, default_box
from generator.evaluation.frechet import frechet_distance
from generator.evaluation.swd import swd
from generator.loading import DEFAULT_WEIGHTS, load_face_model
from generator.model.sampling import image_grid

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass
class EvalOptions:
    real: Path
    weights: Path | None = None
    n: int = 2000
    psi: float = 0.7
    seed: int = 0
    train: Path | None = None  # training archive for the copying test; default --real if it is one
    train_n: int = 3000  # training faces embedded for the identity copying test (pixels use all)
    out: Path = Path("eval")
    device: str = "auto"
    cache: Path | None = None  # embeddings of real faces are cached here, keyed by file and content
    c2st_epochs: int = 20
    near_copy_rms: float = 0.05  # RMS pixel difference (0..1, at 32 px) below which a face is a copy
    card: Path | None = None
    workers: int = 2  # processes for dlib, which uses one core each
    real_faces: Path | None = None  # the real faces' dlib analysis, made beforehand (save_face_stats)
    copying: bool = True  # the data-copying test (embeds training faces: the slowest part on a CPU)


def _fit(image: Image.Image, side: int) -> np.ndarray:
    image = ImageOps.fit(image.convert("RGB"), (side, side), Image.LANCZOS)
    return np.asarray(image)


def is_archive(path: Path) -> bool:
    """A training archive: one .npz file, or a folder of .npz shards."""
    return path.suffix == ".npz" or (path.is_dir() and any(path.glob("*.npz")))


def load_real(path: Path, n: int, side: int) -> tuple[np.ndarray, str]:
    """Held-out real faces: an archive's held-out split, or the images of a folder (sorted)."""
    if path.is_dir() and not is_archive(path):
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:n]
        if not files:
            raise ValueError(f"no images in {path}")
        images = []
        for file in files:
            with Image.open(file) as image:
                images.append(_fit(image, side))
        return np.stack(images), f"{len(images)} images from {path}"
    if not path.exists():
        raise ValueError(f"real faces not found: {path}")
    archive = load_archive(path, HELDOUT, limit=n)
    if len(archive.images) == 0:
        raise ValueError(f"{path} has no held-out faces")
    return _resize(archive.images, side), f"{len(archive.images)} held-out faces from {path.name}"


def _resize(images: np.ndarray, side: int) -> np.ndarray:
    if images.shape[1] == side:
        return images
    return np.stack([_fit(Image.fromarray(image), side) for image in images])


def _cache_key(path: Path, what: str) -> str:
    stat = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{what}".encode()).hexdigest()[:16]


def analyze_cached(analyzer: FaceAnalyzer, images: np.ndarray, cache: Path | None, key: str | None,
                   echo: Callable[[str], None], workers: int = 1) -> FaceStats:
    file = cache / f"faces-{key}.npz" if cache and key else None
    if file and file.is_file():
        return load_face_stats(file, len(images))
    stats = analyzer.analyze(images, progress=lambda i: echo(f"    {i}/{len(images)} faces embedded"),
                             workers=workers)
    if file:
        save_face_stats(file, stats)
    return stats


def save_face_stats(path: Path, stats: FaceStats) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, detected=stats.detected, boxes=stats.boxes, embeddings=stats.embeddings)


def load_face_stats(path: Path, count: int) -> FaceStats:
    """A saved analysis of the real faces (the first faces of the set, in order), cut to `count`."""
    try:
        with np.load(path) as data:
            stats = FaceStats(data["detected"], data["boxes"], data["embeddings"])
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a saved face analysis ({error})") from error
    if len(stats.embeddings) < count:
        raise ValueError(f"{path} analyses {len(stats.embeddings)} real faces, fewer than the {count} being compared")
    # the analysis covers the first faces of the set in order: the first `count` of them are these
    return FaceStats(stats.detected[:count], stats.boxes[:count], stats.embeddings[:count])


def generate(weights: Path | None, device: str, n: int, psi: float, seed: int) -> tuple[np.ndarray, Any]:
    model = load_face_model(weights, device)
    images = []
    for start in range(seed, seed + n, 32):
        batch = list(range(start, min(start + 32, seed + n)))
        images += [np.asarray(image) for image in model.generate(batch, psi)]
    return np.stack(images), model


def evaluate(opts: EvalOptions, echo: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.monotonic()
    if opts.n < 20:
        raise ValueError("--n must be at least 20")

    def stage(text: str) -> None:
        echo(f"[{time.monotonic() - started:6.0f}s] {text}")

    stage(f"generating {opts.n} faces at psi {opts.psi}")
    fake, model = generate(opts.weights, opts.device, opts.n, opts.psi, opts.seed)
    side = model.resolution
    real, real_text = load_real(opts.real, opts.n, side)
    train_path = opts.train or (opts.real if is_archive(opts.real) else None)
    stage(f"real: {real_text}")

    analyzer = FaceAnalyzer()
    stage("dlib: detecting and embedding real faces")
    if opts.real_faces:
        real_faces = load_face_stats(opts.real_faces, len(real))
    else:
        real_key = _cache_key(opts.real, f"real|{opts.n}|{side}") if opts.real.is_file() else None
        real_faces = analyze_cached(analyzer, real, opts.cache, real_key, echo, opts.workers)
    stage("dlib: detecting and embedding generated faces")
    fake_faces = analyzer.analyze(fake, fallback=default_box(real_faces.boxes),
                                  progress=lambda i: echo(f"    {i}/{len(fake)} faces embedded"),
                                  workers=opts.workers)
    result: dict[str, Any] = {
        "model_version": model.model_version, "weights": str(opts.weights or DEFAULT_WEIGHTS),
        "psi": opts.psi, "n_generated": len(fake), "n_real": len(real), "real": real_text, "resolution": side,
        "fd_face": round(100 * frechet_distance(fake_faces.embeddings, real_faces.embeddings), 3),
        "face_rate": round(float(fake_faces.detected.mean()), 4),
        "face_rate_real": round(float(real_faces.detected.mean()), 4),
    }
    stage(f"FD_face {result['fd_face']}, face rate {result['face_rate']} (real {result['face_rate_real']}); SWD")
    result["swd"] = swd(real, fake)

    if not opts.copying:
        result["copying"] = {"skipped": "not asked for"}
    elif train_path is not None:
        stage(f"data-copying test against the training split of {train_path.name}")
        result["copying"] = copying_report(analyzer, train_path, side, real, fake, real_faces, fake_faces, opts, echo)
    else:
        result["copying"] = {"skipped": "no training archive (pass --train)"}

    stage("C2ST classifiers")
    result["c2st"] = {"pixels_cnn": round(c2st_pixels(real, fake, epochs=opts.c2st_epochs), 4),
                      "identity_logreg": round(c2st_features(real_faces.embeddings, fake_faces.embeddings), 4)}
    result["seconds"] = round(time.monotonic() - started, 1)

    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "eval.json").write_text(json.dumps(result, indent=2))
    grid = [Image.fromarray(image) for image in fake[:64]]
    image_grid(grid, cols=8).save(opts.out / "samples.png", optimize=True)
    if opts.card:
        _, cfg, version, info = read_export(opts.weights or DEFAULT_WEIGHTS)
        write_model_card(opts.card, version, cfg, info, card_metrics(result))
    stage(f"done: {opts.out / 'eval.json'}")
    return result


def copying_report(analyzer: FaceAnalyzer, train_path: Path, side: int, real: np.ndarray, fake: np.ndarray,
                   real_faces: FaceStats, fake_faces: FaceStats, opts: EvalOptions,
                   echo: Callable[[str], None]) -> dict[str, Any]:
    train = _resize(load_archive(train_path, TRAIN).images, side)
    if len(train) == 0:
        raise ValueError(f"{train_path} has no training faces")
    pixels_train = pixel_features(train)
    pixels = data_copying(pixels_train, pixel_features(real), pixel_features(fake))
    copies, rms = near_copies(pixels_train, pixel_features(fake), opts.near_copy_rms)
    _, rms_real = near_copies(pixels_train, pixel_features(real), opts.near_copy_rms)
    # Identity space: a fixed, evenly spread subset of the training faces (dlib is slow on a CPU).
    subset = np.linspace(0, len(train) - 1, min(opts.train_n, len(train))).round().astype(int)
    key = _cache_key(train_path, f"train|{len(subset)}|{side}")
    train_faces = analyze_cached(analyzer, train[subset], opts.cache, key, echo, opts.workers)
    identity = data_copying(train_faces.embeddings, real_faces.embeddings, fake_faces.embeddings)
    return {
        "identity": identity, "pixels": pixels, "train_faces": len(train), "train_faces_identity": len(subset),
        "near_copies": copies, "near_copy_rms": opts.near_copy_rms,
        "min_rms_to_train_generated": round(float(rms.min()), 4),
        "min_rms_to_train_heldout": round(float(rms_real.min()), 4),
        "passed": bool(identity["passed"] and pixels["passed"] and copies == 0),
    }


def card_metrics(result: dict[str, Any]) -> dict[str, Any]:
    metrics = {
        "samples": f"{result['n_generated']} generated at psi {result['psi']} vs {result['real']}",
        "FD_face (x100, lower is better)": result["fd_face"],
        "face rate (dlib HOG)": f"{result['face_rate']} (real photos: {result['face_rate_real']})",
        "SWD x1e3 (avg of levels)": result["swd"]["swd_avg"],
        "C2ST accuracy, pixels CNN / identity embeddings": f"{result['c2st']['pixels_cnn']} / "
                                                          f"{result['c2st']['identity_logreg']}",
    }
    copying = result["copying"]
    if "passed" in copying:
        metrics["data-copying C_T, identity / pixels (< -2 is copying)"] = (
            f"{copying['identity']['C_T']} / {copying['pixels']['C_T']}")
        metrics["near-literal copies"] = copying["near_copies"]
        metrics["data-copying test"] = "passed" if copying["passed"] else "FAILED"
    return metrics


def main(argv: list[str] | None = None) -> int:
    """`python -m generator.evaluate`: the same evaluation on a machine without the bot's packages."""
    import argparse

    from generator.train import run_command

    p = argparse.ArgumentParser(prog="python -m generator.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, required=True, help="held-out faces: an archive (file or folder) or images")
    p.add_argument("--weights", type=Path, help="generator weights (default: the shipped file)")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--psi", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("eval"))
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for dlib")
    p.add_argument("--real-faces", type=Path, help="the real faces' dlib analysis, made beforehand")
    p.add_argument("--no-copying", dest="copying", action="store_false", help="skip the data-copying test")
    return run_command(p, argv, lambda args: evaluate(EvalOptions(**vars(args))))


if __name__ == "__main__":
    raise SystemExit(main())
