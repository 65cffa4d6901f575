"""rosinality/stylegan2-pytorch checkpoints (`.pt`, read with torch.load(weights_only=True)) mapped
onto Figment's StyleGAN2. Same maths as the official generator; only names and a few shapes differ.

Key mapping (`g_ema` state dict -> Figment), with n_mlp mapping layers and log2(size) - 1 blocks:
    style.{i+1}.weight / .bias               -> mapping.layers.{i}.weight / .bias   (style.0 is PixelNorm)
    input.input            [1, C, 4, 4]      -> synthesis.blocks.0.const [C, 4, 4]
    conv1.conv.weight      [1, O, I, 3, 3]   -> synthesis.blocks.0.conv.weight [O, I, 3, 3]
    conv1.conv.modulation.weight / .bias     -> synthesis.blocks.0.conv.style.weight / .bias
    conv1.noise.weight     [1]               -> synthesis.blocks.0.conv.noise_strength []
    conv1.activate.bias                      -> synthesis.blocks.0.conv.bias
    noises.noise_0         [1, 1, 4, 4]      -> synthesis.blocks.0.conv.noise_const [4, 4]
    to_rgb1.conv.weight    [1, 3, C, 1, 1]   -> synthesis.blocks.0.to_rgb.weight [3, C, 1, 1]
    to_rgb1.conv.modulation.*                -> synthesis.blocks.0.to_rgb.style.*
    to_rgb1.bias           [1, 3, 1, 1]      -> synthesis.blocks.0.to_rgb.bias [3]
    convs.{2k} / convs.{2k+1}                -> synthesis.blocks.{k+1}.up_conv / .conv (as conv1 above)
    noises.noise_{2k+1} / noises.noise_{2k+2} -> synthesis.blocks.{k+1}.up_conv / .conv .noise_const
    to_rgbs.{k}                              -> synthesis.blocks.{k+1}.to_rgb (as to_rgb1 above)
    latent_avg (top level, if present)       -> mapping.w_avg
rosinality's modulated convolution multiplies the weight by 1/sqrt(fan_in) before demodulating, which
demodulation cancels; its ToRGB scale equals the official style gain. A checkpoint without
`latent_avg` gets w_avg as the mean w of 10,000 z drawn from a fixed seed (what rosinality's
`mean_latent` estimates), and the model card says so.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import torch

from generator.stylegan2.networks import SG2Config, StyleGAN2
from generator.stylegan2.pickle_import import SnapshotError

W_AVG_SAMPLES = 10_000


def _layer_pairs(ros: str, ours: str) -> Iterator[tuple[str, str, str]]:
    yield f"{ros}.conv.weight", f"{ours}.weight", "squeeze0"
    yield f"{ros}.conv.modulation.weight", f"{ours}.style.weight", ""
    yield f"{ros}.conv.modulation.bias", f"{ours}.style.bias", ""


def name_pairs(cfg: SG2Config) -> Iterator[tuple[str, str, str]]:
    """(rosinality name, Figment name, reshape) for every generator tensor but w_avg."""
    for i in range(cfg.mapping_layers):
        yield f"style.{i + 1}.weight", f"mapping.layers.{i}.weight", ""
        yield f"style.{i + 1}.bias", f"mapping.layers.{i}.bias", ""
    yield "input.input", "synthesis.blocks.0.const", "squeeze0"
    convs = [("conv1", "synthesis.blocks.0.conv", "noises.noise_0")]
    rgbs = [("to_rgb1", "synthesis.blocks.0.to_rgb")]
    for k in range(len(cfg.block_resolutions) - 1):
        convs.append((f"convs.{2 * k}", f"synthesis.blocks.{k + 1}.up_conv", f"noises.noise_{2 * k + 1}"))
        convs.append((f"convs.{2 * k + 1}", f"synthesis.blocks.{k + 1}.conv", f"noises.noise_{2 * k + 2}"))
        rgbs.append((f"to_rgbs.{k}", f"synthesis.blocks.{k + 1}.to_rgb"))
    for ros, ours, noise in convs:
        yield from _layer_pairs(ros, ours)
        yield f"{ros}.noise.weight", f"{ours}.noise_strength", "scalar"
        yield f"{ros}.activate.bias", f"{ours}.bias", ""
        yield noise, f"{ours}.noise_const", "plane"
    for ros, ours in rgbs:
        yield from _layer_pairs(ros, ours)
        yield f"{ros}.bias", f"{ours}.bias", "flat"


def config_from_state(sd: dict[str, torch.Tensor]) -> SG2Config:
    try:
        n_mlp = max(int(m[1]) for key in sd if (m := re.fullmatch(r"style\.(\d+)\.weight", key)))
        w_dim, z_dim = sd["style.1.weight"].shape
        resolution = 4 * 2 ** sum(1 for key in sd if re.fullmatch(r"to_rgbs\.\d+\.bias", key))
        c4 = sd["input.input"].shape[1]
        channels = {4: c4}
        for k in range(1, resolution.bit_length() - 2):
            channels[4 * 2 ** k] = sd[f"convs.{2 * k - 1}.conv.weight"].shape[1]
        img_channels = sd["to_rgb1.conv.weight"].shape[1]
    except (KeyError, ValueError, AttributeError, IndexError) as error:
        raise SnapshotError(f"not a rosinality StyleGAN2 generator state dict ({error})") from None
    # rosinality's widths are 512 up to 32 px, then 16384 * channel_multiplier / res
    base = max((c * res for res, c in channels.items() if c < 512), default=32768)
    cfg = SG2Config(resolution=resolution, z_dim=int(z_dim), w_dim=int(w_dim), img_channels=int(img_channels),
                    mapping_layers=n_mlp, channel_base=int(base), channel_max=max(channels.values()))
    if any(cfg.channels(res) != c for res, c in channels.items()):
        raise SnapshotError(f"channel widths {channels} fit no channel_base / channel_max setting")
    return cfg


def _reshape(tensor: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "squeeze0":
        return tensor.squeeze(0)
    if kind == "scalar":
        return tensor.reshape([])
    if kind == "plane":
        return tensor.reshape(tensor.shape[-2:])
    if kind == "flat":
        return tensor.reshape(-1)
    return tensor


def import_checkpoint(ckpt: Any) -> tuple[SG2Config, dict[str, torch.Tensor], str]:
    """A torch.load'ed rosinality checkpoint -> (config, Figment state, note for the card)."""
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("g_ema"), dict):
        raise SnapshotError("not a rosinality checkpoint: no g_ema state dict in it")
    sd = {k: v for k, v in ckpt["g_ema"].items() if isinstance(v, torch.Tensor)}
    cfg = config_from_state(sd)
    state = {}
    for ros, ours, kind in name_pairs(cfg):
        if ros not in sd:
            raise SnapshotError(f"the checkpoint's g_ema lacks {ros}")
        state[ours] = _reshape(sd[ros], kind).to(torch.float32).contiguous()
    note = ""
    avg = ckpt.get("latent_avg")
    if isinstance(avg, torch.Tensor) and avg.numel() == cfg.w_dim:
        state["mapping.w_avg"] = avg.reshape(-1).to(torch.float32)
    else:
        state["mapping.w_avg"] = mean_w(cfg, state)
        note = (f"The checkpoint has no latent_avg: w_avg is the mean w of {W_AVG_SAMPLES:,} z drawn with "
                "torch seed 0.")
    return cfg, state, note


@torch.no_grad()
def mean_w(cfg: SG2Config, state: dict[str, torch.Tensor]) -> torch.Tensor:
    G = StyleGAN2(cfg)
    G.load_state_dict({**state, "mapping.w_avg": torch.zeros(cfg.w_dim)})
    z = torch.randn(W_AVG_SAMPLES, cfg.z_dim, generator=torch.Generator().manual_seed(0))
    return G.mapping(z, None, torch.ones(W_AVG_SAMPLES)).mean(dim=0)


def to_rosinality(cfg: SG2Config, state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Figment state -> a rosinality-style checkpoint (the inverse mapping; used to test it)."""
    g_ema = {}
    for ros, ours, kind in name_pairs(cfg):
        t = state[ours]
        if kind == "squeeze0":
            t = t.unsqueeze(0)
        elif kind == "scalar":
            t = t.reshape(1)
        elif kind == "plane":
            t = t.reshape(1, 1, *t.shape)
        elif kind == "flat":
            t = t.reshape(1, -1, 1, 1)
        g_ema[ros] = t.clone()
    return {"g_ema": g_ema, "latent_avg": state["mapping.w_avg"].clone()}
