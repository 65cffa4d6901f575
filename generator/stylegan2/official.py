"""Map a stylegan2-ada-pytorch G_ema (read by pickle_import) onto Figment's StyleGAN2.

The stored init_kwargs give the config (z_dim, w_dim, c_dim, img_resolution, img_channels,
mapping_kwargs.num_layers / lr_multiplier, synthesis_kwargs channel_base / channel_max / num_fp16_res /
conv_clamp / architecture); every tensor of the stored state goes to one of ours, shapes checked.
"""
from __future__ import annotations

import re
from typing import Any

import torch

from generator.stylegan2.networks import SG2Config
from generator.stylegan2.ops import fir_filter
from generator.stylegan2.pickle_import import PersistentRecord, SnapshotError, flatten

KNOWN_CLASSES = {"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer",
                 "ToRGBLayer", "FullyConnectedLayer"}
_SUPPORTED = {
    "mapping": {"num_layers", "lr_multiplier", "w_avg_beta", "embed_features", "layer_features", "activation"},
    "synthesis": {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture",
                  "resample_filter", "fp16_channels_last", "use_noise", "activation", "kernel_size"},
}


def _check_kwargs(kind: str, kwargs: dict[str, Any]) -> None:
    unknown = sorted(set(kwargs) - _SUPPORTED[kind])
    if unknown:
        raise SnapshotError(f"unsupported {kind}_kwargs in the snapshot: {', '.join(unknown)}")
    if kwargs.get("architecture", "skip") != "skip":
        raise SnapshotError(f"only the 'skip' generator architecture is supported, not {kwargs['architecture']!r}")
    if kwargs.get("activation", "lrelu") != "lrelu" or kwargs.get("kernel_size", 3) != 3 \
            or kwargs.get("use_noise", True) is not True:
        raise SnapshotError(f"unsupported {kind} layer settings in the snapshot")
    if list(kwargs.get("resample_filter", [1, 3, 3, 1])) != [1, 3, 3, 1]:
        raise SnapshotError("only the [1, 3, 3, 1] resampling filter is supported")
    for key in ("embed_features", "layer_features"):
        if kwargs.get(key) is not None:
            raise SnapshotError(f"mapping_kwargs.{key} other than the default is not supported")


def config_from_record(G: PersistentRecord) -> SG2Config:
    kw = G.init_kwargs
    if G.state.get("_init_args"):
        raise SnapshotError("the generator was built with positional arguments; Figment reads keyword ones")
    mapping = dict(kw.get("mapping_kwargs") or {})
    synthesis = dict(kw.get("synthesis_kwargs") or {})
    _check_kwargs("mapping", mapping)
    _check_kwargs("synthesis", synthesis)
    try:
        return SG2Config(
            resolution=int(kw["img_resolution"]), z_dim=int(kw["z_dim"]), w_dim=int(kw["w_dim"]),
            c_dim=int(kw.get("c_dim", 0)), img_channels=int(kw.get("img_channels", 3)),
            mapping_layers=int(mapping.get("num_layers", 8)), mapping_lr=float(mapping.get("lr_multiplier", 0.01)),
            channel_base=int(synthesis.get("channel_base", 32768)), channel_max=int(synthesis.get("channel_max", 512)),
            conv_clamp=None if synthesis.get("conv_clamp") is None else float(synthesis["conv_clamp"]),
            num_fp16_res=int(synthesis.get("num_fp16_res", 0)))
    except KeyError as error:
        raise SnapshotError(f"the generator's init_kwargs lack {error.args[0]}") from None
    except (TypeError, ValueError) as error:
        raise SnapshotError(f"the generator's init_kwargs are not valid: {error}") from None


def our_name(name: str, cfg: SG2Config) -> str | None:
    """Official state name -> Figment's; None for buffers Figment computes itself (resample filters)."""
    if name.endswith("resample_filter"):
        return None
    if m := re.fullmatch(r"mapping\.fc(\d+)\.(weight|bias)", name):
        return f"mapping.layers.{m[1]}.{m[2]}"
    if name == "mapping.w_avg" or name.startswith("mapping.embed."):
        return name
    m = re.fullmatch(r"synthesis\.b(\d+)\.(const|conv0|conv1|torgb)(\..+)?", name)
    if not m or int(m[1]) not in cfg.block_resolutions:
        raise SnapshotError(f"unexpected tensor in G_ema: {name}")
    block = cfg.block_resolutions.index(int(m[1]))
    layer = {"const": "const", "conv0": "up_conv", "conv1": "conv", "torgb": "to_rgb"}[m[2]]
    rest = (m[3] or "").replace(".affine.", ".style.")
    return f"synthesis.blocks.{block}.{layer}{rest}"


def state_from_record(G: PersistentRecord, cfg: SG2Config) -> dict[str, torch.Tensor]:
    classes: dict[str, str] = {}
    official = flatten(G, classes=classes)
    unknown = sorted({cls for cls in classes.values() if cls not in KNOWN_CLASSES})
    if unknown:
        raise SnapshotError(f"unknown class in G_ema: {', '.join(unknown)} (not the official StyleGAN2 generator)")
    state = {}
    for name, tensor in official.items():
        if name.endswith("resample_filter"):
            if not torch.allclose(tensor.float(), fir_filter()):
                raise SnapshotError(f"{name} is not the [1, 3, 3, 1] filter")
            continue
        ours = our_name(name, cfg)
        if ours is not None:
            state[ours] = tensor.detach().to(torch.float32).contiguous()
    return state


def import_snapshot(data: Any) -> tuple[SG2Config, dict[str, torch.Tensor]]:
    if not isinstance(data, dict):
        raise SnapshotError("not a network snapshot: the pickle holds no dict of networks")
    if "G_ema" not in data:
        raise SnapshotError(f"the snapshot has no G_ema (it holds: {', '.join(map(str, data)) or 'nothing'})")
    G = data["G_ema"]
    if not isinstance(G, PersistentRecord) or G.class_name != "Generator":
        name = G.class_name if isinstance(G, PersistentRecord) else type(G).__name__
        raise SnapshotError(f"G_ema is a {name}, not the official Generator")
    cfg = config_from_record(G)
    return cfg, state_from_record(G, cfg)
