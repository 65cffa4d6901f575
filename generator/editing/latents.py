"""Seeds to W and W to pixels: what edits and morphs need beyond FaceModel.generate.

Figment's own generator (StyleGANFaceModel) gets its W side from LatentModel here; an imported
official StyleGAN2 (ImportedFaceModel) is its own (w_of, render). For any other FaceModel (a test
double) `latent_model` answers None and the bot says edits are not available with this generator.

On a CPU a large imported model makes a face in seconds (14 s at 1024 px), so a morph's dozens of
frames would hold the bot's CPU for minutes: `render_seconds` estimates the cost first and the bot
refuses what is over RENDER_BUDGET_SECONDS.
"""
from __future__ import annotations

import threading
from typing import Protocol, Sequence

import torch
from PIL import Image

from generator.interface import TooCostly, check_request
from generator.model.sampling import autocast_for, seed_latents, to_pil


class Latents(Protocol):
    """What edits and morphs use: a LatentModel here, or a shared server's (RemoteLatents)."""

    @property
    def model_version(self) -> str: ...

    def w_of(self, seeds: Sequence[int], psi: float) -> torch.Tensor: ...

    def render(self, w: torch.Tensor) -> list[Image.Image]: ...


class LocalLatents(Latents, Protocol):
    """Latents of a model held in this process, which knows the width of its w."""

    @property
    def w_dim(self) -> int: ...


# Seconds of CPU an edit or morph may cost (Figment's own model: a 36-frame morph takes about 7 s).
RENDER_BUDGET_SECONDS = 30.0


def render_seconds(latents: object, faces: int) -> float | None:
    """Estimated seconds to render `faces` faces with these latents; None where a face is cheap
    (Figment's own model, a GPU) or the cost is not known here (a shared server's: it checks)."""
    per_face = getattr(latents, "cpu_seconds_per_face", None)
    return per_face * faces if per_face else None


def check_render_cost(latents: object, faces: int) -> None:
    """TooCostly where rendering `faces` faces would take more than RENDER_BUDGET_SECONDS."""
    seconds = render_seconds(latents, faces)
    if seconds is not None and seconds > RENDER_BUDGET_SECONDS:
        raise TooCostly(seconds)


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


def latent_model(face_model: object) -> LocalLatents | None:
    """The W side of face_model: itself where it has one (an imported StyleGAN2), a LatentModel
    over Figment's mapping and synthesis, or None when it has neither."""
    if all(callable(getattr(face_model, name, None)) for name in ("w_of", "render")):
        return face_model  # type: ignore[return-value]
    G = getattr(face_model, "G", None)
    if G is None or not hasattr(G, "mapping") or not hasattr(G, "synthesis") or not hasattr(G, "cfg"):
        return None
    return LatentModel(face_model)
