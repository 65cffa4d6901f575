"""`figment dataset build`: the training archive of aligned faces."""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from bot.cli.common import console, fail, settings
from bot.cli.progress import progress_bar

app = typer.Typer(help="Training data: build the archive of aligned faces.", no_args_is_help=True)


@app.command("build")
def build_command(
    packs: list[str] = typer.Option([], "--packs", help="Packs to use (repeat or comma-separate; default all)."),
    res: int = typer.Option(128, "--res", min=8, max=1024, help="Side of the faces in the archive."),
    out: Path | None = typer.Option(None, "--out", help="Archive file (default DATA_DIR/dataset-RES.npz)."),
    codec: str = typer.Option("webp", "--codec", help="webp (default: 2.1 KB a face at 128 px) or jpeg."),
    quality: int = typer.Option(80, "--quality", min=1, max=100, help="Quality of the codec."),
    max_mib: float = typer.Option(0.0, "--max-mib", min=0.0, help="Size budget of the archive in MiB "
                                                                 "(0: every face)."),
    shard_mib: float = typer.Option(0.0, "--shard-mib", min=0.0, help="Write OUT as a folder of shards of at "
                                                                     "most this many MiB (0: one file)."),
    seed: int = typer.Option(0, "--seed", help="Seed of which train faces fill the budget."),
    workers: int = typer.Option(0, "--workers", min=0, help="Worker processes; 0: one per core."),
) -> None:
    """Pack every held-out face and every train face (or as many as fit --max-mib) into an archive."""
    from bot.photos.dataset import MIB, DatasetOptions, build_dataset
    from bot.photos.packs import pack_infos, photo_rows

    config = settings()
    names = [name.strip() for value in packs for name in value.split(",") if name.strip()]
    known = {info.pack for info in asyncio.run(pack_infos(config.db_url, config.data_dir))}
    unknown = sorted(set(names) - known)
    if unknown:
        fail(f"no pack named {', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none'})")
    out = out or config.data_dir / f"dataset-{res}.npz"
    options = DatasetOptions(out, names, res, quality, int(max_mib * MIB) or None, seed, workers, codec,
                             int(shard_mib * MIB) or None)
    rows = asyncio.run(photo_rows(config.db_url, names or None))
    try:
        with progress_bar("dataset build", "faces") as update:
            meta = build_dataset(rows, config.data_dir, options, update)
    except (ValueError, OSError) as error:  # OSError: an --out that cannot be written
        fail(str(error))
    table = Table(title=f"dataset {out}")
    for column in ("source", "train", "held out", "available (train/held out)"):
        table.add_column(column)
    for source in meta["packs"]:
        got, available = meta["per_source"].get(source, {"train": 0, "heldout": 0}), meta["available"][source]
        table.add_row(source, str(got["train"]), str(got["heldout"]),
                      f"{available['train']}/{available['heldout']}")
    console.print(table)
    console.print(f"{meta['count']} faces ({meta['train']} train, {meta['heldout']} held out) at "
                  f"{res} px, {codec} quality {quality}, {meta['bytes'] / MIB:.2f} MiB "
                  f"({meta['bytes']} bytes), seed {seed}" + (f"; {meta['missing']} faces missing on disk"
                                                              if meta["missing"] else ""), highlight=False)
