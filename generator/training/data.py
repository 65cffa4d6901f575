"""Batches of real faces for training.

DeviceFaces keeps the whole training split on the device as uint8 (20k faces at 128 px are under
1 GB) and draws batches, x-flips and converts there: no Python data loading, no host sync.
HostFaces is the classic host-side loader, kept as the "before" of the throughput benchmark.
"""
from __future__ import annotations

import numpy as np
import torch


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the generator's output range."""
    return images.float() / 127.5 - 1.0


class DeviceFaces:
    def __init__(self, images: np.ndarray, device: torch.device, xflip: bool = True,
                 channels_last: bool = True) -> None:
        if len(images) == 0:
            raise ValueError("the training archive has no training images")
        # N x H x W x 3 seen as N x 3 x H x W is already channels_last in memory.
        tensor = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2)
        self.images = tensor if channels_last else tensor.contiguous()
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.xflip = xflip
        self.device = device

    def __len__(self) -> int:
        return self.images.shape[0]

    def sample(self, batch: int) -> torch.Tensor:
        index = torch.randint(len(self), (batch,), device=self.device)
        x = to_float(self.images[index])
        if self.xflip:
            flip = torch.rand(batch, 1, 1, 1, device=self.device) < 0.5
            x = torch.where(flip, x.flip(3), x)
        return x.contiguous(memory_format=self.memory_format)


class HostFaces:
    def __init__(self, images: np.ndarray, device: torch.device, xflip: bool = True, seed: int = 0) -> None:
        self.images = images
        self.device = device
        self.xflip = xflip
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch: int) -> torch.Tensor:
        rows = []
        for index in self.rng.integers(len(self), size=batch):
            image = self.images[index]
            rows.append(image[:, ::-1] if self.xflip and self.rng.random() < 0.5 else image)
        x = torch.from_numpy(np.stack(rows)).to(self.device).permute(0, 3, 1, 2).contiguous()
        return to_float(x)
