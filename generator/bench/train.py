"""Training throughput, before and after: `python -m generator.bench.train --data FILE [--batch B]`.

Measures images/second of the real training step (G step, D step, lazy R1, EMA) under a ladder of
settings, one after the other in one process on the same machine:

  naive        fp32, NCHW, host-side data loading and per-sample Python augmentation, plain Adam
  device-data  + whole training split on the device as uint8, batched augmentation there
  bf16         + bf16 autocast
  optimized    what `train` uses by default on this device (CUDA: bf16, channels_last, fused Adam)
  fast-resample  optimized with --resample fast (strided convolutions instead of bilinear
               upsampling and average pooling: a different model, so asked for by name)
  compiled     + torch.compile (only when asked for: compiling takes minutes)

Also counts the training FLOPs per image (torch's FLOP counter over one step) to turn images/second
into achieved TFLOP/s, and with --profile prints where the optimized step spends its time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generator.training.archive import TRAIN, load_archive
from generator.train import (Trainer, TrainOptions, configure_backends, device_name, model_config, resolve_device,
                             run_command, synchronize)

LADDER: dict[str, dict[str, Any]] = {
    "naive": dict(amp="off", channels_last=False, host_data=True, loop_augment=True, fused_adam=False),
    "device-data": dict(amp="off", channels_last=False, fused_adam=False),
    "bf16": dict(amp="bf16", channels_last=False, fused_adam=False),
    "optimized": dict(amp="auto", channels_last=None, fused_adam=None),
    "fast-resample": dict(amp="auto", channels_last=None, fused_adam=None, resample="fast"),
    "compiled": dict(amp="auto", channels_last=None, fused_adam=None, compile=True),
}
DEFAULT_CONFIGS = ("naive", "device-data", "bf16", "optimized")


def _trainer(opts: TrainOptions, images: np.ndarray, device: torch.device) -> Trainer:
    return Trainer(opts, model_config(opts, images.shape[1]), images, device)


def train_flops_per_image(opts: TrainOptions, images: np.ndarray, device: torch.device) -> float:
    """FLOPs of one training step (no R1) per image, counted by torch on a small batch."""
    from torch.utils.flop_counter import FlopCounterMode

    small = replace(opts, batch=4, compile=False)
    trainer = _trainer(small, images[:64], device)
    trainer.step = 1  # not an R1 step: R1 adds about 1/r1_every of a D pass
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    return counter.get_total_flops() / small.batch


def measure(opts: TrainOptions, images: np.ndarray, device: torch.device, seconds: float,
            warmup: int, min_steps: int) -> dict[str, Any]:
    trainer = _trainer(opts, images, device)
    for _ in range(warmup):
        trainer.train_step()
    synchronize(device)
    start = time.monotonic()
    steps = 0
    while steps < min_steps or time.monotonic() - start < seconds:
        trainer.train_step()
        steps += 1
    synchronize(device)
    elapsed = time.monotonic() - start
    losses = trainer.take_losses()
    result = {"img_s": round(steps * opts.batch / elapsed, 1), "steps": steps,
              "ms_per_step": round(1000 * elapsed / steps, 2), "finite": all(map(np.isfinite, losses.values()))}
    if device.type == "cuda":
        result["gpu_mem_gb"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def profile_table(opts: TrainOptions, images: np.ndarray, device: torch.device, steps: int = 6) -> str:
    from torch.profiler import ProfilerActivity, profile

    trainer = _trainer(opts, images, device)
    for _ in range(3):
        trainer.train_step()
    synchronize(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            trainer.train_step()
        synchronize(device)
    # By operator, time including the kernels it launched (what to change), then by kernel.
    cuda = device.type == "cuda"
    averages = prof.key_averages()
    by_op = [e for e in averages if e.key.startswith("aten::")]
    total = sum(getattr(e, "self_device_time_total" if cuda else "self_cpu_time_total", 0) for e in averages) or 1
    lines = [f"per step ({steps} steps profiled), by operator, {'GPU' if cuda else 'CPU'} time incl. kernels:"]
    attr = "device_time_total" if cuda else "cpu_time_total"
    for e in sorted(by_op, key=lambda e: getattr(e, attr, 0), reverse=True)[:22]:
        value = getattr(e, attr, 0)
        lines.append(f"  {e.key:42s} {value / 1000 / steps:8.2f} ms {100 * value / total:5.1f}%  x{e.count // steps}")
    key = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    return "\n".join(lines) + "\n" + averages.table(sort_by=key, row_limit=15, max_name_column_width=90)


def run(data: Path, batch: int, configs: list[str], seconds: float, warmup: int, min_steps: int,
        device_arg: str = "auto", model: str = "lean", data_limit: int | None = 4096, profile: bool = False,
        out: Path | None = None, echo=print) -> dict[str, Any]:
    unknown = [c for c in configs if c not in LADDER]
    if unknown:
        raise ValueError(f"unknown configs {unknown}; choose from {', '.join(LADDER)}")
    device = resolve_device(device_arg)
    configure_backends(device)
    images = load_archive(data, TRAIN, limit=data_limit).images
    base = TrainOptions(data=data, out=Path("unused"), kimg=1, batch=batch, model=model, device=device_arg)
    report: dict[str, Any] = {"device": device_name(device), "resolution": int(images.shape[1]), "batch": batch,
                              "model": model, "torch": torch.__version__, "results": {}}
    flops_of: dict[str, float] = {}  # per model variant

    def flops_for(opts: TrainOptions) -> float:
        key = opts.resample or "classic"
        if key not in flops_of:
            flops_of[key] = train_flops_per_image(opts, images, device)
        return flops_of[key]

    flops = flops_for(replace(base, **LADDER["optimized"]))
    report["train_gflop_per_img"] = round(flops / 1e9, 2)
    echo(f"training throughput on {report['device']}, {report['resolution']} px, batch {batch}, "
         f"{flops / 1e9:.1f} GFLOP per training image")
    for name in configs:
        opts = replace(base, **LADDER[name])
        try:
            result = measure(opts, images, device, seconds, warmup, min_steps)
            result["gflop_per_img"] = round(flops_for(opts) / 1e9, 2)
        except Exception as error:  # one failed setting must not lose the others' numbers
            result = {"error": f"{type(error).__name__}: {error}"}
        if "img_s" in result:
            result["tflop_s"] = round(result["img_s"] * result["gflop_per_img"] / 1e3, 2)
        report["results"][name] = result
        echo(f"  {name:12s} {json.dumps(result)}")
        if device.type == "cuda":
            torch.cuda.empty_cache()
    rates = {k: v.get("img_s") for k, v in report["results"].items()}
    if rates.get("naive") and rates.get("optimized"):
        report["speedup"] = round(rates["optimized"] / rates["naive"], 2)
        echo(f"  optimized / naive: {report['speedup']}x")
    _write(out, report)
    if profile:
        try:
            report["profile"] = profile_table(replace(base, **LADDER["optimized"]), images, device)
        except Exception as error:  # the numbers above are already saved
            report["profile"] = f"profiling failed: {type(error).__name__}: {error}"
        echo(report["profile"])
        _write(out, report)
    return report


def _write(out: Path | None, report: dict[str, Any]) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator.bench.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help=f"from {', '.join(LADDER)}")
    p.add_argument("--seconds", type=float, default=8.0, help="timed seconds per setting (after warm-up)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--min-steps", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--model", default="lean")
    p.add_argument("--data-limit", type=int, default=4096)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--out", type=Path, help="write the report as JSON here")
    return run_command(p, argv, lambda args: run(
        args.data, args.batch, [c.strip() for c in args.configs.split(",") if c.strip()], args.seconds,
        args.warmup, args.min_steps, args.device, args.model, args.data_limit, args.profile, args.out))


if __name__ == "__main__":
    sys.exit(main())
