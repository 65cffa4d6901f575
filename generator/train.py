"""Training the face GAN: `python -m generator.train --data FILE --out RUN [--minutes M | --kimg K]
[--resume RUN]` (`figment train` runs the same code).

Imports only generator/ modules, torch, numpy, pillow and safetensors, so it runs on a bare GPU box.
The loop is built for GPU speed: the training split lives on the device as uint8, augmentation
runs batched on the device, bf16 autocast and channels_last on CUDA, fused Adam, lazy R1, and no
host sync inside a step (losses are summed on the device and read only when a log line is due).

Loss: non-saturating logistic loss with lazy R1 on the (augmented) reals, as StyleGAN2-ADA;
DiffAugment (colour, translation, cutout) on reals and fakes, x-flips; generator EMA with ramp-up.
The run stops cleanly before the time budget with a checkpoint, the exported generator, its model
card and a sample grid written.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from generator.training.archive import TRAIN, load_archive, read_meta
from generator.training.augment import augment, augment_loop, parse_policy
from generator.model.checkpoint import (
    CARD_NAME, EXPORT_NAME, export_generator, load_checkpoint, read_export, save_checkpoint,
    write_model_card,
)
from generator.training.data import DeviceFaces, HostFaces
from generator.interface import GeneratorUnavailable
from generator.loading import pick_device
from generator.model.networks import Discriminator, Generator, ModelConfig, preset
from generator.model.sampling import image_grid, seed_latents, synthesize, to_pil
from generator.training.state import ema_file

GRID_NAME = "samples.png"
LOG_NAME = "train.log"
GRID_SEEDS = tuple(range(64))
GRID_PSI = 0.7
HALF_SHARD_BYTES = 15 * 2**20  # what one file from a GPU box may be (16 MiB), with room to spare


@dataclass
class TrainOptions:
    data: Path
    out: Path
    minutes: float | None = None
    kimg: float | None = None
    resume: Path | None = None
    model: str = "lean"
    channel_base: int | None = None
    channel_max: int | None = None
    resample: str | None = None  # classic (default) | fast: see ModelConfig.resample
    batch: int = 32
    lr: float = 0.0025
    gamma: float | None = None  # R1 weight; None: 1.0 at 256 px, scaled by resolution squared
    r1_every: int = 16
    ema_kimg: float | None = None  # EMA half-life; None: 10 kimg per 32 images of batch
    ema_rampup: float = 0.05
    augment: str = "color,translation,cutout"
    xflip: bool = True
    device: str = "auto"
    amp: str = "auto"  # bf16 | off | auto (bf16 on CUDA)
    channels_last: bool | None = None  # None: on CUDA
    compile: bool = False
    seed: int = 0
    data_limit: int | None = None
    log_seconds: float = 30.0
    grid_minutes: float = 5.0
    ckpt_minutes: float = 10.0
    ckpt: str = "full"  # full (fp32 + optimizer, bit-exact resume) | half (fp16 G and D, small)
    # The "before" settings of the throughput benchmark; training never needs them.
    host_data: bool = False
    loop_augment: bool = False
    fused_adam: bool | None = None  # None: fused on CUDA, foreach on CPU; False: plain loop

    def check(self) -> None:
        if self.minutes is None and self.kimg is None:
            raise ValueError("give a budget: --minutes or --kimg")
        if self.minutes is not None and self.minutes <= 0 or self.kimg is not None and self.kimg <= 0:
            raise ValueError("--minutes and --kimg must be positive")
        if self.batch < 2:
            raise ValueError("--batch must be at least 2")
        if self.amp not in ("auto", "bf16", "off"):
            raise ValueError("--amp must be auto, bf16 or off")
        if self.ckpt not in ("full", "half"):
            raise ValueError("--ckpt must be full or half")
        if self.r1_every < 1:
            raise ValueError("--r1-every must be at least 1")
        parse_policy(self.augment)


def resolve_device(name: str) -> torch.device:
    """loading.pick_device, with a missing GPU as bad input (ValueError) rather than a generator outage."""
    try:
        return pick_device(name)
    except GeneratorUnavailable as error:
        raise ValueError(str(error)) from None


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (timings and logs must not run ahead of it); nothing to do on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def configure_backends(device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def model_config(opts: TrainOptions, resolution: int) -> ModelConfig:
    cfg = preset(opts.model, resolution)
    overrides = {k: v for k, v in (("channel_base", opts.channel_base), ("channel_max", opts.channel_max),
                                   ("resample", opts.resample)) if v}
    return ModelConfig(**{**cfg.to_dict(), **overrides}) if overrides else cfg


def _sub(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


class Trainer:
    """The networks, optimizers and one training step; state in and out for checkpoints."""

    def __init__(self, opts: TrainOptions, cfg: ModelConfig, images: np.ndarray, device: torch.device) -> None:
        self.opts, self.cfg, self.device = opts, cfg, device
        self.amp = opts.amp == "bf16" or (opts.amp == "auto" and device.type == "cuda")
        self.channels_last = device.type == "cuda" if opts.channels_last is None else opts.channels_last
        self.policy = parse_policy(opts.augment)
        self.gamma = opts.gamma if opts.gamma is not None else 1.0 * (cfg.resolution / 256) ** 2
        self.ema_kimg = opts.ema_kimg if opts.ema_kimg is not None else opts.batch * 10 / 32
        torch.manual_seed(opts.seed)
        random.seed(opts.seed)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.G = Generator(cfg).to(device, memory_format=fmt)
        self.D = Discriminator(cfg).to(device, memory_format=fmt)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_g = self._adam(self.G)
        self.opt_d = self._adam(self.D)
        self.faces = (HostFaces(images, device, opts.xflip, opts.seed) if opts.host_data
                      else DeviceFaces(images, device, opts.xflip, self.channels_last))
        self.G_run = torch.compile(self.G) if opts.compile else self.G
        self.D_run = torch.compile(self.D) if opts.compile else self.D
        self.step = 0
        self.nimg = 0
        self.train_seconds = 0.0
        self.loss_sums = torch.zeros(3, device=device)  # G loss, D loss, R1; read only at log time
        self.loss_steps = [0, 0]
        self._ema_pairs = (list(self.G_ema.parameters()), list(self.G.parameters()),
                           list(self.G_ema.buffers()), list(self.G.buffers()))

    def _adam(self, module: torch.nn.Module) -> torch.optim.Optimizer:
        kwargs: dict[str, Any] = {"lr": self.opts.lr, "betas": (0.0, 0.99), "eps": 1e-8}
        if self.opts.fused_adam is False:
            kwargs["foreach"] = False
        elif self.opts.fused_adam or self.device.type == "cuda":
            kwargs["fused"] = True
        return torch.optim.Adam(module.parameters(), **kwargs)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        if not self.policy:
            return x
        return augment_loop(x, self.policy) if self.opts.loop_augment else augment(x, self.policy)

    def _z(self) -> torch.Tensor:
        return torch.randn(self.opts.batch, self.cfg.z_dim, device=self.device)

    def train_step(self) -> None:
        batch = self.opts.batch
        # Generator: make the discriminator call fakes real.
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        with self.autocast():
            fake = self.G_run(self._z(), update_w_avg=True)
            loss_g = F.softplus(-self.D_run(self._augment(fake))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()

        # Discriminator: reals from fakes, with R1 on the reals every r1_every steps (lazy).
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        with torch.no_grad(), self.autocast():
            fake = self.G_run(self._z())
        real = self._augment(self.faces.sample(batch))
        with self.autocast():
            loss_d = (F.softplus(self.D_run(self._augment(fake))).mean()
                      + F.softplus(-self.D_run(real)).mean())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        if self.gamma > 0 and self.step % self.opts.r1_every == 0:
            # fp32 and uncompiled: a double backward, done once every r1_every steps.
            x = real.detach().float().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(x).sum(), x, create_graph=True)
            r1 = grad.square().sum([1, 2, 3]).mean()
            (r1 * (self.gamma / 2 * self.opts.r1_every)).backward()
            self.loss_sums[2] += r1.detach()
            self.loss_steps[1] += 1
        self.opt_d.step()

        self.loss_sums[0] += loss_g.detach()
        self.loss_sums[1] += loss_d.detach()
        self.loss_steps[0] += 1
        self.step += 1
        self.nimg += batch
        self._update_ema()

    @torch.no_grad()
    def _update_ema(self) -> None:
        ema_nimg = self.ema_kimg * 1000
        if self.opts.ema_rampup:
            ema_nimg = min(ema_nimg, self.nimg * self.opts.ema_rampup)
        beta = 0.5 ** (self.opts.batch / max(ema_nimg, 1e-8))
        ema_params, params, ema_buffers, buffers = self._ema_pairs
        torch._foreach_lerp_(ema_params, params, 1.0 - beta)  # one fused kernel set, no host sync
        for ema_buffer, buffer in zip(ema_buffers, buffers):
            ema_buffer.copy_(buffer)

    def finite(self) -> bool:
        """Whether the losses since the last log line and the EMA weights are all finite (one host sync)."""
        checks = [torch.isfinite(self.loss_sums).all()] + [torch.isfinite(p).all() for p in self.G_ema.parameters()]
        return bool(torch.stack(checks).all())

    def take_losses(self) -> dict[str, float]:
        """Mean losses since the last call (one host sync)."""
        sums = self.loss_sums.tolist()
        steps, r1_steps = self.loss_steps
        self.loss_sums.zero_()
        self.loss_steps = [0, 0]
        return {"loss_g": sums[0] / max(steps, 1), "loss_d": sums[1] / max(steps, 1),
                "r1": sums[2] / max(r1_steps, 1)}

    # --- checkpoints -----------------------------------------------------------------------------

    def state_tensors(self, precision: str) -> dict[str, torch.Tensor]:
        half = precision == "half"
        modules = [("G", self.G), ("D", self.D)] + ([] if half else [("G_ema", self.G_ema)])
        tensors = {}
        for prefix, module in modules:
            for key, value in module.state_dict().items():
                tensors[f"{prefix}.{key}"] = value.half() if half and value.is_floating_point() else value
        if not half:
            for prefix, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                for index, state in opt.state_dict()["state"].items():
                    for key, value in state.items():
                        tensors[f"{prefix}.{index}.{key}"] = torch.as_tensor(value)
        tensors["rng.cpu"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        return tensors

    def state_meta(self, precision: str) -> dict[str, Any]:
        return {"step": self.step, "nimg": self.nimg, "train_seconds": self.train_seconds,
                "precision": precision, "config": self.cfg.to_dict(),
                "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.opts).items()}}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                   ema: dict[str, torch.Tensor] | None = None) -> None:
        self.G.load_state_dict(_sub(tensors, "G"))
        self.D.load_state_dict(_sub(tensors, "D"))
        self.G_ema.load_state_dict(ema if ema is not None else _sub(tensors, "G_ema"))
        if meta["precision"] == "full":
            for prefix, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                state: dict[int, dict[str, torch.Tensor]] = {}
                for key, value in _sub(tensors, prefix).items():
                    index, name = key.split(".", 1)
                    state.setdefault(int(index), {})[name] = value
                opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
        torch.set_rng_state(tensors["rng.cpu"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        self.step, self.nimg = int(meta["step"]), int(meta["nimg"])
        self.train_seconds = float(meta.get("train_seconds", 0.0))


def load_resume(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, torch.Tensor] | None]:
    """Checkpoint tensors and meta from a run directory (+ the exported G_ema for a half checkpoint)."""
    tensors, meta = load_checkpoint(run_dir)
    if meta["precision"] == "full":
        return tensors, meta, None
    ema, _, _, _ = read_export(ema_file(run_dir, meta))
    return tensors, meta, ema


class RunLog:
    """JSON lines in RUN/train.log, and a readable line for the console."""

    def __init__(self, path: Path, echo: Callable[[str], None]) -> None:
        self.path, self.echo = path, echo

    def write(self, event: str, text: str | None = None, **fields: Any) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"event": event, "time": round(time.time(), 1), **fields}) + "\n")
        if text:
            self.echo(text)


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


def write_grid(trainer: Trainer, path: Path, count: int = len(GRID_SEEDS)) -> None:
    seeds = GRID_SEEDS[:count]
    z = seed_latents(seeds, trainer.cfg.z_dim)
    images = synthesize(trainer.G_ema, z, torch.full((len(seeds),), GRID_PSI), amp=trainer.amp)
    tmp = path.with_name(path.name + ".tmp.png")
    image_grid(to_pil(images), cols=8).save(tmp)
    tmp.replace(path)


def save_run(trainer: Trainer, out: Path, data_summary: str) -> str:
    """Checkpoint + fp16 export + model card; returns the model version."""
    opts = trainer.opts
    info = {"step": trainer.step, "kimg": trainer.nimg / 1000, "train_minutes": trainer.train_seconds / 60,
            "device_name": device_name(trainer.device), "batch": opts.batch, "lr": opts.lr,
            "gamma": round(trainer.gamma, 4), "augment": opts.augment, "data": data_summary,
            "generator_params": sum(p.numel() for p in trainer.G_ema.parameters())}
    version = export_generator(out / EXPORT_NAME, trainer.G_ema, info)
    save_checkpoint(out, trainer.state_tensors(opts.ckpt), {**trainer.state_meta(opts.ckpt), "ema_version": version},
                    max_shard_bytes=HALF_SHARD_BYTES if opts.ckpt == "half" else None)
    write_model_card(out / CARD_NAME, version, trainer.cfg, info)
    return version


def describe_data(path: Path) -> str:
    meta = read_meta(path)
    return (f"{path.name}: {meta.get('train', '?')} training faces of {meta.get('count', '?')} at "
            f"{meta.get('resolution')} px from {', '.join(meta.get('sources', []))}")


def train(opts: TrainOptions, echo: Callable[[str], None] = print, started: float | None = None) -> dict[str, Any]:
    """Train until the budget is spent; return a summary. Raises ValueError for bad input."""
    started = time.monotonic() if started is None else started
    opts.check()
    deadline = started + opts.minutes * 60 if opts.minutes else math.inf
    device = resolve_device(opts.device)
    configure_backends(device)
    resume = load_resume(opts.resume) if opts.resume else None

    archive = load_archive(opts.data, TRAIN, limit=opts.data_limit)
    resolution = int(archive.meta["resolution"])
    cfg = ModelConfig.from_dict(resume[1]["config"]) if resume else model_config(opts, resolution)
    if cfg.resolution != resolution:
        raise ValueError(f"the model is {cfg.resolution} px but {opts.data} holds {resolution} px faces")
    trainer = Trainer(opts, cfg, archive.images, device)
    if resume:
        trainer.load_state(*resume)
    data_summary = describe_data(opts.data)
    del archive

    opts.out.mkdir(parents=True, exist_ok=True)
    log = RunLog(opts.out / LOG_NAME, echo)
    params = {"G": sum(p.numel() for p in trainer.G.parameters()), "D": sum(p.numel() for p in trainer.D.parameters())}
    log.write("start", f"training {cfg.resolution} px on {device_name(device)} ({len(trainer.faces)} faces, "
              f"batch {opts.batch}, bf16 {trainer.amp}, channels_last {trainer.channels_last}, "
              f"G {params['G']:,} / D {params['D']:,} params, from kimg {trainer.nimg / 1000:.1f})",
              options=trainer.state_meta(opts.ckpt)["options"], config=cfg.to_dict(), params=params,
              device=device_name(device), data=data_summary, resumed_kimg=trainer.nimg / 1000)

    target_nimg = opts.kimg * 1000 if opts.kimg else math.inf
    # Time kept for the final checkpoint, export and grid; re-estimated from the first save.
    reserve = min(20.0 if device.type == "cuda" else 10.0, 0.25 * (deadline - started))
    step_seconds = 0.0
    loop_start = last_log = last_grid = last_ckpt = time.monotonic()
    log_nimg = trainer.nimg
    seconds_before = trainer.train_seconds
    diverged = False
    version = None
    while trainer.nimg < target_nimg:
        now = time.monotonic()
        if now + step_seconds + reserve >= deadline:
            break
        trainer.train_step()
        after = time.monotonic()
        step_seconds = after - now if step_seconds == 0 else 0.9 * step_seconds + 0.1 * (after - now)
        trainer.train_seconds = seconds_before + after - loop_start
        if after - last_log >= opts.log_seconds:
            synchronize(device)
            after = time.monotonic()
            losses = trainer.take_losses()
            rate = (trainer.nimg - log_nimg) / (after - last_log)
            fields = {"kimg": round(trainer.nimg / 1000, 2), "step": trainer.step, "img_s": round(rate, 1),
                      **{k: round(v, 4) for k, v in losses.items()}, "minutes": round((after - started) / 60, 2)}
            if device.type == "cuda":
                fields["gpu_mem_gb"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
            log.write("progress", "  ".join(f"{k} {v}" for k, v in fields.items()), **fields)
            last_log, log_nimg = after, trainer.nimg
            if not all(math.isfinite(v) for v in losses.values()):
                diverged = True
                break
        if after - last_grid >= opts.grid_minutes * 60:
            try:
                write_grid(trainer, opts.out / GRID_NAME)
            except Exception as error:  # a grid is a convenience: never lose the run over it
                log.write("error", f"sample grid failed: {error!r}", error=repr(error))
            last_grid = time.monotonic()
        if after - last_ckpt >= opts.ckpt_minutes * 60:
            if not trainer.finite():  # never overwrite good weights with broken ones
                diverged = True
                break
            saved = time.monotonic()
            version = save_run(trainer, opts.out, data_summary)
            last_ckpt = time.monotonic()
            reserve = max(reserve, 2 * (last_ckpt - saved) + 5)
            log.write("checkpoint", f"checkpoint at kimg {trainer.nimg / 1000:.1f} ({version}, "
                      f"{last_ckpt - saved:.1f} s)", kimg=trainer.nimg / 1000, model_version=version)

    synchronize(device)
    trainer.train_seconds = seconds_before + time.monotonic() - loop_start
    diverged = diverged or not trainer.finite()
    if diverged:
        log.write("diverged", f"losses or weights are not finite at kimg {trainer.nimg / 1000:.1f}: stopped, "
                  "the last checkpoint is kept", kimg=trainer.nimg / 1000)
    else:
        version = save_run(trainer, opts.out, data_summary)
        try:
            write_grid(trainer, opts.out / GRID_NAME)
        except Exception as error:
            log.write("error", f"sample grid failed: {error!r}", error=repr(error))
    summary = {"kimg": trainer.nimg / 1000, "step": trainer.step, "model_version": version,
               "resumed_kimg": (resume[1]["nimg"] if resume else 0) / 1000, "device": device_name(device),
               "train_minutes": round(trainer.train_seconds / 60, 2), "diverged": diverged,
               "wall_minutes": round((time.monotonic() - started) / 60, 2),
               "img_s": round((trainer.nimg - (resume[1]["nimg"] if resume else 0))
                              / max(time.monotonic() - loop_start, 1e-9), 1)}
    log.write("done", f"done: kimg {summary['kimg']:.1f}, {summary['img_s']} img/s over the run, "
              f"{summary['wall_minutes']} min wall, weights {opts.out / EXPORT_NAME}", **summary)
    return summary


def build_parser(prog: str = "python -m generator.train") -> argparse.ArgumentParser:
    """The one definition of the training options (`figment train` passes its arguments here).
    An option not given is left out, so TrainOptions' defaults are the only ones."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                argument_default=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, required=True, help="training archive (.npz from `figment dataset build`)")
    p.add_argument("--out", type=Path, required=True, help="run directory for checkpoints, weights, logs, grids")
    p.add_argument("--minutes", type=float, help="wall-clock budget from start; stops cleanly before it")
    p.add_argument("--kimg", type=float, help="stop after this many thousand images seen (in total)")
    p.add_argument("--resume", type=Path, help="run directory to resume from")
    p.add_argument("--model", help="model preset: lean (default) or tiny (tests)")
    p.add_argument("--channel-base", type=int, help="override: channels = channel_base / resolution")
    p.add_argument("--channel-max", type=int, help="override: widest layer")
    p.add_argument("--resample", choices=["classic", "fast"],
                   help="classic (bilinear up, pooling down; default) or fast (strided convolutions)")
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--gamma", type=float, help="R1 weight (default 1.0 x (res/256)^2)")
    p.add_argument("--r1-every", type=int)
    p.add_argument("--ema-kimg", type=float, help="EMA half-life in kimg (default batch x 10 / 32)")
    p.add_argument("--augment", help="DiffAugment policy, or none")
    p.add_argument("--no-xflip", dest="xflip", action="store_false")
    p.add_argument("--device", help="auto, cpu or cuda")
    p.add_argument("--amp", choices=["auto", "bf16", "off"], help="bf16 autocast (auto: on CUDA)")
    p.add_argument("--channels-last", dest="channels_last", action="store_true")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D (takes minutes to warm up)")
    p.add_argument("--seed", type=int)
    p.add_argument("--data-limit", type=int, help="use only the first N training faces")
    p.add_argument("--log-seconds", type=float)
    p.add_argument("--grid-minutes", type=float)
    p.add_argument("--ckpt-minutes", type=float)
    p.add_argument("--ckpt", choices=["full", "half"],
                   help="full: fp32 + optimizer (bit-exact resume); half: fp16 G and D, files <= 15 MiB")
    return p


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None,
                action: Callable[[argparse.Namespace], object]) -> int:
    """The `python -m generator.*` entry points: bad input ends in `error: ...` and exit code 2, no traceback;
    an action that returns an int returns it as the exit code."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse has printed its usage and the error
        return int(stop.code or 0)
    try:
        code = action(args)
    except (ValueError, OSError) as error:  # WeightsFileError is a ValueError; OSError: e.g. --out is a file
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0


# What a resumed run keeps from its state unless given again: the run's hyperparameters.
RESUMED_OPTIONS = ("batch", "lr", "gamma", "r1_every", "ema_kimg", "ema_rampup", "augment", "xflip")


def with_resumed_options(given: dict[str, Any]) -> dict[str, Any]:
    """The options given, plus the run's own hyperparameters from the state it resumes (if any)."""
    from generator.training.state import state_meta

    meta = state_meta(Path(given["resume"])) if given.get("resume") else None
    kept = (meta or {}).get("options", {})
    return {**{k: kept[k] for k in RESUMED_OPTIONS if k in kept}, **given}


def main(argv: list[str] | None = None, prog: str = "python -m generator.train",
         echo: Callable[[str], None] = print) -> int:
    """Exit codes: 0 done, 2 bad input, 3 the run diverged (the last good checkpoint is kept)."""
    started = time.monotonic()

    def action(args: argparse.Namespace) -> int:
        summary = train(TrainOptions(**with_resumed_options(vars(args))), echo=echo, started=started)
        if summary["diverged"]:
            print("error: training diverged; the last good checkpoint is kept", file=sys.stderr)
            return 3
        return 0

    return run_command(build_parser(prog), argv, action)


if __name__ == "__main__":
    sys.exit(main())
