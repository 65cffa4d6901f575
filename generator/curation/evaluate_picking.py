"""Judge picking by what did not pick: `python -m generator.curation.evaluate_picking`.

Two steps, so the slow one runs once and in pieces of under 15 minutes:

  candidates --psi P --mode M --n N --k K   make N x K candidates (seeds SEED + i*K + j for face i)
                                            and keep each one's critic score (not the pixels: 64k
                                            faces are 3 GB) and the CPU they took
  judge --setting P:M:K:F[:POOL] ...        per setting (psi, truncation mode, effective K <= the
                                            candidates' K, filter on/off, pool): pick the shown faces
                                            exactly as they are picked live (pool "each": face i the
                                            best of its own K, as generator/curation/picking.py and
                                            the best-of-K fallback; "bank": the N best of all N x K,
                                            as the face bank holds them after N x K candidates), the
                                            filter checking best-first (its verdicts kept in a file),
                                            make the N picked faces again from (seed, psi, mode), and
                                            score them against held-out real faces on judges the
                                            picking never used: FD_face, SWD, a fresh pixel classifier
                                            (repeats -> its spread), diversity, face rate, the
                                            data-copying test, plus CPU per shown face.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from generator.curation.face_filter import VERSION as FILTER_VERSION
from generator.curation.picking import best_passing, load_picker, make_faces, score_images
from generator.precision import Setting

CANDIDATE_SEED = 0  # evaluation candidates: seeds from here (the critic trained on 3e9+, centres 3.5e9+)


def candidates_file(cache: Path, psi: float, mode: str, n: int, k: int, precision: str) -> Path:
    return cache / f"cand-psi{psi:.2f}-{mode}-n{n}-k{k}-{precision}.npz"


def make_candidates(args: argparse.Namespace) -> Path:
    """Make and score N x K candidates: the critic's scores and the CPU they took. The filter's
    verdicts are not made here: judging needs them only for the few best-first faces it picks
    (see Verdicts), so a K of 64 costs its faces and scores, not 64 filter checks a face."""
    from generator.loading import load_face_model

    model = load_face_model(args.weights, "cpu", args.precision)
    picker = load_picker(model, critic_path=args.critic, use_filter=False, weights=args.weights)
    count = args.n * args.k
    scores = np.zeros(count, np.float32)
    gen_cpu = 0.0
    out = candidates_file(args.cache, args.psi, args.mode, args.n, args.k, model.setting.name)
    if out.is_file():
        print(f"already made: {out}", flush=True)
        return out
    partial, done = out.with_suffix(".part.npz"), 0
    if partial.is_file():  # a run stopped by its time limit goes on where it was
        with np.load(partial) as data:
            done = int(data["done"])
            scores[:done], gen_cpu = data["scores"][:done], float(data["gen_cpu"])
    out.parent.mkdir(parents=True, exist_ok=True)
    for start in range(done, count, 64):
        seeds = list(range(CANDIDATE_SEED + start, CANDIDATE_SEED + min(start + 64, count)))
        began = time.process_time()
        _, scores[start:start + len(seeds)] = score_images(model, seeds, args.psi, args.mode, picker)
        gen_cpu += time.process_time() - began
        if (start // 64) % 16 == 15:  # every 1,024 candidates
            print(f"psi {args.psi} {args.mode}: {start + len(seeds)}/{count}", flush=True)
            np.savez(partial.with_suffix(".tmp.npz"), scores=scores, done=start + len(seeds), gen_cpu=gen_cpu)
            partial.with_suffix(".tmp.npz").replace(partial)
    np.savez(out.with_suffix(".tmp.npz"), scores=scores, gen_cpu_per_face=gen_cpu / count,
             precision=model.setting.name, model_version=model.model_version)
    out.with_suffix(".tmp.npz").replace(out)
    partial.unlink(missing_ok=True)
    print(f"written {out}: {1000 * gen_cpu / count:.1f} ms CPU a candidate (made and scored)", flush=True)
    return out


class Verdicts:
    """The broken-face filter's verdicts on candidates, made when first asked (the candidate's face
    made again in the arithmetic it was scored in) and kept in a file beside the candidates."""

    def __init__(self, model: Any, picker: Any, file: Path, psi: float, mode: str) -> None:
        from generator.curation.face_filter import FaceFilter

        self.model, self.picker, self.file, self.psi, self.mode = model, picker, file, psi, mode
        self.filter = FaceFilter()
        self.known: dict[int, bool] = {}
        self.cpu, self.checks = 0.0, 0
        if file.is_file():
            with np.load(file) as data:
                self.known = dict(zip(data["seeds"].tolist(), data["passed"].tolist()))
                self.cpu, self.checks = float(data["cpu"]), int(data["checks"])

    def passed(self, seed: int) -> bool:
        if seed not in self.known:
            (image,) = make_faces(self.model, [seed], self.psi, mode=self.mode, picker=self.picker)
            began = time.process_time()
            self.known[seed] = self.filter.check(image).passed
            self.cpu += time.process_time() - began
            self.checks += 1
        return self.known[seed]

    @property
    def cpu_per_check(self) -> float:
        return self.cpu / self.checks if self.checks else 0.0

    def save(self) -> None:
        seeds = np.array(list(self.known), np.int64)
        temporary = self.file.with_suffix(f".{os.getpid()}.tmp.npz")  # two judges may save at once
        np.savez(temporary, seeds=seeds, passed=np.array([self.known[s] for s in seeds], bool),
                 cpu=self.cpu, checks=self.checks)
        temporary.replace(self.file)


def pick_each(scores: np.ndarray, k: int, passes: Callable[[int, int], bool] | None) -> tuple[list[int], float]:
    """Face i is the best of its own first k candidates (row i) that passes the filter, checked
    best-first, as picking.pick_one and the best-of-K fallback pick (the best score when none
    passes): (columns, checks per face)."""
    picks, checks = [], 0
    for i, row in enumerate(scores[:, :k]):
        chosen, made = best_passing(row, 1, None if passes is None else lambda j, i=i: passes(i, j))
        picks.append(chosen[0] if chosen else int(np.argmax(row)))  # argmax: the first of equal scores
        checks += made
    return picks, checks / len(scores)


def judge(args: argparse.Namespace) -> dict[str, Any]:
    from generator.curation.evaluate import embed, fresh_classifier, heldout_sample, mean_pairwise_distance
    from generator.curation.face_filter import FaceFilter
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
                              "real_diversity": round(mean_pairwise_distance(real_faces.embeddings), 4),
                              "real_face_rate": round(float(real_faces.detected.mean()), 4),
                              "real_filter_pass": round(float(np.mean(FaceFilter().passes(list(real)))), 4),
                              "rows": []}
    if args.out.is_file():
        result["rows"] = [r for r in json.loads(args.out.read_text()).get("rows", [])]
    for spec in args.setting:
        psi, mode, k, use_filter, pool = parse_setting(spec)
        if pool == "bank":  # the first n x k candidates, whatever K their run grouped them by
            file, flat, gen_cpu, made_with = _flat_candidates(args.cache, psi, mode, args.n * k)
        else:
            file, k_made = _find_candidates(args.cache, psi, mode, args.n, k)
            scores, gen_cpu, made_with = _read_candidates(file, args.n, k_made)
        # the shown faces are made again in the arithmetic their candidates were scored in
        model.apply_setting(Setting(made_with.startswith("bf16"), made_with.endswith("channels_last")))
        verdicts = Verdicts(model, picker, args.cache / f"verdicts-f{FILTER_VERSION}-psi{psi:.2f}-{mode}-{made_with}.npz",
                            psi, mode)
        if pool == "bank":
            chosen, checks_made = best_passing(flat, args.n, (lambda index: verdicts.passed(CANDIDATE_SEED + index))
                                               if use_filter else None)
            seeds, picked_scores, checks = [CANDIDATE_SEED + i for i in chosen], flat[chosen], checks_made / args.n
        else:
            columns, checks = pick_each(scores, k, (lambda row, column: verdicts.passed(
                CANDIDATE_SEED + row * k_made + column)) if use_filter else None)
            seeds = [CANDIDATE_SEED + row * k_made + column for row, column in enumerate(columns)]
            picked_scores = scores[np.arange(args.n), columns]
        verdicts.save()
        shown = np.stack([np.asarray(image) for start in range(0, len(seeds), 64)
                          for image in make_faces(model, seeds[start:start + 64], psi, mode=mode, picker=picker)])
        stats = analyzer.analyze(shown, fallback=fallback, workers=args.workers)
        emb = stats.embeddings
        identity = data_copying(train_faces.embeddings, real_faces.embeddings, emb)
        pixels = data_copying(px_train, px_real, pixel_features(shown))
        copies, _ = near_copies(px_train, pixel_features(shown), 0.05)
        filter_ms = checks * verdicts.cpu_per_check if use_filter else 0.0
        row = {"psi": psi, "mode": mode, "k": k, "filter": use_filter, "pool": pool, "precision": made_with,
               "fd_face": round(100 * frechet_distance(emb, real_faces.embeddings), 3),
               "swd": swd(real, shown)["swd_avg"],
               **fresh_classifier(real, shown, args.c2st_epochs, args.c2st_repeats),
               "diversity": round(mean_pairwise_distance(emb), 4),
               "face_rate": round(float(stats.detected.mean()), 4),
               "critic_score_mean": round(float(np.mean(picked_scores)), 4),
               "copying": {"identity_C_T": identity["C_T"], "pixels_C_T": pixels["C_T"], "near_copies": copies,
                           "passed": bool(identity["passed"] and pixels["passed"] and copies == 0)},
               "cpu_ms_per_shown_face": round(1000 * (k * gen_cpu + filter_ms), 1),
               "filter_checks_per_shown_face": round(checks, 2),
               "candidates": file.name}
        print(json.dumps(row), flush=True)
        result["rows"] = [r for r in result["rows"] if setting_key(r) != setting_key(row)] + [row]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return result


POOLS = ("each", "bank")


def parse_setting(spec: str) -> tuple[float, str, int, bool, str]:
    """PSI:MODE:K:on|off[:each|bank] -> (psi, mode, k, filter, pool)."""
    parts = spec.split(":")
    if len(parts) == 4:
        parts.append("each")
    if len(parts) != 5 or parts[3] not in ("on", "off") or parts[4] not in POOLS:
        raise SystemExit(f"a setting is PSI:MODE:K:on|off[:each|bank], not {spec!r}")
    return float(parts[0]), parts[1], int(parts[2]), parts[3] == "on", parts[4]


def setting_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["psi"], row["mode"], row["k"], row["filter"], row.get("pool", "each")


def _candidate_runs(cache: Path, psi: float, mode: str) -> list[tuple[Path, int, int]]:
    """The candidate runs of (psi, mode): (file, its K, candidates made), finished runs first; a run
    still going counts with the candidates it has made."""
    runs = []
    for file in sorted(cache.glob(f"cand-psi{psi:.2f}-{mode}-n*-k*.npz"), key=lambda f: (".part" in f.name, f.name)):
        if ".tmp" in file.name:
            continue
        with np.load(file) as data:
            made = int(data["done"]) if "done" in data else data["scores"].size
        runs.append((file, int(file.name.split("-k")[1].split("-")[0]), made))
    return runs


def _find_candidates(cache: Path, psi: float, mode: str, n: int, k: int) -> tuple[Path, int]:
    """The run of (psi, mode) with at least n faces of K >= k (the fewest K), and its K. Face i's
    first k candidates are the same whatever the run's n."""
    found = [(k_made, ".part" in file.name, file.name, file) for file, k_made, made in _candidate_runs(cache, psi, mode)
             if k_made >= k and made >= n * k_made]
    if not found:
        raise SystemExit(f"no candidates for psi {psi} {mode}: {n} faces of K>={k} (run the candidates step)")
    best = min(found)
    return best[3], best[0]


