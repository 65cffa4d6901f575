"""The files an import writes: Figment's safetensors (fp32, config and provenance in the metadata)
and a model card beside it; and reading them back."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from generator.stylegan2.networks import SG2Config, StyleGAN2
from generator.stylegan2.pickle_import import SnapshotError

FORMAT = "figment-official-stylegan2-v1"
WEIGHTS_NAME = "generator.safetensors"
CARD_NAME = "MODEL_CARD.md"


def build(cfg: SG2Config, state: dict[str, torch.Tensor]) -> StyleGAN2:
    """Our generator with the given weights; SnapshotError if names or shapes do not match."""
    G = StyleGAN2(cfg)
    expected = G.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise SnapshotError(f"the weights do not match the config: missing {missing[:3]}, unexpected {extra[:3]}")
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise SnapshotError(f"{name} has shape {tuple(tensor.shape)}, the config needs {tuple(expected[name].shape)}")
    G.load_state_dict(state)
    return G.eval().requires_grad_(False)


def write(out_dir: Path, G: StyleGAN2, info: dict[str, Any]) -> Path:
    """Write generator.safetensors and MODEL_CARD.md into out_dir (atomically each); return the weights path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    params = sum(p.numel() for p in G.parameters())
    info = {**info, "parameters": params, "imported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    version = f"{info['name']}-{G.cfg.resolution}px-{info['source_sha256'][:8]}"
    path = out_dir / WEIGHTS_NAME
    tmp = path.with_name(path.name + ".tmp")
    tensors = {k: v.detach().contiguous().cpu() for k, v in G.state_dict().items()}
    save_file(tensors, str(tmp), metadata={"format": FORMAT, "config": json.dumps(G.cfg.to_dict()),
                                           "model_version": version, "info": json.dumps(info)})
    os.replace(tmp, path)
    _write_card(out_dir / CARD_NAME, version, G.cfg, info)
    return path


def read(tensors: dict[str, torch.Tensor], metadata: dict[str, str], path: Path) -> tuple[StyleGAN2, str, dict]:
    try:
        cfg = SG2Config.from_dict(json.loads(metadata["config"]))
        info = json.loads(metadata.get("info", "{}"))
        version = metadata["model_version"]
        return build(cfg, {k: v.float() for k, v in tensors.items()}), version, info
    except (KeyError, TypeError, ValueError) as error:
        raise SnapshotError(f"imported generator file has bad metadata: {path} ({error})") from None


def _write_card(path: Path, version: str, cfg: SG2Config, info: dict[str, Any]) -> None:
    lines = [
        f"# Imported StyleGAN2 generator `{version}`",
        "",
        f"Imported with `figment weights import` from: {info['source_kind']}. Figment did not train these",
        "weights; whoever imported them answers for their licence.",
        "",
        "| | |",
        "| --- | --- |",
        f"| name | {info['name']} |",
        f"| licence (as given at import) | {info['licence']} |",
        f"| source file | `{info['source_file']}` |",
        f"| source SHA-256 | `{info['source_sha256']}` |",
        f"| resolution | {cfg.resolution} px, {cfg.img_channels} channels |",
        f"| latent z / w | {cfg.z_dim} / {cfg.w_dim}, mapping layers {cfg.mapping_layers} (lr x{cfg.mapping_lr}) |",
        f"| widths | channel_base {cfg.channel_base}, channel_max {cfg.channel_max} |",
        f"| conv clamp, fp16 resolutions in training | {cfg.conv_clamp}, {cfg.num_fp16_res} (Figment runs fp32) |",
        f"| labels (c_dim) | {cfg.c_dim} |",
        f"| generator parameters | {info['parameters']:,} |",
        f"| imported | {info['imported_at']} |",
        "",
        "Faces are made by the official convention: z = numpy RandomState(seed).randn(1, z_dim),",
        "const noise, truncation toward w_avg. Every image is AI-generated and shows no real person.",
        "",
    ]
    if info.get("note"):
        lines[4:4] = ["", info["note"]]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, path)
