"""Building blocks of the StyleGAN2-style networks.

Equalized learning rate everywhere: weights are stored N(0, 1) and scaled at run time by
1/sqrt(fan_in), so Adam sees every layer at the same scale. The modulated convolution is the
"non-fused" form (scale the activations by the style, run one ordinary batched convolution, scale
the output by the demodulation factor): the same maths as a per-sample grouped convolution, and
much faster on a GPU because cuDNN gets one big convolution with shared weights.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)
NOISE_MODES = ("random", "const", "none")


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with StyleGAN's gain sqrt(2), which keeps activations at unit variance."""
    return F.leaky_relu(x, 0.2) * SQRT2


class EqualLinear(nn.Module):
    def __init__(self, cin: int, cout: int, bias_init: float = 0.0, lr_mult: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mult)
        self.bias = nn.Parameter(torch.full([cout], float(bias_init) / lr_mult))
        self.weight_gain = lr_mult / math.sqrt(cin)
        self.lr_mult = lr_mult
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mult)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    """A plain convolution (discriminator), with optional bias and activation."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True, activate: bool = True,
                 stride: int = 1) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(cin * kernel * kernel)
        self.activate = activate
        self.stride = stride
        self.padding = (kernel - 1) // 2  # 3x3: 1 (same size, or half with stride 2); 2x2 and 1x1: 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, stride=self.stride, padding=self.padding)
        return lrelu(x) if self.activate else x


class StyledConv(nn.Module):
    """Modulated convolution with demodulation, per-pixel noise, bias and activation.

    up: None (3x3 at the same size), "bilinear" (bilinear 2x upsampling, then 3x3) or "transpose"
    (one 4x4 stride-2 transposed convolution: every output pixel gets 4 of the 16 taps, so the
    demodulation, computed over the whole kernel, is doubled to keep unit variance)."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, up: str | None = None) -> None:
        super().__init__()
        if up not in (None, "bilinear", "transpose"):
            raise ValueError(f"unknown upsampling {up!r}")
        kernel = 4 if up == "transpose" else 3
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        # Fixed noise for inference: same seed -> same face, and psi=0 -> one average face.
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.weight_gain = 1.0 / math.sqrt(cin * kernel * kernel)
        self.up = up
        self.resolution = resolution

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if self.up == "bilinear":
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        styles = self.affine(w)  # B x cin
        weight = self.weight * self.weight_gain
        x = x * styles[:, :, None, None].to(x.dtype)
        if self.up == "transpose":
            x = F.conv_transpose2d(x, weight.transpose(0, 1).to(x.dtype), stride=2, padding=1)
        else:
            x = F.conv2d(x, weight.to(x.dtype), padding=1)
        # Demodulation: 1/|w * s| per output channel, computed from the weights and styles alone.
        demod = torch.rsqrt(styles.square() @ weight.square().sum([2, 3]).t() + 1e-8)  # B x cout
        if self.up == "transpose":
            demod = demod * 2.0
        x = x * demod[:, :, None, None].to(x.dtype)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength.to(x.dtype)
        elif noise_mode == "const":
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        return lrelu(x + self.bias[None, :, None, None].to(x.dtype))


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to RGB, no demodulation, no activation."""

    def __init__(self, cin: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(3, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(3))
        self.weight_gain = 1.0 / math.sqrt(cin)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = x * styles[:, :, None, None].to(x.dtype)
        x = F.conv2d(x, self.weight.to(x.dtype))
        return x + self.bias[None, :, None, None].to(x.dtype)


def minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one channel: the mean standard deviation of features within groups of samples."""
    n, c, h, w = x.shape
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean([1, 2, 3])  # (n // g,)
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], 1)
