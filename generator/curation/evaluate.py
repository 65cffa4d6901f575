"""Honest evaluation of curated (best-of-K) sampling: `python -m generator.curation.evaluate`.

Per truncation psi: n shown faces, each picked from K candidates (face i's candidates are seeds
seed + i*k_max + j, j < K, so every K uses a prefix of the same candidates and K=1 is plain,
uncurated sampling). Per K, against held-out real faces (never used to train the critic):
- FD_face and SWD;
- a FRESH classifier (the small pixel CNN of evaluation/c2st.py, trained on these shown faces
  against held-out real ones), not the critic that picked them;
- diversity: mean pairwise identity distance (dlib) of the shown faces, next to the same for
  the held-out real faces;
- the data-copying test against the training faces (identity and pixels) and near copies:
  picking what looks real must not pick what copies a training face;
- CPU cost per shown face: K x (one generated face + one critic score), timed here.
Candidates are cached (npz per psi), so the slow part runs once.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from generator.training.archive import HELDOUT, TRAIN, load_archive
from generator.curation.critic import DEFAULT_CRITIC, load_critic
from generator.evaluation.c2st import c2st_features, c2st_pixels
from generator.evaluation.copying import data_copying, near_copies, pixel_features
from generator.evaluation.faces import FaceAnalyzer, FaceStats, default_box
from generator.evaluation.frechet import frechet_distance
from generator.evaluation.swd import swd
from generator.evaluate import load_face_stats, save_face_stats
from generator.loading import load_face_model


def candidates(weights: Path | None, psi: float, n: int, k_max: int, seed: int, cache: Path,
               echo: Callable[[str], None]) -> tuple[np.ndarray, float]:
    """n x k_max candidate images (uint8): seeds seed .. seed + n*k_max - 1 in order, and the CPU
    seconds per generated face. Cached per psi and first seed; a longer run reuses a shorter one's faces."""
    count = n * k_max
    made, per_face = _cached_prefix(cache, psi, seed)
    if len(made) < count:
        model = load_face_model(weights, "cpu")
        images = np.empty((count, model.resolution, model.resolution, 3), np.uint8)
        images[:len(made)] = made[:count]
        started, fresh = time.process_time(), count - len(made)
        for start in range(len(made), count, 32):
            end = min(start + 32, count)
            faces = model.generate(list(range(seed + start, seed + end)), psi)
            images[start:end] = np.stack([np.asarray(image) for image in faces])
            if end % 1024 < 32:
                echo(f"    psi {psi}: {end}/{count} candidates")
        per_face = (time.process_time() - started) / fresh  # CPU time: fair on a shared machine
        cache.mkdir(parents=True, exist_ok=True)
        file = cache / f"candidates-psi{psi:.2f}-s{seed}-c{count}.npz"
        np.savez(file.with_suffix(".tmp.npz"), images=images, seconds_per_face=per_face)
        file.with_suffix(".tmp.npz").rename(file)
        made = images
    return made[:count].reshape(n, k_max, *made.shape[1:]), per_face


def _cached_prefix(cache: Path, psi: float, seed: int) -> tuple[np.ndarray, float]:
    """The longest cached run of candidates at this psi from this first seed (flat), and its CPU cost."""
    best, per_face = np.zeros((0, 1, 1, 3), np.uint8), 0.0
    for file in cache.glob(f"candidates-psi{psi:.2f}-*s{seed}*.npz"):
        if ".tmp" in file.name or not (file.stem.endswith(f"-s{seed}") or f"-s{seed}-" in file.stem):
            continue
        with np.load(file) as data:
            images = data["images"]
            images = images.reshape(-1, *images.shape[-3:])
            if len(images) > len(best):
                best, per_face = images, float(data["seconds_per_face"])
    return best, per_face


def heldout_sample(archive: Path, n: int, seed: int) -> np.ndarray:
    """n held-out faces drawn at random from the whole held-out split. (The archive stores its
    faces by source: its first held-out faces are nearly all from one source.) A smaller n takes a
    prefix of the same draw."""
    heldout = load_archive(archive, HELDOUT).images
    return heldout[np.random.default_rng(seed).permutation(len(heldout))[:n]]


def embed(analyzer: FaceAnalyzer, images: np.ndarray, file: Path | None, fallback: np.ndarray | None,
          workers: int) -> FaceStats:
    if file is not None and file.is_file():
        return load_face_stats(file, len(images))
    stats = analyzer.analyze(images, fallback=fallback, workers=workers)
    if file is not None:
        save_face_stats(file, stats)
    return stats


def fresh_classifier(real: np.ndarray, shown: np.ndarray, epochs: int, repeats: int) -> dict[str, float]:
    """Accuracy of a fresh pixel CNN (never the critic) told to tell shown faces from held-out real
    ones, averaged over `repeats` seeds (each its own split and start): at a few hundred faces one
    run varies by a few points."""
    runs = [c2st_pixels(real, shown, epochs=epochs, seed=seed) for seed in range(repeats)]
    return {"c2st_fresh_pixels": round(float(np.mean(runs)), 4), "c2st_fresh_sd": round(float(np.std(runs)), 4)}


