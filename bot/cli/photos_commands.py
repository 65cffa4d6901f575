"""`figment photos ...`: import real photo packs (aligned FFHQ-style), list, stats, remove, sheet."""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from bot.cli.common import console, fail, settings
from bot.cli.progress import progress_bar

app = typer.Typer(help="Real photo packs: import (with face alignment), list, stats, remove.",
                  no_args_is_help=True)


@app.command("import")
def import_command(
    sources: list[Path] = typer.Argument(..., help="Photo files or folders (walked recursively)."),
    pack: str = typer.Option(..., "--pack", help="Pack name, e.g. celeba-6k."),
    source: str = typer.Option("", "--source", help="Where the photos come from (shown at the quiz's reveal; 200 characters at most)."),
    licence: str = typer.Option("", "--licence", help="The photos' licence or terms (200 characters at most)."),
    # At least the quiz's detail level (bot.imaging.QUIZ_DETAIL): a smaller stored face would be
    # upscaled for the quiz and show softer than the generated ones.
    size: int = typer.Option(256, "--size", min=128, max=1024, help="Side of the stored aligned faces."),
    heldout: float = typer.Option(0.10, "--heldout", min=0.0, max=1.0,
                                  help="Share held out from training (the quiz shows these)."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the held-out choice."),
    workers: int = typer.Option(0, "--workers", min=0, help="Worker processes; 0: one per core."),
    min_face: float = typer.Option(64.0, "--min-face", min=1.0, help="Smallest face square kept, in photo pixels."),
    min_sharpness: float | None = typer.Option(None, "--min-sharpness", min=0.0,
                                               help="Sharpness below which a face is too blurred."),
) -> None:
    """Import photos: find and align each face, reject with a reason, skip duplicates. Resumable."""
    from bot.photos import quality
    from bot.photos.importer import ImportOptions, import_photos
    from bot.photos.credits import check_credit
    from bot.photos.process import AlignOptions
    from bot.photos.store import check_pack_name

    try:
        check_pack_name(pack)
        source, licence = check_credit("source", source), check_credit("licence", licence)
    except ValueError as error:
        fail(str(error))
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        fail(f"not found: {', '.join(missing)}")
    config = settings()
    align = AlignOptions(size=size, min_face=min_face,
                         min_sharpness=quality.MIN_SHARPNESS if min_sharpness is None else min_sharpness)
    options = ImportOptions(pack, source, licence, heldout, split_seed, workers, align)
    try:
        with progress_bar(f"import {pack}") as update:
            summary = asyncio.run(import_photos(config.db_url, config.data_dir, sources, options, update))
    except ValueError as error:  # another import running
        fail(str(error))

    table = Table(title=f"photos import: pack {pack}")
    table.add_column("outcome")
    table.add_column("photos", justify="right")
    table.add_row("imported", str(summary.imported))
    table.add_row("  of which held out", str(summary.heldout))
    for reason, count in sorted(summary.rejects.items(), key=lambda item: -item[1]):
        table.add_row(f"rejected: {reason}", str(count))
    table.add_row("seen by an earlier run", str(summary.seen_before))
    if summary.other_files:
        table.add_row("other files (ignored)", str(summary.other_files))
    if summary.links_outside:
        table.add_row("links out of the source (not followed)", str(summary.links_outside))
    console.print(table)
    processed = summary.processed
    share = (f", face found and aligned in {100 * summary.aligned / processed:.1f}%"
             f" (imported {100 * summary.imported / processed:.1f}%)") if processed else ""
    console.print(f"{summary.found} photo files, {processed} processed in {summary.seconds:.0f} s "
                  f"({summary.rate:.1f} photos/s){share}", highlight=False)
    if summary.mean_points is not None:
        eyes_mouth = ", ".join(f"({x:.3f}, {y:.3f})" for x, y in summary.mean_points)
        console.print(f"mean aligned left eye, right eye, mouth: {eyes_mouth}", highlight=False)
    if summary.interrupted:
        console.print("interrupted: run the same command again to resume", style="yellow")
        raise typer.Exit(130)


@app.command("list")
def list_command() -> None:
    """The packs, with photo counts and provenance."""
    from bot.photos.packs import pack_infos

    config = settings()
    infos = asyncio.run(pack_infos(config.db_url, config.data_dir))
    if not infos:
        console.print("no photo packs yet: add one with `figment photos import FOLDER --pack NAME`")
        return
    table = Table(title="photo packs")
    for column in ("pack", "photos", "held out", "source", "licence"):
        table.add_column(column)
    for info in infos:
        table.add_row(info.pack, str(info.photos), str(info.heldout), info.source, info.licence)
    console.print(table)


@app.command("stats")
def stats_command(
    pack: str | None = typer.Argument(None, help="One pack (default all)."),
    framing: int = typer.Option(0, "--framing", min=0,
                                help="Find landmarks again on this many stored faces per pack and compare "
                                     "the mean eye and mouth positions with the canonical ones."),
    sheet: Path | None = typer.Option(None, "--sheet", help="Write a contact sheet PNG here (keep it out of git)."),
    per_pack: int = typer.Option(16, "--per-pack", min=1, max=64, help="Faces per pack on the contact sheet."),
) -> None:
    """Photos per pack and split, identities, reject reasons; optionally the framing check and a sheet."""
    from bot.photos.framing import CANONICAL, POINT_NAMES, contact_sheet, measure_framing, sample
    from bot.photos.packs import pack_infos, photo_rows

    config = settings()
    infos = asyncio.run(pack_infos(config.db_url, config.data_dir, pack))
    if not infos:
        fail(f"no pack named {pack!r}" if pack else "no photo packs yet")
    table = Table(title="photo pack stats")
    for column in ("pack", "photos", "train", "held out", "identities", "rejected (reasons)"):
        table.add_column(column)
    for info in infos:
        rejects = ", ".join(f"{reason} {count}" for reason, count in info.rejects.most_common()) or "-"
        table.add_row(info.pack, str(info.photos), str(info.train), str(info.heldout),
                      str(info.identities), f"{sum(info.rejects.values())} ({rejects})")
    console.print(table)
    if not framing and sheet is None:
        return
    rows = asyncio.run(photo_rows(config.db_url, [i.pack for i in infos]))
    by_pack: dict[str, list[Path]] = {}
    for row in rows:
        by_pack.setdefault(row.pack, []).append(config.data_dir / row.stored_path)
    if framing:
        check = Table(title=f"framing: mean positions (share of side) on {framing} faces per pack")
        for column in ("pack", "measured", *POINT_NAMES, "worst offset"):
            check.add_column(column)
        check.add_row("canonical", "", *(f"({x:.3f}, {y:.3f})" for x, y in CANONICAL), "")
        for name, paths in by_pack.items():
            result = measure_framing(sample(paths, framing))
            check.add_row(name, f"{result.measured}/{result.tried}",
                          *(f"({x:.3f}, {y:.3f})" for x, y in result.mean), f"{100 * result.worst_offset:.1f}%")
        console.print(check)
    if sheet is not None:
        written = contact_sheet({name: sample(paths, per_pack) for name, paths in by_pack.items()}, sheet)
        console.print(f"contact sheet: {written}")


@app.command("remove")
def remove_command(
    pack: str = typer.Argument(..., help="The pack to remove."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a pack: its database rows and its aligned faces."""
    from bot.photos.packs import pack_infos, remove_pack
    from bot.photos.store import check_pack_name

    try:
        check_pack_name(pack)
    except ValueError as error:
        fail(str(error))
    config = settings()
    infos = asyncio.run(pack_infos(config.db_url, config.data_dir, pack))
    if not infos:
        fail(f"no pack named {pack!r}")
    if not yes and not typer.confirm(f"Remove pack {pack!r} ({infos[0].photos} photos)?"):
        fail("nothing removed", code=1)
    try:
        removed = asyncio.run(remove_pack(config.db_url, config.data_dir, pack))
    except ValueError as error:  # an import running
        fail(str(error))
    console.print(f"removed pack {pack}: {removed} photos")

