"""`figment demo`: the playground, Figment in a local web page, no Discord or Telegram token needed."""
from __future__ import annotations

import asyncio
import signal
import webbrowser

import typer

from bot.cli.common import console, fail, settings
from generator.serving.netaddr import is_loopback_host


def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on. Keep 127.0.0.1 unless you mean to share it."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on."),
    open_page: bool = typer.Option(False, "--open", help="Also open the page in the default web browser."),
) -> None:
    """Try Figment in a local web page: /face, /quiz, /leaderboard, /stats, several players in tabs."""
    from bot.web_app.demo import DemoError, run_demo  # aiohttp app: only loaded for this command

    config = settings()
    if not is_loopback_host(host):
        console.print(f"[yellow]warning:[/] listening on {host}: anyone who can reach it can play, "
                      "with no login.", highlight=False)

    def ready(url: str) -> None:
        console.print(f"Figment playground: [bold]{url}[/]  (Ctrl+C to stop)", highlight=False)
        if open_page:
            webbrowser.open(url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):  # not on this platform: Ctrl+C still ends it
                pass
        await run_demo(config, host=host, port=port, stop=stop, on_ready=ready,
                       say=lambda text: console.print(text, highlight=False))

    try:
        asyncio.run(main())
    except DemoError as error:
        fail(str(error))
    except KeyboardInterrupt:
        pass
    console.print("playground stopped")
