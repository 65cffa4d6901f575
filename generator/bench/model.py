"""Model cost: FLOPs per face, parameters, and generation ms/face at batch 1 and 16 on this machine
(`figment bench model`). Without trained weights it times a randomly initialised generator of the
default configuration: the cost does not depend on the weights' values."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from generator.loading import StyleGANFaceModel, WeightsError, load_face_model, pick_device
from generator.model.networks import Generator, ModelConfig


def generator_flops(G: Generator) -> int:
    """FLOPs (multiply and add counted apart) of one face at inference, by torch's counter."""
    from torch.utils.flop_counter import FlopCounterMode

    param = next(G.parameters())
    z = torch.zeros(1, G.cfg.z_dim, device=param.device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        G(z, psi=torch.full((1,), 0.7, device=param.device), noise_mode="const")
    return counter.get_total_flops()


def run(weights: Path | None = None, batches: tuple[int, ...] = (1, 16), repeats: int = 5,
        device: str = "cpu", resolution: int = 128, echo: Callable[[str], None] = print) -> dict[str, Any]:
    try:
        model = load_face_model(weights, device)
        source = model.model_version
    except WeightsError:
        if weights is not None:
            raise
        model = StyleGANFaceModel(Generator(ModelConfig(resolution=resolution)), "untrained", pick_device(device))
        source = f"untrained {resolution} px generator (no weights shipped yet; the cost is the same)"
    G = model.G
    report: dict[str, Any] = {
        "model": source, "resolution": model.resolution, "device": str(model.device),
        "threads": torch.get_num_threads(),
        "generator_params": sum(p.numel() for p in G.parameters()),
        "fp16_megabytes": round(sum(p.numel() for p in G.state_dict().values()) * 2 / 1e6, 2),
        "gflop_per_face": round(generator_flops(G) / 1e9, 2),
        "ms_per_face": {},
    }
    echo(f"{source}: {report['generator_params']:,} parameters, {report['gflop_per_face']} GFLOP per face, "
         f"on {report['device']} with {report['threads']} threads")
    for batch in batches:
        seeds = list(range(batch))
        model.generate(seeds, 0.7)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.generate(seeds, 0.7)
            times.append(time.perf_counter() - start)
        ms = 1000 * statistics.median(times) / batch
        report["ms_per_face"][str(batch)] = round(ms, 1)
        echo(f"  batch {batch:3d}: {ms:7.1f} ms per face (median of {repeats}, seed to PIL image)")
    if model.device.type == "cpu":
        report["precision"] = precision_table(model, echo)
    return report


def precision_table(model: StyleGANFaceModel, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Each arithmetic setting on the probe batch, and what FIGMENT_PRECISION=auto would choose."""
    from generator.precision import PrecisionReport, choose, probe, wall_timer

    measured = probe(model, timer=wall_timer(repeats=3))
    chosen, reason = choose(measured)
    echo("  precision (probe: 8 faces, seeds 0-7, psi 0.7; difference from fp32 in levels of 255):")
    for m in measured:
        echo(f"    {m.setting.name:20s} {1000 * m.seconds_per_face:7.1f} ms per face, mean {m.mean_levels:.3f}, "
             f"max {m.max_levels}")
    echo(f"  auto chooses {reason}")
    return PrecisionReport("auto", chosen, reason, tuple(measured)).as_dict()
