"""The generator and discriminator: a lean StyleGAN2 pair (mapping network, modulated convolutions,
noise inputs, skip toRGB outputs; residual discriminator with minibatch standard deviation).

Widths follow channel_base / resolution, capped at channel_max: the lean default (8192, 256) has
256 channels up to 32 px, 128 at 64 px and 64 at 128 px, which keeps the fp16 generator near
11 MB and a training step cheap enough for millions of images in minutes on one GPU.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from generator.model.layers import NOISE_MODES, EqualConv2d, EqualLinear, StyledConv, ToRGB, minibatch_std

RESOLUTIONS = (16, 32, 64, 128, 256)
RESAMPLE = ("classic", "fast")


@dataclass(frozen=True)
class ModelConfig:
    resolution: int = 128
    z_dim: int = 256
    w_dim: int = 256
    mapping_layers: int = 4
    channel_base: int = 8192
    channel_max: int = 256
    # How G doubles and D halves the resolution. "classic": bilinear upsampling then a 3x3
    # convolution (G), average pooling then a convolution (D). "fast": a 4x4 stride-2 transposed
    # convolution (G) and stride-2 convolutions (D): on the H200 the bilinear and pooling kernels
    # took about 30% of the step, and the transposed convolution also has 4x fewer FLOPs.
    resample: str = "classic"

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {RESOLUTIONS}, not {self.resolution}")
        if self.resample not in RESAMPLE:
            raise ValueError(f"resample must be one of {RESAMPLE}, not {self.resample!r}")

    def channels(self, res: int) -> int:
        return max(1, min(self.channel_max, self.channel_base // res))

    @property
    def block_resolutions(self) -> list[int]:
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Files written before a field existed get its default (the behaviour they were trained with)."""
        values = {}
        for key, value in data.items():
            if key in cls.__dataclass_fields__:
                values[key] = str(value) if key == "resample" else int(value)
        return cls(**values)


PRESETS = {
    "lean": {},
    # A few thousand parameters: for tests and CPU smoke runs only.
    "tiny": {"z_dim": 32, "w_dim": 32, "mapping_layers": 2, "channel_base": 256, "channel_max": 32},
}


def preset(name: str, resolution: int) -> ModelConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose from {', '.join(PRESETS)}")
    return ModelConfig(resolution=resolution, **PRESETS[name])


class MappingNetwork(nn.Module):
    def __init__(self, cfg: ModelConfig, lr_mult: float = 0.01, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        dims = [cfg.z_dim] + [cfg.w_dim] * cfg.mapping_layers
        self.layers = nn.Sequential(*(EqualLinear(a, b, lr_mult=lr_mult, activate=True)
                                      for a, b in zip(dims[:-1], dims[1:])))
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        self.w_avg_beta = w_avg_beta

    def forward(self, z: torch.Tensor, psi: torch.Tensor | None = None, update_w_avg: bool = False) -> torch.Tensor:
        # Always fp32: tiny, and the truncation centre must be precise.
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            x = self.layers(z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt())
            if update_w_avg:
                self.w_avg.copy_(x.detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
            if psi is not None:  # truncation: pull w towards the average face
                x = self.w_avg.lerp(x, psi.reshape(-1, 1).to(x.dtype))
        return x


class SynthesisBlock(nn.Module):
    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, fast: bool = False) -> None:
        super().__init__()
        self.first = resolution == 4
        if self.first:
            self.const = nn.Parameter(torch.randn(1, cout, 4, 4))
        else:
            self.conv0 = StyledConv(cin, cout, w_dim, resolution, up="transpose" if fast else "bilinear")
        self.conv1 = StyledConv(cout, cout, w_dim, resolution)
        self.torgb = ToRGB(cout, w_dim)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, w: torch.Tensor,
                noise_mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        if self.first:
            # Follow the model's memory format (channels_last after .to(memory_format=...)).
            fmt = torch.channels_last if self.const.is_contiguous(memory_format=torch.channels_last) \
                else torch.contiguous_format
            x = self.const.expand(w.shape[0], -1, -1, -1).contiguous(memory_format=fmt)
        else:
            x = self.conv0(x, w, noise_mode)
        x = self.conv1(x, w, noise_mode)
        rgb = self.torgb(x, w).float()  # the 3-channel image accumulates in fp32: cheap, and no banding
        if img is not None:
            rgb = rgb + F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
        return x, rgb


class SynthesisNetwork(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for res in cfg.block_resolutions:
            cin = cfg.channels(res // 2) if res > 4 else 0
            self.blocks.append(SynthesisBlock(cin, cfg.channels(res), cfg.w_dim, res, fast=cfg.resample == "fast"))

    def forward(self, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}")
        x = img = None
        for block in self.blocks:
            x, img = block(x, img, w, noise_mode)
        return img


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mapping = MappingNetwork(cfg)
        self.synthesis = SynthesisNetwork(cfg)

    def forward(self, z: torch.Tensor, psi: torch.Tensor | None = None, noise_mode: str = "random",
                update_w_avg: bool = False) -> torch.Tensor:
        return self.synthesis(self.mapping(z, psi, update_w_avg), noise_mode)


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convolutions (the second at half resolution) plus a 1x1 skip."""

    def __init__(self, cin: int, cout: int, fast: bool = False) -> None:
        super().__init__()
        self.fast = fast
        self.conv0 = EqualConv2d(cin, cin, 3)
        if fast:  # stride-2 convolutions: no separate pooling kernels
            self.conv1 = EqualConv2d(cin, cout, 3, stride=2)
            self.skip = EqualConv2d(cin, cout, 2, bias=False, activate=False, stride=2)
        else:
            self.conv1 = EqualConv2d(cin, cout, 3)
            self.skip = EqualConv2d(cin, cout, 1, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast:
            return (self.conv1(self.conv0(x)) + self.skip(x)) * math.sqrt(0.5)
        skip = self.skip(F.avg_pool2d(x, 2))
        x = self.conv1(F.avg_pool2d(self.conv0(x), 2))
        return (x + skip) * math.sqrt(0.5)


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        top = cfg.resolution
        self.fromrgb = EqualConv2d(3, cfg.channels(top), 1)
        self.blocks = nn.Sequential(*(DiscriminatorBlock(cfg.channels(res), cfg.channels(res // 2),
                                                         fast=cfg.resample == "fast")
                                      for res in cfg.block_resolutions[::-1][:-1]))
        c = cfg.channels(4)
        self.conv = EqualConv2d(c + 1, c, 3)
        self.fc = EqualLinear(c * 16, c, activate=True)
        self.out = EqualLinear(c, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.fromrgb(img))
        x = self.conv(minibatch_std(x))
        return self.out(self.fc(x.flatten(1))).flatten().float()
