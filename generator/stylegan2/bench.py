"""CPU (or GPU) cost per face of an official StyleGAN2 config at fp32, with random weights:
    python -m generator.stylegan2.bench --config paper256 --batch 4 --repeats 3 --threads 2
(the weights do not change the cost; an imported model of that config costs the same)."""
from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="paper256")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    G = StyleGAN2(CONFIGS[args.config]).eval()
    z = torch.randn(args.batch, 512)
    times = []
    with torch.inference_mode():
        G(z[:1], 0.7)  # warm-up
        for _ in range(args.repeats):
            start = time.perf_counter()
            G(z, 0.7)
            times.append((time.perf_counter() - start) / args.batch)
    print(json.dumps({"config": args.config, "batch": args.batch, "threads": torch.get_num_threads(),
                      "ms_per_face": round(1000 * statistics.median(times)), "cpu": platform.processor() or "?",
                      "parameters": sum(p.numel() for p in G.parameters())}))


if __name__ == "__main__":
    main()
