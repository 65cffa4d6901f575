"""Serve an imported StyleGAN2 as a FaceModel: seed -> the face the official generate.py makes.

z = numpy RandomState(seed).randn(1, z_dim) (the official convention, so `/face SEED PSI` shows the
seed's official face), const noise, fp32 unless generator/precision.py measured bf16 autocast to be
both much faster here and within one level of 255 of fp32 on average (the promise across machines)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from generator.interface import check_request
from generator.model.sampling import autocast_for
from generator.precision import PrecisionReport, Setting
from generator.stylegan2 import store
from generator.stylegan2.networks import StyleGAN2


def official_latents(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    rows = [np.random.RandomState(int(seed)).randn(1, z_dim) for seed in seeds]
    return torch.from_numpy(np.concatenate(rows)) if rows else torch.empty(0, z_dim, dtype=torch.float64)


# Measured seconds per face, fp32 on 2 threads of a shared Intel Xeon (AMX) VM, random weights of
# the official config (python -m generator.stylegan2.bench; README "Serving official StyleGAN2 weights").
CPU_SECONDS_PER_FACE = {256: 1.9, 512: 6.8, 1024: 14.4}


def service_hints(resolution: int, device_type: str) -> dict[str, int]:
    """Generator service sizes that keep a CPU responsive for a large model: a /face request waits
    at most about one refill call (~2 s of CPU) and a batch of about 8 s; the ready pool holds a
    few minutes of CPU work at most. GPUs and small models keep the service's own defaults."""
    seconds = CPU_SECONDS_PER_FACE.get(resolution, 0.0) if resolution >= 256 else 0.0
    if device_type == "cuda" or not seconds:
        return {}
    return {"refill_batch": max(1, round(2 / seconds)), "max_batch": max(1, round(8 / seconds)),
            "pool_size": max(4, min(32, round(120 / seconds)))}


# A curated face costs K faces: on a CPU, K is kept so that one costs about this much at most.
CURATED_FACE_CPU_SECONDS = 4.0


def curate_k_cap(resolution: int, device_type: str) -> int | None:
    """The largest best-of-K a CPU affords for a large model (2 at 256 px, 1 from 512 px), or None
    where the quiz's default K costs little (GPUs, small models)."""
    seconds = CPU_SECONDS_PER_FACE.get(resolution, 0.0) if resolution >= 256 else 0.0
    if device_type == "cuda" or not seconds:
        return None
    return max(1, int(CURATED_FACE_CPU_SECONDS // seconds))


class ImportedFaceModel:
    def __init__(self, G: StyleGAN2, model_version: str, device: torch.device, info: dict) -> None:
        self.device = torch.device(device)
        self.G = G.eval().requires_grad_(False).to(self.device)
        self.model_version = model_version
        self.resolution = G.cfg.resolution
        self.info = info
        self.chunk = 16 if self.device.type == "cuda" else (4 if self.resolution <= 256 else 1)
        self.service_hints = service_hints(self.resolution, self.device.type)
        self.curate_k_cap = curate_k_cap(self.resolution, self.device.type)
        self.default_setting = self.setting = Setting(False, False)  # fp32, as the official code runs; precision.py may switch it
        self.precision_report: PrecisionReport | None = None

    def apply_setting(self, setting: Setting) -> None:
        layout = torch.channels_last if setting.channels_last else torch.contiguous_format
        self.G = self.G.to(memory_format=layout)
        self.setting = setting

    def generate(self, seeds: Sequence[int], psi: float | Sequence[float]) -> list[Image.Image]:
        seeds, psis = check_request(seeds, psi)
        z = official_latents(seeds, self.G.cfg.z_dim)
        images: list[Image.Image] = []
        with torch.inference_mode():
            for start in range(0, len(seeds), self.chunk):
                zc = z[start:start + self.chunk].to(self.device)
                pc = torch.tensor(psis[start:start + self.chunk], dtype=torch.float32, device=self.device)
                with autocast_for(self.device, self.setting.bf16):
                    img = self.G(zc, pc).float()
                img = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()
                images += [Image.fromarray(row if row.shape[2] == 3 else row[:, :, 0]) for row in img]
        return images

    def mapped(self, seeds: Sequence[int]) -> torch.Tensor:
        """Untruncated w per seed (multi-modal truncation works in W)."""
        z = official_latents(seeds, self.G.cfg.z_dim).to(self.device)
        ones = torch.ones(len(seeds), device=self.device)
        with torch.inference_mode():
            return self.G.mapping(z, None, ones).float().cpu()

    @property
    def cpu_seconds_per_face(self) -> float | None:
        """What one face costs on this machine's CPU: measured by precision.py for the setting it
        runs, else the table above; None on a GPU or for a small model (cheap)."""
        if self.device.type == "cuda" or self.resolution < 256:
            return None
        if self.precision_report is not None:
            for measured in self.precision_report.measurements:
                if measured.setting == self.setting:
                    return measured.seconds_per_face
        return CPU_SECONDS_PER_FACE.get(self.resolution)

    # ---- the W side, for edits and morphs (generator/editing/latents.py) ----
    @property
    def w_dim(self) -> int:
        return self.G.cfg.w_dim

    def w_of(self, seeds: Sequence[int], psi: float | Sequence[float]) -> torch.Tensor:
        """Truncated w (N x w_dim, fp32, CPU) of seeds: render(w_of(seeds, psi)) is generate(seeds, psi)."""
        seeds, psis = check_request(seeds, psi)
        z = official_latents(seeds, self.G.cfg.z_dim).to(self.device)
        with torch.inference_mode(), autocast_for(self.device, self.setting.bf16):  # as generate maps them
            return self.G.mapping(z, None, torch.tensor(psis, dtype=torch.float32, device=self.device)).float().cpu()

    def render(self, w: torch.Tensor) -> list[Image.Image]:
        return self.synthesize_w(w)

    @property
    def w_avg(self) -> torch.Tensor:
        return self.G.mapping.w_avg.detach().float().cpu()

    def synthesize_w(self, w: torch.Tensor) -> list[Image.Image]:
        images: list[Image.Image] = []
        with torch.inference_mode():
            for start in range(0, len(w), self.chunk):
                with autocast_for(self.device, self.setting.bf16):
                    img = self.G.synthesis(w[start:start + self.chunk].to(self.device)).float()
                img = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()
                images += [Image.fromarray(row if row.shape[2] == 3 else row[:, :, 0]) for row in img]
        return images


def load_imported(path: Path, tensors: dict, metadata: dict, device: torch.device) -> ImportedFaceModel:
    G, version, info = store.read(tensors, metadata, path)
    return ImportedFaceModel(G, version, device, info)
