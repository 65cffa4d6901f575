"""The shared generator over HTTP (aiohttp), for bot processes that do not hold the model.

Routes
- GET  /health    200 {"status": "ok", "model_version", "queue_depth", "pool": {psi: level}};
                  503 {"status": "unavailable"} while the generator cannot take requests. No token needed.
- GET  /metrics   Prometheus text: requests, batch sizes, queue depth, pool level, latencies.
- GET or POST /generate   parameters seed (0..2**32-1; absent: random), psi (0..1.5, default 0.7),
                  count (1..64, default 1), format (png, jpeg or ppm, default png; ppm is uncompressed
                  RGB, the cheapest to make and read, for clients on the same machine); from the query string,
                  or for POST a JSON object or a form body. priority=low (seeded only): made only while
                  no other request waits (a bot's face bank asks for its candidates so).
                  count=1: the image itself, with headers X-Figment-Seed, X-Figment-Psi and
                  X-Figment-Model-Version. count>1: JSON {"model_version", "faces": [{"seed", "psi",
                  "content_type", "data": base64}]}; a seeded request gets seeds seed .. seed+count-1.
- POST /latents  JSON {"seeds": [up to 64 seeds], "psi"}: their truncated w, exactly as /generate makes
                  them: JSON {"model_version", "w_dim", "w": base64 little-endian float32, seeds x w_dim}.
- POST /render   body: little-endian float32 rows of w (1 to 64 rows of w_dim, finite), query format as
                  /generate: JSON {"model_version", "faces": [{"content_type", "data": base64}]}. With
                  /latents, what edits and morphs need (generator/serving/remote_latents.py); a generator
                  without a W space answers both with 400, and a render that would hold this CPU
                  too long (a large imported model) with 400 {"error": "too_costly", "seconds"}.
Errors are JSON {"error": kind, "message": text}: 400 invalid, 401 unauthorized (when a token is
configured, every route but /health needs `Authorization: Bearer TOKEN`), 429 busy (with
Retry-After), 503 unavailable.
"""
from __future__ import annotations

import asyncio
import base64
import hmac
import io
import logging
import signal
import socket
import time
from typing import Any, Mapping

import numpy as np
import torch
from aiohttp import web
from PIL import Image
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

from generator.editing.latents import LocalLatents, check_render_cost, latent_model
from generator.interface import (
    DEFAULT_PSI, GeneratedFace, GeneratorBusy, GeneratorUnavailable, InvalidRequest, MAX_SEED, TooCostly,
    check_request,
)
from generator.serving.prometheus import CONTENT_TYPE, LATENCY_BUCKETS, exposition
from generator.serving.service import GeneratorService

log = logging.getLogger(__name__)

MAX_COUNT = 64
# ppm: uncompressed RGB, next to free to write and read; what the bots' client asks for over loopback.
FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "ppm": "image/x-portable-pixmap"}
JPEG_QUALITY = 95
PNG_COMPRESS_LEVEL = 1  # lossless and quick: the bot re-encodes what it posts anyway
INLINE_ENCODE_PIXELS = 256 * 256  # images up to this size are encoded on the event loop

MAX_W_ROWS = 64  # a morph's 60 frames fit in one /render
MAX_W_ABS = 1000.0  # far beyond any w the mapping makes or an edit reaches: anything bigger is garbage
NO_W_SPACE = "this generator has no W space: edits and morphs need a StyleGAN generator (Figment's own or imported weights)"

SERVICE = web.AppKey("service", GeneratorService)
TOKEN = web.AppKey("token", str)
LATENTS = web.AppKey("latents", dict)


