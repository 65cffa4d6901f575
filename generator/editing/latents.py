"""Seeds to W and W to pixels: what edits and morphs need beyond FaceModel.generate.

Only Figment's own generator (StyleGANFaceModel) exposes its mapping and synthesis here; for any
other FaceModel (an imported official StyleGAN2, a test double) `latent_model` answers None and
the bot says edits are not available with this generator.
"""
from __future__ import annotations

import threading
from typing import Protocol, Sequence

import torch
from PIL import Image

from generator.interface import check_request
from generator.model.sampling import autocast_for, seed_latents, to_pil


class Latents(Protocol):
    """What edits and morphs use: a LatentModel here, or a shared server's (RemoteLatents)."""

    @property
    def model_version(self) -> str: ...

    def w_of(self, seeds: Sequence[int], psi: float) -> torch.Tensor: ...

    def render(self, w: torch.Tensor) -> list[Image.Image]: ...


class LatentModel:
    """The W side of a trained Generator: w_of(seeds) then render(w) gives generate(seeds)."""

    def __init__(self, face_model: object) -> None:
        self.face_model = face_model
        self.G = face_model.G  # type: ignore[attr-defined]
        self.device = next(self.G.parameters()).device
        self.amp = bool(getattr(face_model, "amp", False))
        self.model_version: str = face_model.model_version  # type: ignore[attr-defined]
        self.resolution: int = face_model.resolution  # type: ignore[attr-defined]
        self.w_dim: int = self.G.cfg.w_dim
        # One model, several callers (bot threads, the service's worker): torch modules are not
        # documented as safe for concurrent forward passes on one device, so take turns.
        self.lock = threading.Lock()

    def w_of(self, seeds: Sequence[int], psi: float | Sequence[float]) -> torch.Tensor:
        """Truncated w (N x w_dim, fp32, CPU) of seeds, exactly as generate() makes them."""
        seeds, psis = check_request(seeds, psi)
        z = seed_latents(seeds, self.G.cfg.z_dim).to(self.device)
        with self.lock, torch.inference_mode():
            w = self.G.mapping(z, torch.tensor(psis, dtype=torch.float32, device=self.device))
        return w.float().cpu()

    def render(self, w: torch.Tensor, chunk: int = 8) -> list[Image.Image]:
        """Faces of w (N x w_dim) with the fixed noise of inference."""
        out = []
        for start in range(0, len(w), chunk):
            part = w[start:start + chunk].to(self.device)
            with self.lock, torch.inference_mode(), autocast_for(self.device, self.amp):
                img = self.G.synthesis(part, noise_mode="const")
            out.append((img.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu())
        return to_pil(torch.cat(out)) if out else []


def latent_model(face_model: object) -> LatentModel | None:
    """A LatentModel over face_model, or None when it has no Figment mapping and synthesis."""
    G = getattr(face_model, "G", None)
    if G is None or not hasattr(G, "mapping") or not hasattr(G, "synthesis") or not hasattr(G, "cfg"):
        return None
    return LatentModel(face_model)
