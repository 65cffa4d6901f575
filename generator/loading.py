"""Load the trained generator as a FaceModel: what the bot, the service and the tools call.

`load_face_model()` reads the shipped weights (generator/weights/generator.safetensors) unless
given a file. A missing, corrupt or foreign file raises WeightsError, whose message names the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

from generator.model.checkpoint import WeightsFileError, load_generator
from generator.interface import GeneratorUnavailable, check_request
from generator.model.networks import Generator
from generator.model.sampling import autocast_for, seed_latents, synthesize, to_pil
from generator.precision import PrecisionReport, Setting, apply_precision

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "generator.safetensors"


class WeightsError(GeneratorUnavailable, ValueError):
    """The generator weights cannot be used; the message names the file and why."""


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GeneratorUnavailable("a CUDA device was asked for but this machine has none")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda")
    return torch.device(device)


class StyleGANFaceModel:
    """A FaceModel over a trained Generator: same (seed, psi) -> same face on any machine.

    Byte-identical for the same batch; a seed batched with other seeds may differ by one level of
    255 in a few pixels (convolution kernels round differently per batch size)."""

    def __init__(self, G: Generator, model_version: str, device: torch.device | str = "cpu",
                 info: dict | None = None) -> None:
        self.device = torch.device(device)
        self.model_version = model_version
        self.resolution = G.cfg.resolution
        self.info = info or {}
        # On a CPU, small chunks stay in cache: 16 faces took 84 ms each in one batch of 16, 59 in 4s.
        self.chunk = 64 if self.device.type == "cuda" else 4
        self.G = G.eval().requires_grad_(False).to(self.device)
        # fp32 with channels_last (what cuDNN and oneDNN convolutions prefer, measured faster at batch
        # 16 here) on a CPU, bf16 autocast on a GPU; generator/precision.py may switch a CPU to bf16.
        self.default_setting = self.setting = Setting(self.device.type == "cuda", True)
        self.apply_setting(self.setting)
        self.precision_report: PrecisionReport | None = None

    @property
    def amp(self) -> bool:
        return self.setting.bf16

    def apply_setting(self, setting: Setting) -> None:
        layout = torch.channels_last if setting.channels_last else torch.contiguous_format
        self.G = self.G.to(memory_format=layout)
        self.setting = setting

    def generate(self, seeds: Sequence[int], psi: float | Sequence[float]) -> list[Image.Image]:
        seeds, psis = check_request(seeds, psi)
        if not seeds:
            return []
        z = seed_latents(seeds, self.G.cfg.z_dim)
        with torch.inference_mode():
            images = synthesize(self.G, z, torch.tensor(psis, dtype=torch.float32), amp=self.amp, chunk=self.chunk)
        return to_pil(images)

    # Multi-modal truncation (generator/curation/centres.py) works in W: the untruncated w of a
    # seed, and the face of any w, by the same arithmetic as generate().
    def mapped(self, seeds: Sequence[int]) -> torch.Tensor:
        z = seed_latents(seeds, self.G.cfg.z_dim).to(self.device)
        with torch.inference_mode():
            return self.G.mapping(z, None).float().cpu()

    @property
    def w_avg(self) -> torch.Tensor:
        return self.G.mapping.w_avg.detach().float().cpu()

    def synthesize_w(self, w: torch.Tensor) -> list[Image.Image]:
        out = []
        with torch.inference_mode():
            for start in range(0, len(w), self.chunk):
                with autocast_for(self.device, self.amp):
                    img = self.G.synthesis(w[start:start + self.chunk].to(self.device), noise_mode="const")
                img = (img.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
                out.append(img.permute(0, 2, 3, 1).cpu())
        return to_pil(torch.cat(out)) if out else []


def load_face_model(weights: Path | None = None, device: str = "auto", precision: str | None = None):
    """The generator at `weights` (default the shipped file). precision: None (the tools' default: the
    model's own setting, fp32 on a CPU, reproducible everywhere), "fp32", "bf16", or "auto" (what the
    bot runs: measured here, generator/precision.py); the model keeps why in `precision_report`."""
    model = _load(weights, device)
    if precision is not None:
        model.precision_report = apply_precision(model, precision)
    return model


def _load(weights: Path | None, device: str):
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    imported = _load_imported(path, device)  # an official StyleGAN2 brought in by `figment weights import`
    if imported is not None:
        return imported
    try:
        G, version, info = load_generator(path)
    except WeightsFileError as error:
        hint = " (no trained weights are shipped yet: train with `figment train` and pass --weights)" \
            if weights is None and not path.exists() else ""
        raise WeightsError(f"{error}{hint}") from error
    return StyleGANFaceModel(G, version, pick_device(device), info)


def _load_imported(path: Path, device: str):
    """An ImportedFaceModel if `path` (or `path`/generator.safetensors) is an imported official
    generator; None for anything else, which the Figment loader then reads (and reports on)."""
    from generator.stylegan2 import store

    if path.is_dir() and (path / store.WEIGHTS_NAME).is_file():
        path = path / store.WEIGHTS_NAME
    if not path.is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != store.FORMAT:
                return None
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception:  # not safetensors at all: the Figment loader gives the clear error
        return None
    from generator.stylegan2.model import load_imported
    from generator.stylegan2.pickle_import import SnapshotError

    try:
        return load_imported(path, tensors, metadata, pick_device(device))
    except SnapshotError as error:
        raise WeightsError(str(error)) from error
