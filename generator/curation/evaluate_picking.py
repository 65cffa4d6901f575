"""Judge picking by what did not pick: `python -m generator.curation.evaluate_picking`.

Two steps, so the slow one runs once and in pieces of under 15 minutes:

  candidates --psi P --mode M --n N --k K   make N x K candidates (seeds SEED + i*K + j for face i),
                                            keep each one's critic score and face-filter verdict
                                            (not the pixels: 16k faces are 0.8 GB) and the CPU costs
  judge --setting P:M:K:F ...               per setting (psi, truncation mode, effective K <= the
                                            candidates' K, filter on/off): pick face i from its first
                                            K candidates exactly as generator/curation/picking.py
                                            does, make the N picked faces again from (seed, psi, mode),
                                            and score them against held-out real faces on judges the
                                            picking never used: FD_face, SWD, a fresh pixel classifier
                                            (repeats -> its spread), diversity, face rate, the
                                            data-copying test, plus CPU per shown face.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generator.curation.picking import load_picker, make_faces, score_images
from generator.precision import Setting

CANDIDATE_SEED = 0  # evaluation candidates: seeds from here (the critic trained on 3e9+, centres 3.5e9+)


def candidates_file(cache: Path, psi: float, mode: str, n: int, k: int, precision: str) -> Path:
    return cache / f"cand-psi{psi:.2f}-{mode}-n{n}-k{k}-{precision}.npz"


def make_candidates(args: argparse.Namespace) -> Path:
    from generator.loading import load_face_model

    model = load_face_model(args.weights, "cpu", args.precision)
    picker = load_picker(model, critic_path=args.critic, weights=args.weights)
    assert picker.face_filter is not None
    count = args.n * args.k
    scores = np.zeros(count, np.float32)
    passed = np.zeros(count, bool)
    gen_cpu = filter_cpu = 0.0
    out = candidates_file(args.cache, args.psi, args.mode, args.n, args.k, model.setting.name)
    if out.is_file():
        print(f"already made: {out}", flush=True)
        return out
    partial, done = out.with_suffix(".part.npz"), 0
    if partial.is_file():  # a run stopped by its time limit goes on where it was
        with np.load(partial) as data:
            done = int(data["done"])
            scores[:done], passed[:done] = data["scores"][:done], data["passed"][:done]
            gen_cpu, filter_cpu = float(data["gen_cpu"]), float(data["filter_cpu"])
    out.parent.mkdir(parents=True, exist_ok=True)
    for start in range(done, count, 64):
        seeds = list(range(CANDIDATE_SEED + start, CANDIDATE_SEED + min(start + 64, count)))
        began = time.process_time()
        images, s = score_images(model, seeds, args.psi, args.mode, picker)
        gen_cpu += time.process_time() - began
        began = time.process_time()
        passed[start:start + len(seeds)] = picker.face_filter.passes(images)
        filter_cpu += time.process_time() - began
        scores[start:start + len(seeds)] = s
        if (start // 64) % 4 == 3:  # every 256 candidates
            print(f"psi {args.psi} {args.mode}: {start + len(seeds)}/{count}", flush=True)
            np.savez(partial.with_suffix(".tmp.npz"), scores=scores, passed=passed, done=start + len(seeds),
                     gen_cpu=gen_cpu, filter_cpu=filter_cpu)
            partial.with_suffix(".tmp.npz").replace(partial)
    np.savez(out.with_suffix(".tmp.npz"), scores=scores, passed=passed, gen_cpu_per_face=gen_cpu / count,
             filter_cpu_per_face=filter_cpu / count, precision=model.setting.name, model_version=model.model_version)
    out.with_suffix(".tmp.npz").replace(out)
    partial.unlink(missing_ok=True)
    print(f"written {out}: {1000 * gen_cpu / count:.1f} ms CPU a candidate (made and scored), "
          f"{1000 * filter_cpu / count:.1f} ms the filter, {passed.mean():.3f} pass", flush=True)
    return out


def pick_rows(scores: np.ndarray, passed: np.ndarray, k: int, use_filter: bool) -> tuple[np.ndarray, float]:
    """Column picked per face (among the first k) as picking.pick_one picks, and the mean number of
    filter checks it made per face (best-first until one passes)."""
    picks, checks = np.zeros(len(scores), int), 0
    for i in range(len(scores)):
        order = np.argsort(-scores[i, :k], kind="stable")
        picks[i] = order[0]
        if use_filter:
            hits = np.flatnonzero(passed[i, order])
            picks[i] = order[hits[0]] if len(hits) else order[0]
            checks += (hits[0] + 1) if len(hits) else k
    return picks, checks / len(scores)


def judge(args: argparse.Namespace) -> dict[str, Any]:
    from generator.curation.evaluate import embed, fresh_classifier, heldout_sample, mean_pairwise_distance
    from generator.evaluation.copying import data_copying, near_copies, pixel_features
    from generator.evaluation.faces import FaceAnalyzer, default_box
    from generator.evaluation.frechet import frechet_distance
    from generator.evaluation.swd import swd
    from generator.loading import load_face_model
    from generator.training.archive import TRAIN, load_archive

    model = load_face_model(args.weights, "cpu", args.precision)
    picker = load_picker(model, critic_path=args.critic, use_filter=False, weights=args.weights)
    analyzer = FaceAnalyzer()
    real = heldout_sample(args.real, args.n, args.seed)
    real_faces = embed(analyzer, real, args.cache / f"real-heldout-s{args.seed}-{len(real)}.npz", None, args.workers)
    fallback = default_box(real_faces.boxes)
    train = load_archive(args.real, TRAIN).images
    px_train = pixel_features(train)
    subset = np.linspace(0, len(train) - 1, min(args.train_n, len(train))).round().astype(int)
    train_faces = embed(analyzer, train[subset], args.cache / f"train-{len(subset)}.npz", None, args.workers)
    px_real = pixel_features(real)
    result: dict[str, Any] = {"n": args.n,
                              "real_diversity": round(mean_pairwise_distance(real_faces.embeddings), 4), "rows": []}
    if args.out.is_file():
        result["rows"] = [r for r in json.loads(args.out.read_text()).get("rows", [])]
    for spec in args.setting:
        psi_s, mode, k_s, flt = spec.split(":")
        psi, k, use_filter = float(psi_s), int(k_s), flt == "on"
        file, k_made = _find_candidates(args.cache, psi, mode, args.n, k)
        scores, passed, gen_cpu, filter_cpu, made_with = _read_candidates(file, args.n, k_made)
        # the shown faces are made again in the arithmetic their candidates were scored in
        model.apply_setting(Setting(made_with.startswith("bf16"), made_with.endswith("channels_last")))
        picks, checks = pick_rows(scores, passed, k, use_filter)
        seeds = [CANDIDATE_SEED + i * k_made + int(j) for i, j in enumerate(picks)]
        shown = np.stack([np.asarray(image) for start in range(0, len(seeds), 64)
                          for image in make_faces(model, seeds[start:start + 64], psi, mode=mode, picker=picker)])
        stats = analyzer.analyze(shown, fallback=fallback, workers=args.workers)
        emb = stats.embeddings
        identity = data_copying(train_faces.embeddings, real_faces.embeddings, emb)
        pixels = data_copying(px_train, px_real, pixel_features(shown))
        copies, _ = near_copies(px_train, pixel_features(shown), 0.05)
        row = {"psi": psi, "mode": mode, "k": k, "filter": use_filter, "precision": made_with,
               "fd_face": round(100 * frechet_distance(emb, real_faces.embeddings), 3),
               "swd": swd(real, shown)["swd_avg"],
               **fresh_classifier(real, shown, args.c2st_epochs, args.c2st_repeats),
               "diversity": round(mean_pairwise_distance(emb), 4),
               "face_rate": round(float(stats.detected.mean()), 4),
               "filter_pass_of_picked": round(float(passed[np.arange(args.n), picks].mean()), 4),
               "copying": {"identity_C_T": identity["C_T"], "pixels_C_T": pixels["C_T"], "near_copies": copies,
                           "passed": bool(identity["passed"] and pixels["passed"] and copies == 0)},
               "cpu_ms_per_shown_face": round(1000 * (k * gen_cpu + (checks * filter_cpu if use_filter else 0)), 1),
               "candidates": file.name}
        print(json.dumps(row), flush=True)
        result["rows"] = [r for r in result["rows"] if (r["psi"], r["mode"], r["k"], r["filter"])
                          != (psi, mode, k, use_filter)] + [row]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


def _find_candidates(cache: Path, psi: float, mode: str, n: int, k: int) -> tuple[Path, int]:
    """The candidates of (psi, mode) with at least n faces of K >= k (the fewest K; a run still
    going counts with the faces it has made), and their K. Face i's first k candidates are the same
    whatever the run's n."""
    found = []
    for file in cache.glob(f"cand-psi{psi:.2f}-{mode}-n*-k*.npz"):
        if ".tmp" in file.name:
            continue
        k_made = int(file.name.split("-k")[1].split("-")[0])
        with np.load(file) as data:
            made = int(data["done"]) if "done" in data else data["scores"].size
        if k_made >= k and made >= n * k_made:
            found.append((k_made, ".part" in file.name, file.name, file))
    if not found:
        raise SystemExit(f"no candidates for psi {psi} {mode}: {n} faces of K>={k} (run the candidates step)")
    best = min(found)
    return best[3], best[0]


