"""What the training archive's codec costs: `python -m generator.bench.codec --faces DIR... [--n N]`.

For each codec and quality, on n aligned faces brought to 128 px: the mean bytes a face, the PSNR
against the lossless faces, and the FD_face (x100, dlib identity embeddings) between the decoded
faces and the lossless ones: the distance the codec alone adds to every real-vs-generated
comparison (the real-vs-real floor on our data is 1.25 at n = 2,000).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, features

from generator.training.archive import encode_image
from generator.train import run_command

SETTINGS = (("jpeg", 85), ("jpeg", 75), ("webp", 90), ("webp", 80), ("webp", 70), ("avif", 60))
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def sample_faces(folders: list[Path], n: int, res: int, seed: int = 0) -> np.ndarray:
    files = sorted(p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images in {', '.join(map(str, folders))}")
    chosen = np.random.default_rng(seed).permutation(len(files))[:n]
    faces = []
    for index in sorted(chosen):
        with Image.open(files[index]) as image:
            faces.append(np.asarray(image.convert("RGB").resize((res, res), Image.Resampling.LANCZOS)))
    return np.stack(faces)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def measure(faces: np.ndarray, workers: int, echo=print) -> dict[str, Any]:
    from generator.evaluation.faces import FaceAnalyzer
    from generator.evaluation.frechet import frechet_distance

    analyzer = FaceAnalyzer()
    lossless = analyzer.analyze(faces, workers=workers).embeddings
    report: dict[str, Any] = {"faces": len(faces), "resolution": int(faces.shape[1]), "codecs": {}}
    for codec, quality in SETTINGS:
        if codec == "avif" and not features.check("avif"):
            continue
        sizes, decoded = [], []
        for face in faces:
            data = encode_image(Image.fromarray(face), codec, quality)
            sizes.append(len(data))
            with Image.open(io.BytesIO(data)) as image:
                decoded.append(np.asarray(image.convert("RGB")))
        decoded_faces = np.stack(decoded)
        embedded = analyzer.analyze(decoded_faces, workers=workers).embeddings
        row = {"bytes": round(float(np.mean(sizes))), "psnr_db": round(psnr(decoded_faces, faces), 2),
               "fd_face_cost": round(100 * frechet_distance(embedded, lossless), 3)}
        report["codecs"][f"{codec} {quality}"] = row
        echo(f"{codec} {quality}: {json.dumps(row)}")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator.bench.codec", description=__doc__.split("\n\n")[0])
    p.add_argument("--faces", type=Path, nargs="+", required=True, help="folders of aligned faces (lossless)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--res", type=int, default=128)
    p.add_argument("--workers", type=int, default=2, help="processes for dlib")
    p.add_argument("--out", type=Path, help="write the report as JSON here")

    def action(args: argparse.Namespace) -> None:
        report = measure(sample_faces(args.faces, args.n, args.res), args.workers)
        if args.out:
            args.out.write_text(json.dumps(report, indent=2))

    return run_command(p, argv, action)


if __name__ == "__main__":
    sys.exit(main())
