"""The generator over HTTP: the real aiohttp server around the real service, and the real client.

Faults (5xx, 429, slow answers) come from small local aiohttp fakes; the "two bot processes" test
runs real subprocesses that wire themselves to the server through FIGMENT_GENERATOR_URL.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from typer.testing import CliRunner

from bot import texts
from bot.cli import app as cli
from bot.errors import UserError
from bot.faces import FaceService
from bot.refs import PlayerRef
from generator.serving.client import HttpFaceSource
from generator.serving.server import encode, serve_forever, start_server
from generator.interface import FaceSource, GeneratorBusy, GeneratorUnavailable, InvalidRequest
from generator.serving.prometheus import scraped
from generator.serving.service import GeneratorService, ServiceConfig
from tests.fakes import DrawnFaceModel, GatedModel

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token-not-secret"
HANG_GUARD = 20


def drawn(seed: int, psi: float = 0.7) -> bytes:
    return DrawnFaceModel().generate([seed], psi)[0].tobytes()


@asynccontextmanager
async def serving(model=None, config: ServiceConfig | None = None,  # type: ignore[no-untyped-def]
                  token: str | None = TOKEN) -> AsyncIterator[tuple[str, GeneratorService]]:
    config = config or ServiceConfig(pool_psis=(0.7,), pool_size=4, refill_batch=2)
    async with GeneratorService(model or DrawnFaceModel(), config) as service:
        runner, port = await start_server(service, "127.0.0.1", 0, token=token)
        try:
            yield f"http://127.0.0.1:{port}", service
        finally:
            await runner.cleanup()


@asynccontextmanager
async def fake_server(handler) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """A local server that answers /health and /generate with `handler` (for faults)."""
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "model_version": "fake-1"})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/generate", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_generate_returns_the_seeded_face_as_png() -> None:
    async with serving() as (url, _), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/generate", params={"seed": "42", "psi": "0.5"}, headers=auth()) as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            assert response.headers["X-Figment-Seed"] == "42"
            assert float(response.headers["X-Figment-Psi"]) == 0.5
            assert response.headers["X-Figment-Model-Version"] == DrawnFaceModel.model_version
            image = Image.open(io.BytesIO(await response.read()))
            assert image.convert("RGB").tobytes() == drawn(42, 0.5)


async def test_the_server_refuses_a_missing_or_wrong_token() -> None:
    async with serving() as (url, service), aiohttp.ClientSession() as http:
        for headers in ({}, auth("wrong"), {"Authorization": TOKEN}, auth(TOKEN + "x")):
            for path in ("/generate?seed=1", "/metrics"):
                async with http.get(url + path, headers=headers) as response:
                    assert response.status == 401
                    assert response.headers["WWW-Authenticate"] == "Bearer"
                    assert (await response.json())["error"] == "unauthorized"
        async with http.get(f"{url}/health") as response:  # health needs no token
            assert response.status == 200
            body = await response.json()
            assert body["status"] == "ok" and body["model_version"] == DrawnFaceModel.model_version
        assert service.metrics.requests_total("generated") == 0


@pytest.mark.parametrize("params, message", [
    ({"count": "10000"}, "count must be a whole number from 1 to 64"),
    ({"count": "0"}, "count must be a whole number from 1 to 64"),
    ({"count": "two"}, "count must be a whole number from 1 to 64"),
    ({"seed": "abc"}, "seed must be a whole number from 0 to 4294967295"),
    ({"seed": "-1"}, "seed must be a whole number from 0 to 4294967295"),
    ({"seed": "4294967295", "count": "2"}, "seed + count - 1 must not pass 4294967295"),
    ({"psi": "2"}, "truncation must be a number from 0.0 to 1.5"),
    ({"psi": "nan"}, "truncation must be a number from 0.0 to 1.5"),
    ({"psi": "x"}, "psi must be a number from 0 to 1.5"),
    ({"format": "gif"}, "format must be png, jpeg or ppm"),
    ({"size": "9"}, "unknown parameter: size (use seed, psi, count, format)"),
])
async def test_bad_parameters_get_a_clear_400(params, message) -> None:  # type: ignore[no-untyped-def]
    model = DrawnFaceModel()
    async with serving(model) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/generate", params=params, headers=auth()) as response:
            assert response.status == 400
            assert await response.json() == {"error": "invalid", "message": message}
    assert all(len(psis) and set(psis) == {0.7} for _, psis in model.calls)  # only pool refills ran


async def test_count_above_one_returns_json_with_base64_images_and_consecutive_seeds() -> None:
    async with serving() as (url, _), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/generate", params={"seed": "5", "count": "3", "format": "jpeg"},
                            headers=auth()) as response:
            assert response.status == 200
            body = await response.json()
    assert body["model_version"] == DrawnFaceModel.model_version
    assert [face["seed"] for face in body["faces"]] == [5, 6, 7]
    for face in body["faces"]:
        assert face["content_type"] == "image/jpeg" and face["psi"] == 0.7
        image = Image.open(io.BytesIO(base64.b64decode(face["data"])))
        assert image.format == "JPEG" and image.size == (64, 64)


async def test_random_count_uses_the_pool_and_gives_distinct_faces() -> None:
    async with serving() as (url, service), aiohttp.ClientSession() as http:
        async with asyncio.timeout(HANG_GUARD):
            await service.wait_pool_full()
        async with http.get(f"{url}/generate", params={"count": "10"}, headers=auth()) as response:
            body = await response.json()
    seeds = [face["seed"] for face in body["faces"]]
    assert len(set(seeds)) == 10
    assert service.metrics.requests_total("pool_hit") == 4


async def test_post_takes_json_or_form_parameters() -> None:
    async with serving() as (url, _), aiohttp.ClientSession() as http:
        async with http.post(f"{url}/generate", json={"seed": 9, "psi": 0.5}, headers=auth()) as response:
            assert response.status == 200 and response.headers["X-Figment-Seed"] == "9"
            assert Image.open(io.BytesIO(await response.read())).convert("RGB").tobytes() == drawn(9, 0.5)
        async with http.post(f"{url}/generate", data={"seed": "9", "psi": "0.5"}, headers=auth()) as response:
            assert response.status == 200 and response.headers["X-Figment-Seed"] == "9"
        async with http.post(f"{url}/generate", data="{not json", headers={
                **auth(), "Content-Type": "application/json"}) as response:
            assert response.status == 400
        async with http.post(f"{url}/generate", json=[1, 2], headers=auth()) as response:
            assert response.status == 400
        async with http.post(f"{url}/generate", json={"seed": True}, headers=auth()) as response:
            assert response.status == 400
        async with http.post(f"{url}/generate", data="[" * 50_000, headers={
                **auth(), "Content-Type": "application/json"}) as response:
            assert response.status == 400 and (await response.json())["error"] == "invalid"
        async with http.post(f"{url}/generate", data=b"seed=\xff", headers={
                **auth(), "Content-Type": "application/x-www-form-urlencoded"}) as response:
            assert response.status == 400 and (await response.json())["error"] == "invalid"


async def test_a_token_header_that_is_not_utf8_is_refused_not_a_crash() -> None:
    async with serving() as (url, _):
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /generate?seed=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n"
                     b"Connection: close\r\n\r\n")
        async with asyncio.timeout(HANG_GUARD):
            answer = await reader.read()
        writer.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


async def test_metrics_are_prometheus_text() -> None:
    async with serving() as (url, _), aiohttp.ClientSession() as http:
        await (await http.get(f"{url}/generate?seed=3", headers=auth())).read()
        async with http.get(f"{url}/generate?count=10000", headers=auth()) as response:
            assert response.status == 400
        async with http.get(f"{url}/metrics", headers=auth()) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
    assert scraped(text, "figment_generator_requests_total", outcome="generated") == 1
    assert "# TYPE figment_generator_batch_size histogram" in text
    assert scraped(text, "figment_generator_queue_depth") == 0
    assert scraped(text, "figment_generator_up") == 1
    assert 'figment_generator_pool_level{psi="0.7"}' in text
    assert scraped(text, "figment_generator_request_seconds_bucket", path="model", le="+Inf") == 1
    assert scraped(text, "figment_http_requests_total", route="/generate", status="200") == 1
    assert scraped(text, "figment_http_requests_total", route="/generate", status="400") == 1
    assert scraped(text, "figment_http_request_seconds_count", route="/generate") == 2
    assert "# TYPE figment_http_request_seconds histogram" in text
    assert scraped(text, "process_resident_memory_bytes") > 0  # the server's process, too


async def test_a_full_queue_answers_429_and_the_client_raises_busy() -> None:
    model = GatedModel()
    async with serving(model, ServiceConfig(pool_size=0, queue_size=2, max_batch=1)) as (url, service):
        async with HttpFaceSource(url, token=TOKEN) as source:
            blocker = asyncio.create_task(source.face(1))
            await asyncio.to_thread(model.entered.wait, HANG_GUARD)
            queued = [asyncio.create_task(source.face(seed)) for seed in (2, 3)]
            async with asyncio.timeout(HANG_GUARD):
                while service.queue_depth < 2:
                    await asyncio.sleep(0.005)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{url}/generate?seed=4", headers=auth()) as response:
                    assert response.status == 429 and response.headers["Retry-After"] == "1"
            with pytest.raises(GeneratorBusy):
                await source.face(5)
            model.gate.set()
            faces = await asyncio.gather(blocker, *queued)
            assert [face.seed for face in faces] == [1, 2, 3]


async def test_client_is_a_face_source_and_gets_seeded_faces() -> None:
    async with serving() as (url, _):
        source = HttpFaceSource(url, token=TOKEN)
        assert isinstance(source, FaceSource)
        async with source:
            assert source.model_version == DrawnFaceModel.model_version  # learned from /health
            face = await source.face(42, 0.9)
            assert (face.seed, face.psi) == (42, 0.9)
            assert face.image.convert("RGB").tobytes() == drawn(42, 0.9)
            randoms = await asyncio.gather(*(source.face() for _ in range(6)))
            assert len({f.seed for f in randoms}) == 6
            with pytest.raises(InvalidRequest):
                await source.face(-1)
            with pytest.raises(InvalidRequest):
                await source.face(1, 3.0)


async def test_ppm_is_the_exact_pixels_and_the_client_uses_it_over_loopback_only() -> None:
    async with serving() as (url, _), aiohttp.ClientSession() as http:
        async with http.get(f"{url}/generate", params={"seed": "3", "format": "ppm"}, headers=auth()) as response:
            assert response.content_type == "image/x-portable-pixmap"
            assert Image.open(io.BytesIO(await response.read())).tobytes() == drawn(3)
        for image_format in ("ppm", "png", "jpeg"):
            async with HttpFaceSource(url, token=TOKEN, image_format=image_format) as source:
                face = await source.face(3)
                assert face.seed == 3 and face.image.size == (64, 64)
                if image_format != "jpeg":
                    assert face.image.convert("RGB").tobytes() == drawn(3)
    assert HttpFaceSource("http://127.0.0.1:8600").image_format == "ppm"
    assert HttpFaceSource("http://localhost:8600/").image_format == "ppm"
    assert HttpFaceSource("http://[::1]:8600").image_format == "ppm"
    assert HttpFaceSource("http://generator.internal:8600").image_format == "png"
    assert HttpFaceSource("http://10.0.0.5:8600").image_format == "png"


async def test_client_with_a_wrong_token_or_no_server_is_unavailable() -> None:
    async with serving() as (url, _):
        async with HttpFaceSource(url, token="wrong") as source:
            with pytest.raises(GeneratorUnavailable):
                await source.face(1)
    # The server is gone now: the client still starts, then says unavailable, quickly.
    async with HttpFaceSource(url, token=TOKEN, backoff=0.01) as source:
        assert source.model_version == "unknown"
        async with asyncio.timeout(HANG_GUARD):
            with pytest.raises(GeneratorUnavailable, match="unavailable"):
                await source.face(1)


async def test_client_aimed_at_a_server_that_is_not_ours_starts_and_says_unavailable() -> None:
    async def not_ours(request: web.Request) -> web.Response:
        return web.json_response(["not", "a", "generator"])

    app = web.Application()
    app.router.add_get("/health", not_ours)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with HttpFaceSource(f"http://127.0.0.1:{runner.addresses[0][1]}") as source:
            assert source.model_version == "unknown"
            with pytest.raises(GeneratorUnavailable):
                await source.health()
    finally:
        await runner.cleanup()


async def test_client_retries_5xx_then_succeeds() -> None:
    hits = []

    async def flaky(request: web.Request) -> web.Response:
        hits.append(request.query["seed"])
        if len(hits) < 3:
            return web.json_response({"error": "unavailable", "message": "warming up"}, status=503)
        return web.Response(body=encode(DrawnFaceModel().generate([8], 0.7)[0], "png"), content_type="image/png",
                            headers={"X-Figment-Seed": "8", "X-Figment-Psi": "0.7",
                                     "X-Figment-Model-Version": "fake-1"})

    async with fake_server(flaky) as url, HttpFaceSource(url, retries=2, backoff=0.01) as source:
        face = await source.face(8)
    assert hits == ["8", "8", "8"]
    assert face.model_version == "fake-1" and face.image.convert("RGB").tobytes() == drawn(8)


async def test_client_gives_up_after_its_retries_and_does_not_retry_busy_or_slow() -> None:
    hits = []

    async def broken(request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(status=500, text="boom")

    async with fake_server(broken) as url, HttpFaceSource(url, retries=2, backoff=0.01) as source:
        with pytest.raises(GeneratorUnavailable):
            await source.face(1)
    assert len(hits) == 3

    hits.clear()

    async def busy(request: web.Request) -> web.Response:
        hits.append(1)
        return web.json_response({"error": "busy", "message": "busy"}, status=429)

    async with fake_server(busy) as url, HttpFaceSource(url, backoff=0.01) as source:
        with pytest.raises(GeneratorBusy):
            await source.face(1)
    assert len(hits) == 1

    hits.clear()
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        hits.append(1)
        await release.wait()
        return web.Response(status=500)

    async with fake_server(slow) as url, HttpFaceSource(url, timeout=0.2, backoff=0.01) as source:
        with pytest.raises(GeneratorUnavailable, match="in time"):
            await source.face(1)
        release.set()
    assert len(hits) == 1


async def test_a_bot_whose_generator_is_down_says_unavailable() -> None:
    async with serving() as (url, _):
        pass  # the server is gone
    async with HttpFaceSource(url, backoff=0.01) as source:
        faces = FaceService(source, size=64, per_minute=100)
        player = PlayerRef("telegram", "1", "Ada")
        with pytest.raises(UserError) as error:
            await faces.face(player, "42")
        assert error.value.message == texts.GENERATOR_UNAVAILABLE
        with pytest.raises(UserError) as error:  # and again: it keeps running
            await faces.face(player)
        assert error.value.message == texts.GENERATOR_UNAVAILABLE


BOT_PROCESS = """
import asyncio, hashlib, json
from bot.settings import Settings
from bot.ops.wiring import open_face_source