def _read_candidates(file: Path, n: int, k_made: int) -> tuple[np.ndarray, np.ndarray, float, float, str]:
    """Scores and filter verdicts of the first n faces (n x k_made), CPU seconds per candidate made and
    per filter check, and the arithmetic they were made in."""
    with np.load(file) as data:
        scores = data["scores"][:n * k_made].reshape(n, k_made)
        passed = data["passed"][:n * k_made].reshape(n, k_made)
        if "done" in data:  # a partial run: totals so far
            done = int(data["done"])
            gen_cpu, filter_cpu = float(data["gen_cpu"]) / done, float(data["filter_cpu"]) / done
            made_with = file.name.split(f"-k{k_made}-")[1].removesuffix(".part.npz")
        else:
            gen_cpu, filter_cpu = float(data["gen_cpu_per_face"]), float(data["filter_cpu_per_face"])
            made_with = str(data["precision"])
    return scores, passed, gen_cpu, filter_cpu, made_with


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator.curation.evaluate_picking", description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=["candidates", "judge"])
    p.add_argument("--real", type=Path, help="the training archive (held-out and train splits); judge only")
    p.add_argument("--weights", type=Path)
    p.add_argument("--critic", type=Path)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--psi", type=float, default=0.85)
    p.add_argument("--mode", default="mean", choices=["mean", "centres"])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--setting", nargs="+", default=[], help="PSI:MODE:K:on|off (filter)")
    p.add_argument("--seed", type=int, default=0, help="held-out draw")
    p.add_argument("--train-n", type=int, default=3000)
    p.add_argument("--c2st-epochs", type=int, default=8)
    p.add_argument("--c2st-repeats", type=int, default=3)
    p.add_argument("--cache", type=Path, default=Path("data/cache/picking"))
    p.add_argument("--out", type=Path, default=Path("data/eval/picking.json"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.step == "candidates":
        make_candidates(args)
    else:
        if args.real is None:
            p.error("judge needs --real")
        judge(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
