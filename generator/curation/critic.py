"""The realness critic: a small CNN that scores how real a 128 px face looks (a logit; higher: more real).

The shipped generator's discriminator was not kept, so the critic is a classifier of its own,
trained on the CPU (`figment critic train`, generator/curation/critic_training.py) on real training faces
against generated faces. It ships next to the weights as fp16 safetensors
(`generator/weights/critic.safetensors`, about 1 MB) and is made again for new weights.

Images go in as uint8 N x H x W x 3 at the quiz's detail level (128 px); the network looks at
them at 64 px after an area downsample, which keeps it small and quick (under 0.5 ms a face, batched).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

CRITIC_FORMAT = "figment-critic-v1"
CRITIC_NAME = "critic.safetensors"
DEFAULT_CRITIC = Path(__file__).resolve().parents[1] / "weights" / CRITIC_NAME
INPUT_SIDE = 64


class CriticError(ValueError):
    """The critic file cannot be used; the message names the file and why."""


class CriticNet(nn.Module):
    """Five stride-2 convolutions (64 -> 2 px), average pool, one logit. About 0.5M parameters."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 128, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in widths:
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)
        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3))).flatten()


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x 3 -> float N x 3 x 64 x 64 in [-1, 1] (area downsample)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return F.interpolate(x, size=(INPUT_SIDE, INPUT_SIDE), mode="area") if x.shape[-1] != INPUT_SIDE else x


class Critic:
    """A trained CriticNet and what it was trained for (the generator's model version)."""

    def __init__(self, net: CriticNet, info: dict[str, Any]) -> None:
        self.net = net.eval().requires_grad_(False)
        self.info = info

    @property
    def model_version(self) -> str:
        return str(self.info.get("model_version", "unknown"))

    def score(self, images: np.ndarray, chunk: int = 64) -> np.ndarray:
        """Realness logits, one per image (float32). Deterministic: same pixels, same score."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError("the critic scores uint8 images N x H x W x 3")
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), chunk):
                out.append(self.net(to_input(images[start:start + chunk])).float().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def save_critic(path: Path, net: CriticNet, info: dict[str, Any]) -> None:
    """fp16 safetensors with the widths and training facts in the metadata; written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in net.state_dict().items()}
    metadata = {"format": CRITIC_FORMAT, "widths": json.dumps(list(net.widths)), "info": json.dumps(info)}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_critic(path: Path | None = None) -> Critic:
    """The critic from `path` (default the shipped one). Missing, corrupt or foreign: CriticError."""
    path = Path(path) if path is not None else DEFAULT_CRITIC
    if not path.is_file():
        raise CriticError(f"critic file not found: {path} (make one with `figment critic train`)")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CriticError(f"critic file is corrupt or not safetensors: {path} ({error})") from error
    if metadata.get("format") != CRITIC_FORMAT:
        raise CriticError(f"not a Figment critic file: {path}")
    try:
        net = CriticNet(tuple(json.loads(metadata["widths"])))
        net.load_state_dict({k: v.float() for k, v in tensors.items()})
        info = json.loads(metadata.get("info", "{}"))
    except (KeyError, ValueError, RuntimeError) as error:
        raise CriticError(f"critic file does not match the critic network: {path} ({error})") from error
    return Critic(net, info)
