"""`figment`: the one door for operators. Each command group lives in its own module."""
from __future__ import annotations

import typer

from bot.cli import db_commands, bench_commands, run_commands
from bot.ops.logging_setup import configure_logging, secrets_of
from bot.settings import get_settings
from bot.cli import demo_commands
from bot.cli import generator_commands
from bot.cli import photos_commands, dataset_commands
from bot.cli import discord_commands
from bot.cli import train_commands
from bot.cli import critic_commands
from bot.cli import gpu_commands
from bot.cli import provenance_commands
from bot.cli import weights_commands

app = typer.Typer(help="Figment: faces of people who do not exist, and a real-or-fake quiz.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.command(name="run")(run_commands.run)
app.add_typer(db_commands.app, name="db")
app.add_typer(bench_commands.app, name="bench")
app.command(name="demo")(demo_commands.demo)
app.add_typer(generator_commands.app, name="generator")
app.add_typer(photos_commands.app, name="photos")
app.add_typer(dataset_commands.app, name="dataset")
app.add_typer(discord_commands.app, name="discord")
app.add_typer(gpu_commands.app, name="gpu")
app.add_typer(critic_commands.app, name="critic")
app.command(name="train", context_settings=train_commands.TRAIN_CONTEXT,
            add_help_option=False)(train_commands.train)
app.command(name="eval")(train_commands.evaluate)
app.command(name="generate")(train_commands.generate)
app.add_typer(provenance_commands.app, name="provenance")
app.command(name="check")(provenance_commands.check)
app.add_typer(weights_commands.app, name="weights")


def main() -> None:
    try:
        secrets = secrets_of(get_settings())
    except Exception:  # bad settings are reported by the command that reads them
        secrets = []
    configure_logging(secrets)
    app()