class _HttpMetrics:
    """The server's own metrics, and the process's (CPU, memory, open files: one server per process)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter("figment_http_requests_total", "HTTP requests by route and status.",
                                ["route", "status"], registry=registry)
        self.latency = Histogram("figment_http_request_seconds", "HTTP request handling time by route.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=registry)
        ProcessCollector(registry=registry)


HTTP_METRICS = web.AppKey("http_metrics", _HttpMetrics)


def _error(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None,
           **extra: Any) -> web.Response:
    return web.json_response({"error": kind, "message": message, **extra}, status=status, headers=headers)


def _parse_int(value: Any, name: str, low: int, high: int) -> int:
    message = f"{name} must be a whole number from {low} to {high}"
    if isinstance(value, bool):
        raise InvalidRequest(message)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidRequest(message) from None
    if not low <= number <= high:
        raise InvalidRequest(message)
    return number


def _parse_psi(value: Any) -> float:
    # The service checks the range; here only "is it a number".
    if isinstance(value, bool):
        raise InvalidRequest("psi must be a number from 0 to 1.5")
    try:
        return float(str(value).strip())
    except ValueError:
        raise InvalidRequest("psi must be a number from 0 to 1.5") from None


def parse_priority(params: Mapping[str, Any]) -> bool:
    """True for priority=low (which needs a seed), False for normal (the default)."""
    priority = str(params.get("priority") or "normal").strip().lower()
    if priority not in ("normal", "low"):
        raise InvalidRequest("priority must be normal or low")
    if priority == "low" and params.get("seed") in (None, ""):
        raise InvalidRequest("priority=low needs a seed (the faces are made again from it)")
    return priority == "low"


def parse_generate(params: Mapping[str, Any]) -> tuple[int | None, float, int, str]:
    """(seed, psi, count, format) from request parameters, or InvalidRequest with a clear message."""
    params = {key: value for key, value in params.items() if key != "priority"}  # parse_priority reads it
    unknown = set(params) - {"seed", "psi", "count", "format"}
    if unknown:
        raise InvalidRequest(f"unknown parameter: {sorted(unknown)[0]} (use seed, psi, count, format)")
    seed_text = params.get("seed")
    seed = None if seed_text in (None, "") else _parse_int(seed_text, "seed", 0, MAX_SEED)
    psi = DEFAULT_PSI if params.get("psi") in (None, "") else _parse_psi(params["psi"])
    count = 1 if params.get("count") in (None, "") else _parse_int(params["count"], "count", 1, MAX_COUNT)
    if seed is not None and seed + count - 1 > MAX_SEED:
        raise InvalidRequest(f"seed + count - 1 must not pass {MAX_SEED}")
    fmt = str(params.get("format") or "png").lower()
    if fmt not in FORMATS:
        raise InvalidRequest("format must be png, jpeg or ppm")
    return seed, psi, count, "jpeg" if fmt == "jpg" else fmt


def encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    elif fmt == "ppm":
        image.convert("RGB").save(out, "PPM")
    else:
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _encode_all(faces: list[GeneratedFace], fmt: str) -> list[bytes]:
    return [encode(face.image, fmt) for face in faces]


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Bearer token check (all but /health) and per-route metrics."""
    started = time.perf_counter()
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "other"
    token = request.app[TOKEN]
    if token and request.path != "/health":
        # A header that is not UTF-8 arrives with surrogates: compare its raw bytes, never raise.
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            response: web.StreamResponse = _error(
                401, "unauthorized", "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
            _count(request, route, response.status, started)
            return response
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
        _count(request, route, response.status, started)
        raise
    _count(request, route, response.status, started)
    return response


def _count(request: web.Request, route: str, status: int, started: float) -> None:
    metrics = request.app[HTTP_METRICS]
    metrics.requests.labels(route=route, status=str(status)).inc()
    metrics.latency.labels(route=route).observe(time.perf_counter() - started)


async def _health(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not service.healthy:
        return web.json_response({"status": "unavailable", "model_version": service.model_version}, status=503)
    return web.json_response({
        "status": "ok",
        "model_version": service.model_version,
        "queue_depth": service.queue_depth,
        "pool": {f"{psi:g}": level for psi, level in service.pool_levels().items()},
    })


async def _metrics(request: web.Request) -> web.Response:
    body = exposition(request.app[SERVICE].metrics.registry, request.app[HTTP_METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except (ValueError, RecursionError):  # bad JSON, bad UTF-8, or nested too deep
                raise InvalidRequest("the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise InvalidRequest("the JSON body must be an object")
            params.update(body)
        else:
            try:
                params.update(await request.post())
            except UnicodeDecodeError:
                raise InvalidRequest("the form body is not valid UTF-8") from None
    return params


async def _generate(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        params = await _params(request)
        seed, psi, count, fmt = parse_generate(params)
        if parse_priority(params):
            assert seed is not None  # parse_priority refuses a low-priority request without one
            faces = await service.low_priority_faces(range(seed, seed + count), psi)
        else:
            faces = await service.faces(count, seed, psi)
    except InvalidRequest as error:
        return _error(400, "invalid", str(error))
    except GeneratorBusy as error:
        return _error(429, "busy", str(error), {"Retry-After": "1"})
    except GeneratorUnavailable as error:
        return _error(503, "unavailable", str(error), {"Retry-After": "5"})
    if count == 1 and len(faces) == 1:
        face = faces[0]
        # A small image encodes in well under a millisecond: cheaper here than a hop to a thread.
        small = face.image.width * face.image.height <= INLINE_ENCODE_PIXELS
        data = encode(face.image, fmt) if small else await asyncio.to_thread(encode, face.image, fmt)
        return web.Response(body=data, content_type=FORMATS[fmt], headers={
            "X-Figment-Seed": str(face.seed),
            "X-Figment-Psi": repr(face.psi),
            "X-Figment-Model-Version": face.model_version,
            "Cache-Control": "no-store",
        })
    encoded = await asyncio.to_thread(_encode_all, faces, fmt)
    return web.json_response({
        "model_version": faces[0].model_version,
        "faces": [{"seed": face.seed, "psi": face.psi, "content_type": FORMATS[fmt],
                   "data": base64.b64encode(data).decode("ascii")} for face, data in zip(faces, encoded)],
    }, headers={"Cache-Control": "no-store"})


def _latents_of(request: web.Request) -> LocalLatents:
    """The W side of the model the service holds now (it may reload one), or InvalidRequest."""
    model = request.app[SERVICE].model
    held = request.app[LATENTS]
    if held.get("model") is not model:
        held["model"], held["latents"] = model, latent_model(model)
    if held["latents"] is None:
        raise InvalidRequest(NO_W_SPACE)
    return held["latents"]


def parse_latents(params: Mapping[str, Any]) -> tuple[list[int], float]:
    unknown = set(params) - {"seeds", "psi"}
    if unknown:
        raise InvalidRequest(f"unknown parameter: {sorted(unknown)[0]} (use seeds, psi)")
    seeds = params.get("seeds")
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= MAX_COUNT:
        raise InvalidRequest(f"seeds must be a list of 1 to {MAX_COUNT} seeds")
    psi = DEFAULT_PSI if params.get("psi") in (None, "") else _parse_psi(params["psi"])
    checked, _ = check_request([_parse_int(seed, "seed", 0, MAX_SEED) for seed in seeds], psi)
    return checked, psi


def parse_w_rows(body: bytes, w_dim: int) -> np.ndarray:
    row = 4 * w_dim
    if not body or len(body) % row or not 1 <= len(body) // row <= MAX_W_ROWS:
        raise InvalidRequest(f"the body must be 1 to {MAX_W_ROWS} rows of {w_dim} little-endian float32 values")
    w = np.frombuffer(body, dtype="<f4").reshape(-1, w_dim)
    if not np.isfinite(w).all() or np.abs(w).max() > MAX_W_ABS:
        raise InvalidRequest(f"w values must be finite and within ±{MAX_W_ABS:g}")
    return w.astype(np.float32)


async def _w_of_seeds(request: web.Request) -> web.Response:
    try:
        if request.content_type != "application/json":
            raise InvalidRequest("send a JSON object: {\"seeds\": [...], \"psi\": ...}")
        seeds, psi = parse_latents(await _params(request))
        latents = _latents_of(request)
        w = await asyncio.to_thread(latents.w_of, seeds, psi)
    except InvalidRequest as error:
        return _error(400, "invalid", str(error))
    return web.json_response({"model_version": latents.model_version, "w_dim": latents.w_dim,
                              "w": base64.b64encode(w.numpy().astype("<f4").tobytes()).decode("ascii")},
                             headers={"Cache-Control": "no-store"})


async def _render(request: web.Request) -> web.Response:
    try:
        fmt = str(request.query.get("format") or "png").lower()
        if fmt not in FORMATS or set(request.query) - {"format"}:
            raise InvalidRequest("the only parameter is format: png, jpeg or ppm")
        latents = _latents_of(request)
        w = parse_w_rows(await request.read(), latents.w_dim)
        check_render_cost(latents, len(w))  # a large model on this CPU would hold it for minutes
        images = await asyncio.to_thread(latents.render, torch.from_numpy(w))
    except TooCostly as error:
        return _error(400, "too_costly", str(error), seconds=error.seconds)
    except InvalidRequest as error:
        return _error(400, "invalid", str(error))
    fmt = "jpeg" if fmt == "jpg" else fmt
    encoded = await asyncio.to_thread(lambda: [encode(image, fmt) for image in images])
    return web.json_response({
        "model_version": latents.model_version,
        "faces": [{"content_type": FORMATS[fmt], "data": base64.b64encode(data).decode("ascii")} for data in encoded],
    }, headers={"Cache-Control": "no-store"})


def create_app(service: GeneratorService, *, token: str | None = None) -> web.Application:
    """The web app around a started (or soon started) service. The caller owns the service."""
    # 160 KiB: a /render of 64 rows of w (128 KiB); every other body is far smaller
    app = web.Application(middlewares=[_guard], client_max_size=160 * 1024)
    app[SERVICE] = service
    app[TOKEN] = token or ""
    app[HTTP_METRICS] = _HttpMetrics()
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/generate", _generate)
    app.router.add_post("/generate", _generate)
    app.router.add_post("/latents", _w_of_seeds)
    app.router.add_post("/render", _render)
    app[LATENTS] = {}
    return app


async def start_server(service: GeneratorService, host: str = "127.0.0.1", port: int = 8600, *,
                       token: str | None = None) -> tuple[web.AppRunner, int]:
    """Serve `service` on host:port (port 0: any free one). Returns the runner and the bound port.

    Stop with `await runner.cleanup()`. Raises OSError when the address cannot be bound.
    """
    runner = web.AppRunner(create_app(service, token=token), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)  # our own socket: port 0 tells what it got
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, sock.getsockname()[1]


async def serve_forever(service: GeneratorService, host: str, port: int, *, token: str | None = None,
                        on_ready: Any = None) -> None:
    """Start the service and the server, run until SIGINT or SIGTERM, then stop both quickly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    async with service:
        runner, bound = await start_server(service, host, port, token=token)
        try:
            if on_ready is not None:
                on_ready(bound)
            await stop.wait()
        finally:
            # Service first: waiting requests get their 503 at once, so the server's cleanup (which
            # waits for open handlers) does not wait for a model call to finish.
            await service.aclose()
            await runner.cleanup()
