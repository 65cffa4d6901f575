"""`figment critic train`: make the realness critic for a generator, on the CPU.

Real faces: the archive's training split only (held-out faces stay for evaluation). Generated
faces: the generator's own, at the archive's side (the quiz's detail level: our generator's native
128 px; a larger imported generator is brought down to it), at truncations spread
over 0.4..1.0 so one critic serves every psi, from a seed range no evaluation uses. A tenth of
each side is kept back to report the critic's accuracy on faces it did not train on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from generator.training.archive import TRAIN, load_archive
from generator.curation.critic import DEFAULT_CRITIC, CriticNet, save_critic, to_input
from generator.loading import load_face_model

CRITIC_SEED_BASE = 3_000_000_000  # candidate and evaluation seeds stay far below this


@dataclass
class CriticOptions:
    data: Path  # the training archive (file or folder of shards)
    weights: Path | None = None
    out: Path = DEFAULT_CRITIC
    n: int = 4000  # real faces, and as many generated ones
    epochs: int = 8
    batch: int = 64
    lr: float = 1e-3
    psi_low: float = 0.4
    psi_high: float = 1.0
    seed: int = 0
    threads: int = 2


def generate_fakes(model: Any, n: int, psi_low: float, psi_high: float, seed: int,
                   echo: Callable[[str], None], side: int | None = None) -> np.ndarray:
    """n faces of the model at `side` px (default its own resolution). A larger generator (an imported
    256 or 1024 px StyleGAN2) is brought down to the real faces' side with Lanczos, the resampler of
    the quiz pipeline, so the critic learns the faces as the quiz shows them and memory stays small."""
    rng = np.random.default_rng(seed)
    psis = rng.uniform(psi_low, psi_high, n).round(3)
    seeds = CRITIC_SEED_BASE + seed * 1_000_000 + np.arange(n)
    side = side or model.resolution
    images = np.empty((n, side, side, 3), np.uint8)
    for start in range(0, n, 32):
        end = min(start + 32, n)
        made = model.generate([int(s) for s in seeds[start:end]], [float(p) for p in psis[start:end]])
        images[start:end] = np.stack([np.asarray(_at_side(image, side)) for image in made])
        if end % 512 < 32:
            echo(f"    {end}/{n} generated")
    return images


def _at_side(image: Image.Image, side: int) -> Image.Image:
    image = image.convert("RGB")
    return image if image.size == (side, side) else image.resize((side, side), Image.Resampling.LANCZOS)


def train_net(real: np.ndarray, fake: np.ndarray, epochs: int, batch: int, lr: float, seed: int,
              echo: Callable[[str], None] = print) -> tuple[CriticNet, float]:
    """Train on 90% of each side; return the net and its accuracy on the other 10%."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.cat([to_input(real), to_input(fake)])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    order = torch.randperm(len(x), generator=generator)
    cut = len(x) // 10
    x_val, y_val, x_train, y_train = x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]
    net = CriticNet()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * -(-len(x_train) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(x_train), batch):
            index = perm[start:start + batch]
            xb = x_train[index]
            flip = torch.rand(len(xb), generator=generator) < 0.5  # a mirrored face is as real
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.binary_cross_entropy_with_logits(net(xb), y_train[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
        echo(f"    epoch {epoch + 1}/{epochs}: loss {total / len(x_train):.4f}, "
             f"held-back accuracy {_accuracy(net, x_val, y_val):.4f}")
    return net.eval(), _accuracy(net, x_val, y_val)


def _accuracy(net: CriticNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        return float(((net(x) > 0).float() == y).float().mean())


def train_critic(opts: CriticOptions, echo: Callable[[str], None] = print) -> dict[str, Any]:
    torch.set_num_threads(opts.threads)
    started = time.monotonic()
    model = load_face_model(opts.weights, "cpu")
    echo(f"loading {opts.n} real training faces from {opts.data}")
    real = load_archive(opts.data, TRAIN).images
    pick = np.random.default_rng(opts.seed).permutation(len(real))[:opts.n]
    real = real[np.sort(pick)]
    side = real.shape[1]
    if model.resolution < side:
        raise ValueError(f"real faces are {side} px, generated ones {model.resolution} px: use an archive "
                         f"of at most {model.resolution} px")
    echo(f"generating {opts.n} faces at psi {opts.psi_low}..{opts.psi_high} with {model.model_version}"
         + (f", brought to {side} px" if model.resolution != side else ""))
    fake = generate_fakes(model, opts.n, opts.psi_low, opts.psi_high, opts.seed, echo, side)
    echo("training the critic")
    net, accuracy = train_net(real, fake, opts.epochs, opts.batch, opts.lr, opts.seed, echo)
    info = {"model_version": model.model_version, "real_train_faces": len(real), "generated_faces": len(fake),
            "psi_range": [opts.psi_low, opts.psi_high], "epochs": opts.epochs,
            "heldback_accuracy": round(accuracy, 4), "seconds": round(time.monotonic() - started, 1),
            "data": Path(opts.data).name}
    save_critic(opts.out, net, info)
    echo(f"critic written to {opts.out}: held-back accuracy {accuracy:.4f}, {info['seconds']} s")
    return info
