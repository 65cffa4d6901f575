"""`figment weights import`: bring an official StyleGAN2 generator in, safely, to serve it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import console, fail, settings

app = typer.Typer(help="Generator weights from elsewhere: official StyleGAN2 / StyleGAN2-ADA snapshots.",
                  no_args_is_help=True)


@app.command(name="import")
def import_(
    source: Path = typer.Argument(..., help="A stylegan2-ada-pytorch network-snapshot-*.pkl, or a "
                                            "rosinality/stylegan2-pytorch .pt checkpoint."),
    name: str = typer.Option(..., help="A short name for the model (1-40 letters, digits, . _ -); names its version."),
    licence: str = typer.Option(..., help="The licence you use the weights under (written to the model card)."),
    out: Optional[Path] = typer.Option(None, help="Folder for the imported model (default: the data folder's "
                                                  "models/NAME)."),
    force: bool = typer.Option(False, help="Replace an imported model already in that folder."),
) -> None:
    """Read the generator (G_ema) without running any code from the file; write Figment's safetensors
    and a model card. Serve it with FIGMENT_WEIGHTS=<printed path> or --weights."""
    from generator.stylegan2.importer import import_weights
    from generator.stylegan2.pickle_import import SnapshotError

    out_dir = out if out is not None else settings().data_dir / "models" / name
    try:
        path = import_weights(source, name, licence, out_dir, force=force)
    except SnapshotError as error:
        fail(f"{source}: {error}")
    except OSError as error:
        fail(f"cannot import {source}: {error}")
    console.print(f"imported {source.name} as {name}: {path} (model card: {path.parent / 'MODEL_CARD.md'})",
                  highlight=False, soft_wrap=True)


@app.command(name="centres")
def centres(
    weights: Optional[Path] = typer.Option(None, help="Generator weights (default FIGMENT_WEIGHTS, else the shipped file)."),
    k: int = typer.Option(64, min=2, max=1024, help="How many centres (k-means in W)."),
    samples: int = typer.Option(50_000, min=1000, max=1_000_000, help="Seeds mapped to W to find them."),
) -> None:
    """Make the multi-modal truncation centres of a generator and store them beside its weights
    (<weights>.centres.safetensors): run once per weights, seconds on a CPU."""
    from generator.curation.centres import centres_path, compute_centres, save_centres
    from generator.interface import GeneratorError
    from generator.loading import DEFAULT_WEIGHTS, load_face_model

    path = weights or settings().weights or DEFAULT_WEIGHTS
    if k * 10 > samples:
        fail(f"--samples must be at least 10 x --k ({k * 10})")
    try:
        model = load_face_model(path, "cpu")
    except (GeneratorError, ValueError) as error:
        fail(str(error))
    target = centres_path(path)
    try:
        save_centres(target, compute_centres(model, k, samples), model.model_version, samples)
    except OSError as error:
        fail(f"cannot write {target}: {error}")
    console.print(f"{k} truncation centres of {model.model_version} from {samples} seeds: {target}", highlight=False)
