"""`figment generator serve`: one shared generator, over HTTP, for every bot process on the machine."""
from __future__ import annotations

import asyncio

import typer

from bot.cli import directions_commands
from bot.cli.common import console, fail, settings
from generator.serving.netaddr import is_loopback_host

app = typer.Typer(help="The shared face generator.", no_args_is_help=True)
app.add_typer(directions_commands.app, name="directions")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; loopback by default."),
    port: int = typer.Option(8600, help="TCP port."),
    token: str = typer.Option("", help="Bearer token clients must send (default FIGMENT_GENERATOR_TOKEN; "
                                       "prefer the variable: a command line is visible to other users)."),
    max_batch: int = typer.Option(0, help="Most requests per model call (0: the device's default)."),
    queue_size: int = typer.Option(0, help="Waiting requests before 'busy' (0: the device's default)."),
    pool_size: int = typer.Option(-1, help="Ready faces kept per truncation (-1: the device's default)."),
) -> None:
    """Serve faces over HTTP: /generate, /health, /metrics. Bots use it via FIGMENT_GENERATOR_URL."""
    from bot.ops.wiring import load_model, service_config
    from generator.serving.server import serve_forever
    from generator.serving.service import GeneratorService

    if not 0 < port < 65536:
        fail(f"port must be from 1 to 65535, not {port}")
    if max_batch < 0 or queue_size < 0 or pool_size < -1:
        fail("max-batch, queue-size and pool-size must not be negative")
    config = settings()
    token = token or (config.generator_token.get_secret_value() if config.generator_token else "")
    if not is_loopback_host(host) and not token:
        console.print(f"[yellow]warning:[/] serving on {host} without a token: anyone who can reach it may use it")
    try:
        model = load_model(config)
    except Exception as error:
        fail(f"cannot load the face model: {error}")
    overrides: dict[str, object] = {}
    if max_batch:
        overrides["max_batch"] = max_batch
    if queue_size:
        overrides["queue_size"] = queue_size
    if pool_size >= 0:
        overrides["pool_size"] = pool_size
    try:
        service = GeneratorService(model, service_config(config, model, **overrides),
                                   reload=lambda: load_model(config))
    except ValueError as error:
        fail(str(error))

    def ready(bound: int) -> None:
        console.print(f"face generator {model.model_version} on http://{host}:{bound} "
                      f"({'token required' if token else 'no token'}); Ctrl-C stops it")

    try:
        asyncio.run(serve_forever(service, host, port, token=token or None, on_ready=ready))
    except OSError as error:
        fail(f"cannot serve on {host}:{port}: {error.strerror or error}")
    except KeyboardInterrupt:
        pass