async def main():
    async with open_face_source(Settings(_env_file=None)) as source:
        randoms = await asyncio.gather(*(source.face() for _ in range(8)))
        seeded = [await source.face(42, 0.7), await source.face(7, 0.5)]
        print(json.dumps({
            "kind": type(source).__name__,
            "random": [[f.seed, hashlib.sha256(f.image.convert("RGB").tobytes()).hexdigest()] for f in randoms],
            "seeded": [[f.seed, hashlib.sha256(f.image.convert("RGB").tobytes()).hexdigest()] for f in seeded],
        }))

asyncio.run(main())
"""


async def test_two_bot_processes_sharing_one_server_get_distinct_random_and_identical_seeded_faces() -> None:
    async with serving(config=ServiceConfig(pool_psis=(0.7,), pool_size=4, refill_batch=2)) as (url, _):
        env = {**os.environ, "FIGMENT_GENERATOR_URL": url, "FIGMENT_GENERATOR_TOKEN": TOKEN}
        env.pop("FIGMENT_GENERATOR_TIMEOUT", None)
        processes = [await asyncio.create_subprocess_exec(
            sys.executable, "-c", BOT_PROCESS, cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        async with asyncio.timeout(60):
            outputs = [await process.communicate() for process in processes]
    results = []
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err.decode()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert {result["kind"] for result in results} == {"HttpFaceSource"}
    random_seeds = [seed for result in results for seed, _ in result["random"]]
    random_images = [digest for result in results for _, digest in result["random"]]
    assert len(set(random_seeds)) == 16 and len(set(random_images)) == 16  # no face served twice
    assert results[0]["seeded"] == results[1]["seeded"]
    expected = [[42, hashlib.sha256(drawn(42, 0.7)).hexdigest()], [7, hashlib.sha256(drawn(7, 0.5)).hexdigest()]]
    assert results[0]["seeded"] == expected


def test_serve_command_refuses_a_bad_port_clearly() -> None:
    result = CliRunner().invoke(cli, ["generator", "serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "port must be from 1 to 65535" in result.output
    assert "Traceback" not in result.output


async def test_sigterm_stops_the_server_at_once_even_during_a_model_call() -> None:
    """Waiting requests get a 503 at once instead of holding the shutdown until the model answers."""
    gate, entered = threading.Event(), threading.Event()

    class Stuck(DrawnFaceModel):
        def generate(self, seeds, psi):  # type: ignore[no-untyped-def]
            entered.set()
            gate.wait(HANG_GUARD)
            return super().generate(seeds, psi)

    ports: list[int] = []
    service = GeneratorService(Stuck(), ServiceConfig(pool_size=0))
    server = asyncio.create_task(serve_forever(service, "127.0.0.1", 0, on_ready=ports.append))
    try:
        async with asyncio.timeout(HANG_GUARD):
            while not ports:
                await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as http:
            request = asyncio.create_task(http.get(f"http://127.0.0.1:{ports[0]}/generate?seed=1"))
            await asyncio.to_thread(entered.wait, HANG_GUARD)  # its model call is running
            started = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)
            async with asyncio.timeout(HANG_GUARD):
                await server
                response = await request
            assert time.monotonic() - started < 5
            assert response.status == 503
            response.release()
    finally:
        gate.set()
