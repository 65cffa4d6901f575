"""Does a resume through the small state train like an uninterrupted run?
`python -m generator.bench.resume --data ARCHIVE [--steps N] [--seeds S]`

The state kept between sessions (generator/training/state.py) holds G and D in fp16 and no Adam moments.
For each seed this trains N steps straight, and N/2 steps, a save and load through that state,
then N/2 more; it compares the mean losses of the second half. The resume costs nothing
measurable when the straight-vs-resumed gap is within the seed-to-seed spread of the same means.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from statistics import mean, pstdev
from typing import Any

import numpy as np
import torch

from generator.training.archive import TRAIN, load_archive
from generator.model.checkpoint import EXPORT_NAME, export_generator, save_checkpoint
from generator.train import Trainer, TrainOptions, load_resume, model_config, run_command


def _options(data: Path, seed: int, batch: int, model: str) -> TrainOptions:
    return TrainOptions(data=data, out=Path("unused"), kimg=1, model=model, batch=batch, r1_every=4,
                        device="cpu", seed=seed)


def _second_half(trainer: Trainer, steps: int) -> dict[str, float]:
    losses: dict[str, list[float]] = {"loss_g": [], "loss_d": []}
    for _ in range(steps):
        trainer.train_step()
        for key, value in trainer.take_losses().items():
            if key in losses:
                losses[key].append(value)
    return {key: mean(values) for key, values in losses.items()}


def compare(data: Path, steps: int, seeds: list[int], batch: int = 8, model: str = "tiny") -> dict[str, Any]:
    images = load_archive(data, TRAIN).images
    half = steps // 2
    rows = []
    for seed in seeds:
        opts = _options(data, seed, batch, model)
        cfg = model_config(opts, images.shape[1])
        straight = Trainer(opts, cfg, images, torch.device("cpu"))
        for _ in range(half):
            straight.train_step()
        straight.take_losses()
        straight_means = _second_half(straight, steps - half)

        first = Trainer(opts, cfg, images, torch.device("cpu"))
        for _ in range(half):
            first.train_step()
        with tempfile.TemporaryDirectory() as folder:
            run = Path(folder)
            version = export_generator(run / EXPORT_NAME, first.G_ema, {"step": first.step})
            save_checkpoint(run, first.state_tensors("half"), {**first.state_meta("half"), "ema_version": version})
            resumed = Trainer(_options(data, seed + 1000, batch, model), cfg, images, torch.device("cpu"))
            resumed.load_state(*load_resume(run))
        resumed_means = _second_half(resumed, steps - half)
        rows.append({"seed": seed, "straight": straight_means, "resumed": resumed_means})

    report: dict[str, Any] = {"steps": steps, "batch": batch, "model": model, "seeds": seeds, "rows": rows}
    for key in ("loss_g", "loss_d"):
        gaps = [abs(r["straight"][key] - r["resumed"][key]) for r in rows]
        spread = pstdev([r["straight"][key] for r in rows]) if len(rows) > 1 else float("nan")
        report[key] = {"mean_gap": round(mean(gaps), 4), "max_gap": round(max(gaps), 4),
                       "seed_spread": round(spread, 4), "within_noise": bool(mean(gaps) <= spread)}
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator.bench.resume", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--model", default="tiny")
    p.add_argument("--threads", type=int, default=1)

    def action(args: argparse.Namespace) -> None:
        torch.set_num_threads(args.threads)
        np.seterr(all="ignore")
        print(json.dumps(compare(args.data, args.steps, list(range(args.seeds)), args.batch, args.model), indent=1))

    return run_command(p, argv, action)


if __name__ == "__main__":
    sys.exit(main())
