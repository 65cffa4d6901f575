"""Attribute directions in W, shipped next to the weights (`directions.safetensors`), and edits
along them.

A Direction is a unit vector n in W with a linear reading of its attribute along it:
attribute(w) ~ intercept + per_unit * (w . n) (years for age, the landmark smile score for smile),
and `spread`, the standard deviation of w . n over generated faces: edits are measured in spreads
and capped at MAX_SPREADS, beyond which faces stop looking like faces.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

FILE_NAME = "directions.safetensors"
FORMAT = "figment-directions-v1"
MAX_SPREADS = 8.0


class DirectionsError(ValueError):
    """The directions file cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class Direction:
    name: str
    vector: np.ndarray  # unit, w_dim
    per_unit: float     # attribute change per unit step along vector
    intercept: float
    spread: float       # std of w . vector over generated faces

    def reading(self, w: torch.Tensor) -> np.ndarray:
        """The attribute as this direction's linear fit reads it, per row of w."""
        return self.intercept + self.per_unit * (w.double().numpy() @ self.vector)

    def steps_for(self, change: float) -> float:
        """Step length (in w units) that moves the attribute by `change`, capped."""
        return float(np.clip(change / self.per_unit, -MAX_SPREADS * self.spread, MAX_SPREADS * self.spread))

    def moved(self, w: torch.Tensor, steps: float | torch.Tensor) -> torch.Tensor:
        """w moved `steps` along the direction (steps: one number, or one per row)."""
        vector = torch.as_tensor(self.vector, dtype=w.dtype)
        steps = torch.as_tensor(steps, dtype=w.dtype).reshape(-1, 1)
        return w + steps * vector


@dataclass(frozen=True)
class Directions:
    model_version: str
    items: dict[str, Direction]
    info: dict

    def save(self, path: Path) -> None:
        tensors = {name: d.vector.astype(np.float32) for name, d in self.items.items()}
        fits = {name: {"per_unit": d.per_unit, "intercept": d.intercept, "spread": d.spread}
                for name, d in self.items.items()}
        save_file(tensors, str(path), metadata={"format": FORMAT, "model_version": self.model_version,
                                                "fits": json.dumps(fits), "info": json.dumps(self.info)})

    @classmethod
    def load(cls, path: Path) -> "Directions":
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as handle:
                metadata = handle.metadata() or {}
            tensors = load_file(str(path))
            if metadata.get("format") != FORMAT:
                raise DirectionsError(f"{path} is not a Figment directions file")
            fits = json.loads(metadata["fits"])
            items = {name: Direction(name, tensors[name].astype(np.float64), float(fit["per_unit"]),
                                     float(fit["intercept"]), float(fit["spread"])) for name, fit in fits.items()}
            return cls(metadata["model_version"], items, json.loads(metadata.get("info", "{}")))
        except DirectionsError:
            raise
        except (OSError, KeyError, ValueError) as error:
            raise DirectionsError(f"cannot read directions from {path}: {error}") from error


def directions_path(weights: Path | None) -> Path:
    """Where the directions of these weights live: next to them (the shipped ones by default)."""
    from generator.loading import DEFAULT_WEIGHTS

    weights = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    return (weights if weights.is_dir() else weights.parent) / FILE_NAME
