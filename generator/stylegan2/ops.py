"""Low-level operations of the official StyleGAN2 generator, computed with plain PyTorch ops in the
same order as the official reference (non-CUDA) paths, so fp32 results agree to rounding.

The resampling filter is the [1, 3, 3, 1] binomial FIR filter as a normalised 4x4 outer product.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # keeps the signal's magnitude through a leaky ReLU (He init reasoning)


def fir_filter(taps: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)) -> torch.Tensor:
    """The 2-D low-pass filter: outer product of the taps, normalised to sum 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn(x: torch.Tensor, f: torch.Tensor, up: int = 1, pad: tuple[int, int, int, int] = (0, 0, 0, 0),
            gain: float = 1.0) -> torch.Tensor:
    """Upsample by inserting zeros, pad (left, right, top, bottom), then filter each channel with f.

    Negative padding is not needed by the generator and not supported."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, list(pad))
    kernel = (f * gain).to(x.dtype).flip([0, 1])  # a true convolution: conv2d correlates
    kernel = kernel[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, kernel, groups=c)


def upsample2x(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Double the size of an image with the FIR filter (the skip path between ToRGB outputs)."""
    fw = f.shape[-1]
    lo, hi = (fw + 1) // 2, (fw - 2) // 2
    return upfirdn(x, f, up=2, pad=(lo, hi, lo, hi), gain=4.0)


def bias_lrelu(x: torch.Tensor, bias: torch.Tensor | None, clamp: float | None = None,
               linear: bool = False) -> torch.Tensor:
    """Add a per-channel bias, then (unless linear) leaky ReLU times sqrt(2), then clamp to +-clamp."""
    if bias is not None:
        x = x + bias.reshape([-1 if i == 1 else 1 for i in range(x.ndim)])
    if not linear:
        x = F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x
