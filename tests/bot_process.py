"""`figment run` as a real child process, configured only through FIGMENT_* variables.

The child runs this checkout's code (`python -m bot.cli run`, PYTHONPATH at the repository) in a
folder of its own, so no .env of the developer leaks in; its output goes to a log file a failing
test can show. kill() is SIGKILL: no clean-up of any kind runs in the child.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from tests.conftest import REPO


def bot_env(**settings: object) -> dict[str, str]:
    """The environment of a child bot: this one without FIGMENT_* variables, plus `settings`
    (name=value becomes FIGMENT_NAME=value). One torch thread: several bots share few cores."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FIGMENT_")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for name, value in settings.items():
        if value is not None:
            env[f"FIGMENT_{name.upper()}"] = str(value)
    return env


class BotProcess:
    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.env = env
        self.folder = folder
        self.log_path = folder / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        work = self.folder / f"{self.name}-cwd"
        work.mkdir(exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", env=self.env, cwd=work,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL: the process dies where it stands."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (a clean stop, as an operator's), then SIGKILL if it does not end in time."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except asyncio.TimeoutError:
                self.process.send_signal(signal.SIGKILL)
                await self.process.wait()
        return self.process.returncode

    def log(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


async def wait_until(check: Callable[[], object], timeout: float, what: str, processes: list[BotProcess]) -> None:
    """Poll check() until it is true; fail at once, with its log, if a process exits meanwhile."""
    deadline = time.monotonic() + timeout
    while not check():
        for process in processes:
            if not process.alive:
                raise AssertionError(f"{process.name} exited while waiting for {what}:\n{process.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n" +
                                 "\n".join(f"--- {p.name}\n{p.log(30)}" for p in processes))
        await asyncio.sleep(0.1)
