"""CPU (or GPU) cost per face of an official StyleGAN2 config, with random weights:
    python -m generator.stylegan2.bench --config paper256 --batch 4 --repeats 3 --threads 2 [--dtype both]
(the weights do not change the cost; an imported model of that config costs the same).

--dtype bf16 runs the generator under CPU autocast to bfloat16 (fast where the CPU has AMX or
AVX512-BF16); --dtype both times fp32 and bf16 and reports the largest pixel difference between
them (uint8 levels, the official `x * 127.5 + 128` conversion) on the same latents. Figment serves
fp32 only: bf16 breaks the one-level promise (see the README)."""
from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import time

import torch

from generator.stylegan2.networks import SG2Config, StyleGAN2

CONFIGS = {  # the official configs' generator shapes (stylegan2-ada-pytorch train.py cfg_specs)
    "paper256": SG2Config(resolution=256, channel_base=16384, channel_max=512, conv_clamp=256, num_fp16_res=4),
    "paper512": SG2Config(resolution=512, channel_base=32768, channel_max=512, conv_clamp=256, num_fp16_res=4),
    "paper1024": SG2Config(resolution=1024, channel_base=32768, channel_max=512, conv_clamp=256, num_fp16_res=4),
}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def to_pixels(img: torch.Tensor) -> torch.Tensor:
    return (img.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def run(G: StyleGAN2, z: torch.Tensor, dtype: str, repeats: int) -> tuple[float, torch.Tensor]:
    """Median seconds per face and the last output's pixels."""
    def context():
        return torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "bf16" else contextlib.nullcontext()

    times = []
    with torch.inference_mode(), context():
        G(z[:1], 0.7)  # warm-up (oneDNN picks its kernels on the first call)
        for _ in range(repeats):
            start = time.perf_counter()
            out = G(z, 0.7)
            times.append((time.perf_counter() - start) / len(z))
    return statistics.median(times), to_pixels(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="paper256")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--dtype", choices=("fp32", "bf16", "both"), default="fp32")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    G = StyleGAN2(CONFIGS[args.config]).eval()
    z = torch.randn(args.batch, G.cfg.z_dim)
    report: dict = {"config": args.config, "batch": args.batch, "threads": torch.get_num_threads(),
                    "cpu": cpu_name(), "parameters": sum(p.numel() for p in G.parameters())}
    pixels = {}
    for dtype in (("fp32", "bf16") if args.dtype == "both" else (args.dtype,)):
        seconds, pixels[dtype] = run(G, z, dtype, args.repeats)
        report[f"ms_per_face_{dtype}"] = round(1000 * seconds)
    if len(pixels) == 2:
        diff = (pixels["fp32"].int() - pixels["bf16"].int()).abs()
        report["bf16_max_level_diff"] = int(diff.max())
        report["bf16_mean_level_diff"] = round(float(diff.float().mean()), 2)
        report["bf16_share_over_1_level"] = round(float((diff > 1).float().mean()), 4)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
