"""`figment provenance init` and `figment check IMAGE...`: Content Credentials and marks."""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Provenance: Content Credentials keys.", no_args_is_help=True)


@app.command("init")
def init(folder: Path = typer.Argument(Path("data/c2pa"), help="Where to write the test key and chain."),
         force: bool = typer.Option(False, help="Overwrite an existing pair.")) -> None:
    """Make a self-signed key and certificate chain for testing Content Credentials."""
    from bot.cli.common import console, fail
    from bot.provenance.keys import make_test_pair

    if (folder / "c2pa-key.pem").exists() and not force:
        fail(f"{folder / 'c2pa-key.pem'} exists; use --force to replace it")
    key, chain = make_test_pair(folder)
    console.print(f"Wrote {key} and {chain} (test only: readers show them as valid, not trusted).\n"
                  f"Use them with:\n  FIGMENT_C2PA_KEY={key}\n  FIGMENT_C2PA_CERT={chain}", highlight=False)


def check(images: list[Path] = typer.Argument(..., help="Image files to check.")) -> None:
    """Say whether each image carries Figment's Content Credentials or watermark."""
    from bot.cli.common import settings
    from bot.provenance.check import CheckRefused, check_image
    from generator.loading import DEFAULT_WEIGHTS

    known = _known_versions(DEFAULT_WEIGHTS)
    failed = False
    for path in images:
        typer.echo(f"{path}:")
        try:
            reply = check_image(path.read_bytes(), posted_size=settings().posted_size, known_versions=known).reply()
        except CheckRefused as refused:
            reply, failed = str(refused), True
        except OSError as error:
            reply, failed = f"cannot read the file: {error.strerror or error}", True
        typer.echo("  " + reply.replace("\n", "\n  "))
    raise typer.Exit(1 if failed else 0)


def _known_versions(weights: Path) -> list[str]:
    """Model versions to name a watermark's id by: the shipped weights' (without loading torch)."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights), "np") as handle:
            version = (handle.metadata() or {}).get("model_version")
    except Exception:  # no or unreadable weights: ids are shown as numbers
        return []
    return [version] if version else []