def _flat_candidates(cache: Path, psi: float, mode: str, count: int) -> tuple[Path, np.ndarray, float, str]:
    """The first `count` candidates of (psi, mode), seeds CANDIDATE_SEED + index, from any run that
    made that many: the file, their scores, CPU seconds per candidate and the arithmetic."""
    for file, k_made, made in _candidate_runs(cache, psi, mode):
        if made >= count:
            scores, gen_cpu, made_with = _read_candidates(file, -(-count // k_made), k_made)
            return file, scores.reshape(-1)[:count], gen_cpu, made_with
    raise SystemExit(f"no candidates for psi {psi} {mode}: {count} made (run the candidates step)")


def _read_candidates(file: Path, n: int, k_made: int) -> tuple[np.ndarray, float, str]:
    """Scores of the first n faces (n x k_made), CPU seconds per candidate made and scored, and the
    arithmetic they were made in."""
    with np.load(file) as data:
        scores = data["scores"][:n * k_made].reshape(n, k_made)
        if "done" in data:  # a partial run: totals so far
            gen_cpu = float(data["gen_cpu"]) / int(data["done"])
            made_with = file.name.split(f"-k{k_made}-")[1].removesuffix(".part.npz")
        else:
            gen_cpu, made_with = float(data["gen_cpu_per_face"]), str(data["precision"])
    return scores, gen_cpu, made_with


def table(result: dict[str, Any]) -> str:
    """The judged settings as a markdown table (docs/generator.md, the README)."""
    head = ("| pool | effective K | psi | truncation | filter | refinement | FD_face | SWD | fresh classifier (mean ± sd) | "
            "diversity | face rate | copying: C_T identity / pixels, near copies | CPU ms per shown face |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in sorted(result["rows"], key=lambda r: (r.get("pool", "each"), r["psi"], r["k"], r["filter"])):
        copying = r["copying"]
        lines.append(f"| {r.get('pool', 'each')} | {r['k']} | {r['psi']:g} | {r['mode']} | {'on' if r['filter'] else 'off'} | none "
                     f"| {r['fd_face']:.2f} | {r['swd']:.1f} | {r['c2st_fresh_pixels']:.3f} ± {r['c2st_fresh_sd']:.3f} "
                     f"| {r['diversity']:.3f} | {r['face_rate']:.3f} | {copying['identity_C_T']:.2f} / "
                     f"{copying['pixels_C_T']:.2f}, {copying['near_copies']}: "
                     f"{'passed' if copying['passed'] else 'FAILED'} | {r['cpu_ms_per_shown_face']:.0f} |")
    passing = f"passes {result['real_filter_pass']:.3f}" if "real_filter_pass" in result else ""
    lines.append(f"| real held-out | | | | {passing} | | | | 0.5 | {result['real_diversity']:.3f} | "
                 f"{result.get('real_face_rate', float('nan')):.3f} | C_T < -2 is copying | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator.curation.evaluate_picking", description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=["candidates", "judge", "table"])
    p.add_argument("--real", type=Path, help="the training archive (held-out and train splits); judge only")
    p.add_argument("--weights", type=Path)
    p.add_argument("--critic", type=Path)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--psi", type=float, default=0.85)
    p.add_argument("--mode", default="mean", choices=["mean", "centres"])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--setting", nargs="+", default=[],
                   help="PSI:MODE:K:on|off[:each|bank]: the filter on or off; each face the best of its own K "
                        "(the best-of-K fallback) or the n best of all n x K (a bank after n x K candidates)")
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
    elif args.step == "table":
        print(table(json.loads(args.out.read_text())))
    else:
        if args.real is None:
            p.error("judge needs --real")
        judge(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