def mean_pairwise_distance(embeddings: np.ndarray) -> float:
    x = torch.from_numpy(np.asarray(embeddings, np.float32))
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def run(args: argparse.Namespace, echo: Callable[[str], None] = print) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    cache: Path = args.cache
    if args.only_candidates:
        for psi in args.psi:
            candidates(args.weights, psi, args.n, args.k_max, args.seed, cache, echo)
        return {}
    critic = load_critic(args.critic)
    critic_id = hashlib.sha256((args.critic or DEFAULT_CRITIC).read_bytes()).hexdigest()[:8]
    analyzer = FaceAnalyzer()
    real = heldout_sample(args.real, args.n, args.seed)
    real_faces = embed(analyzer, real, cache / f"real-heldout-s{args.seed}-{len(real)}.npz", None, args.workers)
    fallback = default_box(real_faces.boxes)
    result: dict[str, Any] = {"n": args.n, "k_max": args.k_max, "ks": args.ks, "critic": critic.info,
                              "real_diversity": round(mean_pairwise_distance(real_faces.embeddings), 4),
                              "psis": {}}
    train = px_train = train_faces = None
    if args.copying:
        echo("training faces for the copying test")
        train = load_archive(args.real, TRAIN).images
        px_train = pixel_features(train)
        subset = np.linspace(0, len(train) - 1, min(args.train_n, len(train))).round().astype(int)
        train_faces = embed(analyzer, train[subset], cache / f"train-{len(subset)}.npz", None, args.workers)
        px_real = pixel_features(real)
    for psi in args.psi:
        echo(f"psi {psi}: candidates")
        images, gen_seconds = candidates(args.weights, psi, args.n, args.k_max, args.seed, cache, echo)
        flat = images.reshape(-1, *images.shape[2:])
        started = time.process_time()
        scores = critic.score(flat).reshape(args.n, args.k_max)
        critic_seconds = (time.process_time() - started) / len(flat)
        picks = {k: scores[:, :k].argmax(1) for k in args.ks}
        # Embed every candidate some K picks, once.
        chosen = sorted({(i, int(j)) for k in args.ks for i, j in enumerate(picks[k])})
        where = {key: row for row, key in enumerate(chosen)}
        echo(f"psi {psi}: embedding {len(chosen)} picked faces")
        stats = embed(analyzer, np.stack([images[i, j] for i, j in chosen]),
                      cache / f"picked-{critic_id}-psi{psi:.2f}-{args.n}-{'_'.join(map(str, args.ks))}.npz", fallback, args.workers)
        rows = {}
        for k in args.ks:
            rows_k = [where[(i, int(j))] for i, j in enumerate(picks[k])]
            shown = np.stack([images[i, j] for i, j in enumerate(picks[k])])
            emb = stats.embeddings[rows_k]
            row: dict[str, Any] = {
                "fd_face": round(100 * frechet_distance(emb, real_faces.embeddings), 3),
                "swd": swd(real, shown)["swd_avg"],
                **fresh_classifier(real, shown, args.c2st_epochs, args.c2st_repeats),
                "c2st_identity": round(c2st_features(real_faces.embeddings, emb), 4),
                "diversity": round(mean_pairwise_distance(emb), 4),
                "face_rate": round(float(stats.detected[rows_k].mean()), 4),
                "critic_mean_score": round(float(scores[np.arange(args.n), picks[k]].mean()), 3),
                "cpu_ms_per_shown_face": round(1000 * k * (gen_seconds + critic_seconds), 1),
            }
            if args.copying:
                identity = data_copying(train_faces.embeddings, real_faces.embeddings, emb)
                pixels = data_copying(px_train, px_real, pixel_features(shown))
                copies, _ = near_copies(px_train, pixel_features(shown), 0.05)
                row["copying"] = {"identity_C_T": identity["C_T"], "pixels_C_T": pixels["C_T"],
                                  "near_copies": copies,
                                  "passed": bool(identity["passed"] and pixels["passed"] and copies == 0)}
            rows[str(k)] = row
            echo(f"psi {psi} K={k}: {json.dumps(row)}")
        result["psis"][f"{psi:g}"] = {"generate_ms": round(1000 * gen_seconds, 1),
                                      "critic_ms": round(1000 * critic_seconds, 2), "k": rows}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator.curation.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, required=True, help="the training archive (held-out and train splits)")
    p.add_argument("--weights", type=Path)
    p.add_argument("--critic", type=Path, help="default: the shipped critic")
    p.add_argument("--psi", type=float, nargs="+", default=[0.7])
    p.add_argument("--n", type=int, default=1000, help="shown faces per setting (and held-out real faces)")
    p.add_argument("--k-max", type=int, default=16)
    p.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-n", type=int, default=3000, help="training faces embedded for the identity copying test")
    p.add_argument("--no-copying", dest="copying", action="store_false")
    p.add_argument("--c2st-epochs", type=int, default=8)
    p.add_argument("--c2st-repeats", type=int, default=5, help="fresh classifiers per setting, averaged")
    p.add_argument("--cache", type=Path, default=Path("data/cache/curation"))
    p.add_argument("--out", type=Path, default=Path("data/eval/curation.json"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2, help="processes for dlib")
    p.add_argument("--only-candidates", action="store_true", help="make and cache the candidates, nothing else")
    args = p.parse_args(argv)
    if max(args.ks) > args.k_max:
        p.error("every K must be at most --k-max")
    run(args, echo=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
