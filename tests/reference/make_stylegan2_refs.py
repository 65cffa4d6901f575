"""Make the StyleGAN2 reference snapshots and images with the official code (run by hand, not in CI).

Needs a checkout of NVlabs/stylegan2-ada-pytorch outside this repository, e.g.
    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada
    PYTHONPATH=/tmp/sg2ada python tests/reference/make_stylegan2_refs.py /tmp/sg2ada-refs

It builds official generators with random weights (every parameter and buffer randomised, so noise
strengths, biases and w_avg all matter), saves each as a training snapshot pickle the way the official
training loop does (`pickle.dump` of a dict with G, D, G_ema, augment_pipe, training_set_kwargs), and
renders seeds 0-7 at psi 1.0 and 0.7 by the official generate.py convention:
z = RandomState(seed).randn(1, z_dim), noise_mode='const', img * 127.5 + 128 clamped to uint8.
Rendering uses force_fp32=True: the official code on a GPU runs the num_fp16_res highest blocks in
fp16; Figment computes in fp32, and fp32 is what the comparison promises.

Configs (narrow, so the pickles are small; the layer structure is the official one):
- sg2_64: 64 px, 8 mapping layers, z = w = 64, channel_base 512, channel_max 32, no fp16, no clamp,
  pickled with protocol 3 (as Python 3.7, which many released snapshots were made with).
- paper256: 256 px with the paper256 structure (8 mapping layers, num_fp16_res 4, conv_clamp 256,
  the paper256 channel curve 512,512,512,512,256,128,64 scaled by 1/16: channel_base 1024,
  channel_max 32), z = w = 64; pickled with protocol 4.
"""
from __future__ import annotations

import copy
import pickle
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import torch

import dnnlib  # noqa: F401  (the official checkout)
from training.augment import AugmentPipe
from training.networks import Discriminator, Generator

CONFIGS = {
    "sg2_64": dict(res=64, zw=64, map=8, channel_base=512, channel_max=32, fp16=0, clamp=None, protocol=3),
    "paper256": dict(res=256, zw=64, map=8, channel_base=1024, channel_max=32, fp16=4, clamp=256, protocol=4),
}


def randomise(G: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(G.named_parameters()) + list(G.named_buffers()):
            if name.endswith("resample_filter"):
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith("w_avg"):
                tensor.copy_(noise)
            elif name.startswith("mapping") and name.endswith("bias"):
                tensor.copy_(noise * 10)  # times bias_gain 0.01
            elif name.endswith("affine.bias"):
                tensor.copy_(1 + 0.2 * noise)
            elif name.endswith("noise_strength"):
                tensor.copy_(0.3 * noise)
            elif name.endswith("bias"):
                tensor.copy_(0.2 * noise)
            elif name.endswith(("noise_const", "const")):
                tensor.copy_(noise)
            elif name.endswith("weight"):
                tensor.copy_(tensor + 0.05 * noise * tensor.std())


def calibrate(G: torch.nn.Module) -> None:
    """Scale the ToRGB layers so 99% of the raw values of the reference images lie within +-0.8: the
    pixels then use the whole range without clipping, so the comparison sees real values."""
    G.eval()
    with torch.no_grad():
        raw = torch.cat([G(torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)), torch.zeros([1, G.c_dim]),
                           noise_mode="const", force_fp32=True).flatten() for seed in range(8)])
        scale = 0.8 / float(torch.quantile(raw.abs(), 0.99))
        for name, tensor in G.named_parameters():
            if name.endswith(("torgb.weight", "torgb.bias")):  # not the affine: that would scale twice
                tensor.mul_(scale)


def build(cfg: dict, seed: int) -> dict:
    torch.manual_seed(seed)
    common = dict(c_dim=0, img_resolution=cfg["res"], img_channels=3)
    G = Generator(z_dim=cfg["zw"], w_dim=cfg["zw"], **common,
                  mapping_kwargs=dnnlib.EasyDict(num_layers=cfg["map"]),
                  synthesis_kwargs=dnnlib.EasyDict(channel_base=cfg["channel_base"], channel_max=cfg["channel_max"],
                                                   num_fp16_res=cfg["fp16"], conv_clamp=cfg["clamp"]))
    randomise(G, seed)
    calibrate(G)
    D = Discriminator(**common, channel_base=cfg["channel_base"], channel_max=cfg["channel_max"],
                      num_fp16_res=cfg["fp16"], conv_clamp=cfg["clamp"])
    augment_pipe = AugmentPipe(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
                               brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1)
    snapshot = dict(training_set_kwargs=dict(class_name="training.dataset.ImageFolderDataset", path="none",
                                             resolution=cfg["res"], use_labels=False))
    for name, module in [("G", G), ("D", D), ("G_ema", copy.deepcopy(G)), ("augment_pipe", augment_pipe)]:
        snapshot[name] = copy.deepcopy(module).eval().requires_grad_(False).cpu()
    return snapshot


def render(G, seed: int, psi: float) -> np.ndarray:
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim))
    label = torch.zeros([1, G.c_dim])
    img = G(z, label, truncation_psi=psi, noise_mode="const", force_fp32=True)
    return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for index, (name, cfg) in enumerate(CONFIGS.items()):
        snapshot = build(cfg, seed=1000 + index)
        path = out / f"{name}-snapshot.pkl"
        with open(path, "wb") as handle:
            pickle.dump(snapshot, handle, protocol=cfg["protocol"])
        with open(path, "rb") as handle:  # render from the pickle, as generate.py does
            G = pickle.load(handle)["G_ema"]
        with torch.no_grad():
            for seed in range(8):
                for psi in (1.0, 0.7):
                    image = render(G, seed, psi)
                    PIL.Image.fromarray(image, "RGB").save(out / f"{name}-seed{seed}-psi{psi:.1f}.png")
        print(name, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
