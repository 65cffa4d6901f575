"""The StyleGAN2 generator of NVlabs/stylegan2-ada-pytorch ("config F" with the skip ToRGB
architecture), written for Figment so that official weights give the official images.

z -> normalise -> fully connected layers (learning-rate multiplier, leaky ReLU) -> w; truncation
moves w toward the tracked average w_avg. The synthesis network starts from a learned 4x4 constant;
each resolution has an upsampling modulated convolution and a plain one (weights scaled per sample by
the style, then demodulated), const per-layer noise times a learned strength, biased leaky ReLU with
gain sqrt(2) and an optional clamp, and a ToRGB layer whose output is added to the FIR-upsampled image
of the previous resolution.

Every step follows the official order of operations so fp32 images agree within one level of 255.
The layer names are Figment's own; `pickle_import` and `rosinality` map other names onto them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from generator.stylegan2.ops import bias_lrelu, fir_filter, upfirdn, upsample2x


@dataclass(frozen=True)
class SG2Config:
    """What the official Generator's init_kwargs say, in the names Figment stores them by."""

    resolution: int
    z_dim: int = 512
    w_dim: int = 512
    c_dim: int = 0
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = None
    num_fp16_res: int = 0  # official mixed precision; Figment computes in fp32 and keeps it for the record

    def __post_init__(self) -> None:
        if self.resolution < 4 or self.resolution & (self.resolution - 1) or self.resolution > 4096:
            raise ValueError(f"resolution must be a power of two from 4 to 4096, not {self.resolution}")
        for name in ("z_dim", "w_dim", "img_channels", "mapping_layers", "channel_base", "channel_max"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive")
        if self.c_dim < 0:
            raise ValueError("c_dim must not be negative")

    @property
    def block_resolutions(self) -> list[int]:
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SG2Config":
        return cls(**data)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class Dense(nn.Module):
    """Fully connected layer with equalised learning rate: weights stored unscaled, scaled at use."""

    def __init__(self, n_in: int, n_out: int, lr: float = 1.0, bias_init: float = 0.0, act: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / lr)
        self.bias = nn.Parameter(torch.full([n_out], float(bias_init)))
        self.weight_gain = lr / math.sqrt(n_in)
        self.bias_gain = lr
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain if self.bias_gain != 1 else self.bias
        if not self.act:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_lrelu(x.matmul(w.t()), b)


class Mapping(nn.Module):
    def __init__(self, cfg: SG2Config) -> None:
        super().__init__()
        self.cfg = cfg
        embed = cfg.w_dim if cfg.c_dim else 0
        if cfg.c_dim:
            self.embed = Dense(cfg.c_dim, embed)
        sizes = [cfg.z_dim + embed] + [cfg.w_dim] * cfg.mapping_layers
        self.layers = nn.ModuleList(Dense(sizes[i], sizes[i + 1], lr=cfg.mapping_lr, act=True)
                                    for i in range(cfg.mapping_layers))
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None, psi: torch.Tensor) -> torch.Tensor:
        """z (N x z_dim), labels c (N x c_dim or None), psi (N) -> w (N x w_dim), truncated."""
        x = pixel_norm(z.to(torch.float32))
        if self.cfg.c_dim:
            if c is None:
                raise ValueError("this generator is conditional: give a label")
            y = pixel_norm(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1)
        for layer in self.layers:
            x = layer(x)
        if bool((psi != 1).any()):  # psi 1 leaves w untouched, as the official code does
            x = torch.lerp(self.w_avg.unsqueeze(0), x, psi.to(x.dtype).unsqueeze(1))
        return x


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                   up: bool = False, f: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample weights (weight x style, demodulated) applied as one grouped convolution.

    Upsampling: a stride-2 transposed convolution, then the FIR filter (gain 4)."""
    n, c_in, h, w_ = x.shape
    c_out, _, k, _ = weight.shape
    wts = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)  # N x O x I x k x k
    if demodulate:
        wts = wts * (wts.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, n * c_in, h, w_)
    if not up:
        x = F.conv2d(x, wts.reshape(n * c_out, c_in, k, k), padding=k // 2, groups=n)
        return x.reshape(n, c_out, *x.shape[2:])
    assert f is not None
    wts = wts.transpose(1, 2).reshape(n * c_in, c_out, k, k)
    x = F.conv_transpose2d(x, wts, stride=2, groups=n)
    x = x.reshape(n, c_out, *x.shape[2:])
    # the official padding for a 2x upsampling k x k conv with an fw-tap filter, after the transposed conv
    fw = f.shape[-1]
    p0 = k // 2 + (fw + 1) // 2 - (k - 1)
    p1 = k // 2 + (fw - 2) // 2 - (k - 2)
    return upfirdn(x, f, pad=(p0, p1, p0, p1), gain=4.0)


class StyledConv(nn.Module):
    """Modulated 3x3 convolution (optionally upsampling), const noise, biased leaky ReLU, clamp."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, res: int, up: bool, clamp: float | None) -> None:
        super().__init__()
        self.style = Dense(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("noise_const", torch.randn(res, res))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.up = up
        self.clamp = clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        x = modulated_conv(x, self.weight, self.style(w), up=self.up, f=f)
        x = x.add_(self.noise_const * self.noise_strength)
        return bias_lrelu(x, self.bias, self.clamp)


class ToRGB(nn.Module):
    def __init__(self, c_in: int, channels: int, w_dim: int, clamp: float | None) -> None:
        super().__init__()
        self.style = Dense(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(channels, c_in, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.gain = 1 / math.sqrt(c_in)
        self.clamp = clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = modulated_conv(x, self.weight, self.style(w) * self.gain, demodulate=False)
        return bias_lrelu(x, self.bias, self.clamp, linear=True)


class Block(nn.Module):
    """One resolution: (the 4x4 constant | an upsampling conv), a conv, and ToRGB."""

    def __init__(self, cfg: SG2Config, res: int) -> None:
        super().__init__()
        c_out = cfg.channels(res)
        if res == 4:
            self.const = nn.Parameter(torch.randn(c_out, 4, 4))
        else:
            self.up_conv = StyledConv(cfg.channels(res // 2), c_out, cfg.w_dim, res, True, cfg.conv_clamp)
        self.conv = StyledConv(c_out, c_out, cfg.w_dim, res, False, cfg.conv_clamp)
        self.to_rgb = ToRGB(c_out, cfg.img_channels, cfg.w_dim, cfg.conv_clamp)
        self.res = res

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, w: torch.Tensor,
                f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x is None:
            x = self.const.unsqueeze(0).repeat(w.shape[0], 1, 1, 1)
        else:
            x = self.up_conv(x, w, f)
        x = self.conv(x, w, f)
        y = self.to_rgb(x, w)
        img = y if img is None else upsample2x(img, f).add_(y)
        return x, img


class Synthesis(nn.Module):
    def __init__(self, cfg: SG2Config) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(cfg, res) for res in cfg.block_resolutions)
        self.register_buffer("fir", fir_filter(), persistent=False)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        x = img = None
        for block in self.blocks:
            x, img = block(x, img, w, self.fir)
        return img


class StyleGAN2(nn.Module):
    """G(z, psi) -> images in [-1, 1] (roughly), N x C x H x W, fp32."""

    def __init__(self, cfg: SG2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.mapping = Mapping(cfg)
        self.synthesis = Synthesis(cfg)

    def forward(self, z: torch.Tensor, psi: torch.Tensor | float = 1.0,
                c: torch.Tensor | None = None) -> torch.Tensor:
        psi = torch.as_tensor(psi, dtype=torch.float32, device=z.device).expand(z.shape[0])
        return self.synthesis(self.mapping(z, c, psi))
