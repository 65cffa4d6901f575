"""`figment critic train`: make the realness critic that picks the quiz's faces, for new weights."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import console, fail, settings

app = typer.Typer(help="The realness critic behind curated (best-of-K) faces.", no_args_is_help=True)


@app.command()
def train(
    data: Path = typer.Option(..., help="The training archive (file or folder of shards); only its training "
                                        "split is used, never the held-out faces."),
    weights: Optional[Path] = typer.Option(None, help="Generator weights (default FIGMENT_WEIGHTS, else the shipped file)."),
    out: Optional[Path] = typer.Option(None, help="Where to write the critic (default FIGMENT_CRITIC, else "
                                                  "generator/weights/critic.safetensors)."),
    n: int = typer.Option(4000, help="Real training faces, and as many generated ones."),
    epochs: int = typer.Option(8, help="Passes over the faces."),
    seed: int = typer.Option(0, help="Seeds the choice of faces and the training."),
    threads: int = typer.Option(2, help="torch CPU threads."),
) -> None:
    """Train the critic on the CPU: real training faces against this generator's faces (128 px)."""
    from generator.curation.critic import DEFAULT_CRITIC
    from generator.curation.critic_training import CriticOptions, train_critic
    from generator.interface import GeneratorError

    config = settings()
    if not 100 <= n <= 100_000:
        fail("--n must be from 100 to 100000")
    if not 1 <= epochs <= 100:
        fail("--epochs must be from 1 to 100")
    if threads < 1:
        fail("--threads must be at least 1")
    if not data.exists():
        fail(f"training archive not found: {data}")
    opts = CriticOptions(data=data, weights=weights or config.weights, out=out or config.critic or DEFAULT_CRITIC,
                         n=n, epochs=epochs, seed=seed, threads=threads)
    try:
        train_critic(opts, echo=lambda line: console.print(line, highlight=False))
    except (ValueError, GeneratorError, OSError) as error:
        fail(str(error))
