"""Precision by measurement: which arithmetic a CPU generator runs, chosen by timing it here.

Some CPUs (Intel Xeons with AMX) run bf16 matrix work several times faster than fp32; others
(AVX2-only AMD EPYCs) run it slower. So at start the generator times a fixed probe batch in fp32
(the reference: today's path) and in bf16 autocast, in both memory layouts, and keeps bf16 only
where it is at least MIN_SPEEDUP times faster AND its faces differ from fp32 by at most
MAX_MEAN_LEVELS of 255 on average. Anything else (slower, or too far) falls back to fp32.
`FIGMENT_PRECISION=fp32|bf16` forces one; `figment bench model` reports every setting.

What "same seed, same face" then promises: on one machine, the same (seed, psi) in the same batch
gives byte-identical pixels. Across machines (or precisions) the same seed is the same face to the
eye: at most one level of 255 apart on average (the probe checks it), a few pixels up to ~10-20.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

PRECISIONS = ("auto", "fp32", "bf16")
MIN_SPEEDUP = 1.5
MAX_MEAN_LEVELS = 1.0
PROBE_SEEDS = tuple(range(8))
PROBE_PSI = 0.7
PROBE_MAX_RESOLUTION = 256


@dataclass(frozen=True)
class Setting:
    """One way to run the generator: bf16 autocast or not, channels_last or not."""

    bf16: bool
    channels_last: bool

    @property
    def name(self) -> str:
        return ("bf16" if self.bf16 else "fp32") + ("+channels_last" if self.channels_last else "")


@dataclass(frozen=True)
class Measurement:
    setting: Setting
    seconds_per_face: float
    mean_levels: float  # mean |difference| from the fp32 reference, in levels of 255
    max_levels: int


@dataclass(frozen=True)
class PrecisionReport:
    """What the generator runs and why (kept on the model as `precision_report`)."""

    requested: str
    chosen: Setting
    reason: str
    measurements: tuple[Measurement, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "chosen": self.chosen.name, "reason": self.reason,
                "settings": {m.setting.name: {"ms_per_face": round(1000 * m.seconds_per_face, 2),
                                              "mean_levels": round(m.mean_levels, 3), "max_levels": m.max_levels}
                             for m in self.measurements}}


class Tunable(Protocol):
    """A FaceModel whose arithmetic can be switched (StyleGANFaceModel, ImportedFaceModel)."""

    device: torch.device
    setting: Setting
    default_setting: Setting  # how the model runs as loaded (fp32 on a CPU)

    def apply_setting(self, setting: Setting) -> None: ...

    def generate(self, seeds: Sequence[int], psi: float) -> list: ...


Timer = Callable[[Setting, Callable[[], list]], tuple[float, list]]


def wall_timer(repeats: int = 2) -> Timer:
    """Run the probe once to warm up, then `repeats` times; the median wall time and the images."""
    def timer(setting: Setting, make: Callable[[], list]) -> tuple[float, list]:
        images = make()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            images = make()
            times.append(time.perf_counter() - start)
        return statistics.median(times), images
    return timer


def check_precision(value: str) -> str:
    if value not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {value!r}")
    return value


def probe(model: Tunable, seeds: Sequence[int] = PROBE_SEEDS, psi: float = PROBE_PSI,
          timer: Timer | None = None) -> list[Measurement]:
    """Time the reference (the model's own fp32 setting) and bf16 in both layouts on the same batch.
    The model is left in its reference setting. `timer` is the clock (a parameter so that a test can
    stand for a machine where bf16 is slow)."""
    timer = timer or wall_timer()
    reference = fp32_of(model)
    settings = [reference] + [Setting(True, layout) for layout in (True, False)]
    out: list[Measurement] = []
    ref_pixels: np.ndarray | None = None
    try:
        for setting in settings:
            model.apply_setting(setting)
            seconds, images = timer(setting, lambda: model.generate(list(seeds), psi))
            pixels = np.stack([np.asarray(image, np.int16) for image in images])
            if ref_pixels is None:
                ref_pixels = pixels
            diff = np.abs(pixels - ref_pixels)
            out.append(Measurement(setting, seconds / len(seeds), float(diff.mean()), int(diff.max())))
    finally:
        model.apply_setting(reference)
    return out


def choose(measurements: Sequence[Measurement], min_speedup: float = MIN_SPEEDUP,
           max_mean_levels: float = MAX_MEAN_LEVELS) -> tuple[Setting, str]:
    """The fastest bf16 setting that is min_speedup x faster than the reference (the first
    measurement) and within max_mean_levels of it on average; else the reference."""
    reference = measurements[0]
    fit = [m for m in measurements[1:] if m.setting.bf16
           and m.seconds_per_face * min_speedup <= reference.seconds_per_face
           and m.mean_levels <= max_mean_levels]
    if fit:
        best = min(fit, key=lambda m: m.seconds_per_face)
        return best.setting, (f"{best.setting.name}: {reference.seconds_per_face / best.seconds_per_face:.1f}x "
                              f"faster than fp32, {best.mean_levels:.2f} levels apart on average")
    fastest = min(measurements[1:], key=lambda m: m.seconds_per_face, default=reference)
    speedup = reference.seconds_per_face / max(fastest.seconds_per_face, 1e-12)
    if speedup < min_speedup:
        why = f"bf16 is at best {speedup:.2f}x the speed of fp32 here (needs {min_speedup}x)"
    else:
        why = f"bf16 is {speedup:.1f}x faster but its faces are too far from fp32's (> {max_mean_levels} level)"
    return reference.setting, f"fp32: {why}"


def apply_precision(model: Tunable, requested: str = "auto", timer: Timer | None = None,
                    seeds: Sequence[int] = PROBE_SEEDS, min_speedup: float = MIN_SPEEDUP,
                    max_mean_levels: float = MAX_MEAN_LEVELS) -> PrecisionReport:
    """Set the model's arithmetic as FIGMENT_PRECISION asks (auto: by the probe) and report why.
    GPUs keep their own setting (bf16 autocast where the model already uses it)."""
    check_precision(requested)
    reference = fp32_of(model)
    if requested == "fp32":
        report = PrecisionReport(requested, reference, "fp32: forced by the precision setting")
    elif requested == "bf16":
        report = PrecisionReport(requested, Setting(True, True), "bf16: forced by the precision setting")
    elif model.device.type != "cpu":
        own = model.default_setting
        report = PrecisionReport(requested, own, f"{own.name}: the device's own setting")
    elif getattr(model, "resolution", 128) > PROBE_MAX_RESOLUTION:
        report = PrecisionReport(requested, reference, f"{reference.name}: a {model.resolution} px face costs "
                                 "seconds, too many to time at start (set FIGMENT_PRECISION=bf16 to try it)")
    else:
        # The same few seconds of probing at any size: 8 faces at 128 px, 2 at 256 px.
        side = getattr(model, "resolution", 128)
        seeds = seeds[:max(1, len(seeds) * 128 * 128 // (side * side))]
        measured = probe(model, seeds=seeds, timer=timer or wall_timer(2 if side <= 128 else 1))
        setting, reason = choose(measured, min_speedup, max_mean_levels)
        report = PrecisionReport(requested, setting, reason, tuple(measured))
    model.apply_setting(report.chosen)
    return report


def fp32_of(model: Tunable) -> Setting:
    """The model's own fp32 setting (its layout as loaded): the reference every face is compared to."""
    return Setting(False, model.default_setting.channels_last)


def with_seconds(measurement: Measurement, seconds_per_face: float) -> Measurement:
    return replace(measurement, seconds_per_face=seconds_per_face)
