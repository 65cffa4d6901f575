"""Wiring the generator into a bot: in-process around real (tiny) weights, or the HTTP client; and
`figment generator serve` as a real process."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import torch
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.settings import Settings, get_settings
from bot.ops.wiring import build_face_source, open_face_source, pool_psis
from generator.model.checkpoint import export_generator
from generator.serving.client import HttpFaceSource
from generator.interface import GeneratorUnavailable
from generator.model.networks import Generator, preset
from generator.serving.service import GeneratorService

REPO = Path(__file__).resolve().parent.parent
HANG_GUARD = 60


@pytest.fixture
def tiny_weights(tmp_path: Path) -> Path:
    torch.manual_seed(1)
    path = tmp_path / "tiny.safetensors"
    export_generator(path, Generator(preset("tiny", 16)), {"kimg": 1})
    return path


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[arg-type]


async def test_in_process_source_serves_the_real_model(tmp_path: Path, tiny_weights: Path) -> None:
    config = settings(tmp_path, weights=tiny_weights, device="cpu", quiz_psis=(0.5, 0.9))
    assert pool_psis(config) == (0.5, 0.7, 0.9)
    async with open_face_source(config) as source:
        assert isinstance(source, GeneratorService)
        assert source.model_version.startswith("sg2-16px-1k-")
        first, again = await source.face(5, 0.7), await source.face(5, 0.7)
        assert first.image.size == (16, 16) and first.image.tobytes() == again.image.tobytes()
        assert (await source.face(6, 0.7)).image.tobytes() != first.image.tobytes()
        assert set(source.pool_levels()) == {0.5, 0.7, 0.9}
        async with asyncio.timeout(HANG_GUARD):
            while source.pool_levels()[0.7] < 3:  # refilling in the background
                await asyncio.sleep(0.01)
        randoms = await asyncio.gather(*(source.face() for _ in range(5)))
        assert len({face.seed for face in randoms}) == 5
        assert source.metrics.requests_total("pool_hit") >= 3
    assert not source.healthy


def test_missing_weights_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(GeneratorUnavailable, match="nope.safetensors"):
        build_face_source(settings(tmp_path, weights=tmp_path / "nope.safetensors", device="cpu"))


async def test_a_generator_url_gives_the_http_client_with_the_token(tmp_path: Path) -> None:
    config = settings(tmp_path, generator_url="http://127.0.0.1:9/", generator_token="abc")
    source = build_face_source(config)
    assert isinstance(source, HttpFaceSource)
    assert source.url == "http://127.0.0.1:9" and source._headers == {"Authorization": "Bearer abc"}
    async with open_face_source(config) as opened:  # nothing listens on port 9: it starts all the same
        assert opened.model_version == "unknown"


def test_serve_command_with_missing_weights_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FIGMENT_WEIGHTS", str(tmp_path / "nope.safetensors"))
    monkeypatch.setenv("FIGMENT_DEVICE", "cpu")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["generator", "serve", "--port", "8611"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "cannot load the face model" in result.output and "nope.safetensors" in result.output
    assert "Traceback" not in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_command_serves_with_a_token_and_stops_on_sigterm(tmp_path: Path, tiny_weights: Path) -> None:
    port = free_port()
    env = {**os.environ, "FIGMENT_WEIGHTS": str(tiny_weights), "FIGMENT_DEVICE": "cpu",
           "FIGMENT_DATA_DIR": str(tmp_path), "FIGMENT_GENERATOR_TOKEN": "tok"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "generator", "serve", "--port", str(port),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(HANG_GUARD), aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"{url}/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    assert process.returncode is None, (await process.stdout.read()).decode()  # type: ignore[union-attr]
                    await asyncio.sleep(0.1)
            async with http.get(f"{url}/generate?seed=3") as response:
                assert response.status == 401
        async with HttpFaceSource(url, token="tok") as source:
            face = await source.face(3)
            assert face.seed == 3 and face.image.size == (16, 16)
            assert source.model_version.startswith("sg2-16px-")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(HANG_GUARD):
            output = (await process.communicate())[0].decode()
    assert process.returncode == 0, output
    assert f"on http://127.0.0.1:{port}" in output and "token required" in output
    assert "tok" not in output.replace("token required", "")  # the token itself is never printed
