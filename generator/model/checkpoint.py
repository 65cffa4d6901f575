"""Files a training run writes: resumable checkpoints, the exported generator, its model card.

A run directory holds
- `checkpoint.safetensors` (or `checkpoint-0.safetensors`, `-1`, ... when split into shards of at
  most `max_shard_bytes`, so each fits what a GPU box can send back): networks, optimizer state,
  random generator state; JSON metadata with the step, images seen and options.
  "full" precision keeps everything in fp32 and resumes bit-exactly; "half" keeps G and D in
  fp16 without optimizer state (Adam restarts) and takes G_ema from the export below.
- `generator.safetensors`: the EMA generator in fp16 with its config in the metadata: what the
  bot loads.
- `MODEL_CARD.md`: what the weights are, how they were trained, their metrics.
Every file is written to a temporary name and renamed, so a run killed mid-write leaves the
previous good file in place.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save, save_file

from generator.model.networks import Generator, ModelConfig

EXPORT_FORMAT = "figment-stylegan2-v1"
CHECKPOINT_FORMAT = "figment-train-v1"
EXPORT_NAME = "generator.safetensors"
CARD_NAME = "MODEL_CARD.md"


class WeightsFileError(ValueError):
    """A weights or checkpoint file is missing, unreadable or not ours; the message names the file."""


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise WeightsFileError(f"weights file not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise WeightsFileError(f"weights file is corrupt or not safetensors: {path} ({error})") from error


# --- checkpoints ---------------------------------------------------------------------------------

def checkpoint_files(run_dir: Path) -> list[Path]:
    single = run_dir / "checkpoint.safetensors"
    if single.is_file():
        return [single]
    return sorted(run_dir.glob("checkpoint-*.safetensors"), key=lambda p: int(p.stem.split("-")[1]))


def save_checkpoint(run_dir: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                    max_shard_bytes: int | None = None) -> list[Path]:
    run_dir.mkdir(parents=True, exist_ok=True)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, value in tensors.items():
        nbytes = value.numel() * value.element_size()
        if max_shard_bytes and shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = value
        size += nbytes
    metadata = {"format": CHECKPOINT_FORMAT, "meta": json.dumps({**meta, "shards": len(shards)})}
    if len(shards) == 1:
        paths = [run_dir / "checkpoint.safetensors"]
    else:
        paths = [run_dir / f"checkpoint-{i}.safetensors" for i in range(len(shards))]
    for path, shard in zip(paths, shards):
        _atomic_save(shard, path, metadata)
    for stale in set(run_dir.glob("checkpoint*.safetensors")) - set(paths):
        stale.unlink()
    return paths


def load_checkpoint(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    paths = checkpoint_files(run_dir)
    if not paths:
        raise WeightsFileError(f"no checkpoint in {run_dir} (expected checkpoint.safetensors)")
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] | None = None
    for path in paths:
        part, metadata = _read(path)
        if metadata.get("format") != CHECKPOINT_FORMAT:
            raise WeightsFileError(f"not a Figment training checkpoint: {path}")
        part_meta = json.loads(metadata["meta"])
        if meta is not None and part_meta["step"] != meta["step"]:
            raise WeightsFileError(f"checkpoint shards from different steps in {run_dir}")
        meta = part_meta
        tensors.update(part)
    assert meta is not None
    if meta["shards"] != len(paths):
        raise WeightsFileError(f"checkpoint in {run_dir} has {len(paths)} of {meta['shards']} shards")
    return tensors, meta


# --- the exported generator ------------------------------------------------------------------------

def export_generator(path: Path, G: Generator, info: dict[str, Any]) -> str:
    """Write G's weights in fp16 with its config; return the model version (which names the weights)."""
    tensors = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in G.state_dict().items()}
    digest = hashlib.sha256(save(tensors)).hexdigest()[:8]
    version = f"sg2-{G.cfg.resolution}px-{int(info.get('kimg', 0))}k-{digest}"
    metadata = {"format": EXPORT_FORMAT, "config": json.dumps(G.cfg.to_dict()),
                "model_version": version, "info": json.dumps(info)}
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(tensors, path, metadata)
    return version


def read_export(path: Path) -> tuple[dict[str, torch.Tensor], ModelConfig, str, dict[str, Any]]:
    tensors, metadata = _read(path)
    if metadata.get("format") != EXPORT_FORMAT:
        raise WeightsFileError(f"not a Figment generator file (format {metadata.get('format')!r}): {path}")
    try:
        cfg = ModelConfig.from_dict(json.loads(metadata["config"]))
        info = json.loads(metadata.get("info", "{}"))
        version = metadata["model_version"]
    except (KeyError, ValueError, TypeError) as error:
        raise WeightsFileError(f"generator file has bad metadata: {path} ({error})") from error
    return tensors, cfg, version, info


def load_generator(path: Path) -> tuple[Generator, str, dict[str, Any]]:
    """An fp32 Generator from an export file, or WeightsFileError naming the file."""
    tensors, cfg, version, info = read_export(path)
    G = Generator(cfg)
    try:
        G.load_state_dict({k: v.float() for k, v in tensors.items()})
    except RuntimeError as error:
        raise WeightsFileError(f"generator file does not match its config: {path} ({error})") from error
    return G.eval().requires_grad_(False), version, info


# --- model card ------------------------------------------------------------------------------------

def write_model_card(path: Path, version: str, cfg: ModelConfig, info: dict[str, Any],
                     metrics: dict[str, Any] | None = None) -> None:
    params = info.get("generator_params")
    lines = [
        f"# Figment face generator `{version}`",
        "",
        "A StyleGAN2-style generator (mapping network to W, modulated and demodulated convolutions, noise",
        "inputs, skip toRGB; residual discriminator with minibatch standard deviation), trained by",
        "`python -m generator.train` (same code as `figment train`). Faces of people who do not exist.",
        "",
        "| | |",
        "| --- | --- |",
        f"| resolution | {cfg.resolution} px |",
        f"| latent z / w | {cfg.z_dim} / {cfg.w_dim}, mapping layers {cfg.mapping_layers} |",
        f"| widths | channel_base {cfg.channel_base}, channel_max {cfg.channel_max} |",
        f"| generator parameters | {params:,} |" if params else "| generator parameters | ? |",
        f"| weights | EMA generator, fp16 safetensors (`{EXPORT_NAME}`) |",
        f"| training data | {info.get('data', '?')} |",
        f"| images seen | {info.get('kimg', 0):,.0f} k |",
        f"| training time | {info.get('train_minutes', 0):.1f} min on {info.get('device_name', '?')} |",
        f"| batch, lr, R1 gamma, augmentation | {info.get('batch')}, {info.get('lr')}, {info.get('gamma')}, "
        f"{info.get('augment')} + x-flips |",
        "",
        "## Metrics",
        "",
    ]
    if metrics:
        lines += ["Against the held-out real faces (`figment eval`):", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {key} | {value} |" for key, value in metrics.items()]
    else:
        lines.append("Not evaluated yet: run `figment eval --weights ... --real ... --card ...`.")
    lines += [
        "",
        "## Licence and use",
        "",
        "Trained on research-use photo sets: CelebA (non-commercial research), UTKFace (non-commercial",
        "research) and All-Age-Faces (citation requested). Use these weights for research and",
        "non-commercial purposes only. Every image they make is AI-generated and shows no real person;",
        "say so wherever the images are shown (the bot does).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, path)
