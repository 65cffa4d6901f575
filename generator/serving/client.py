"""A FaceSource that asks a shared `figment generator serve` over HTTP.

Timeouts on every call; a retry or two, with a short backoff, on connection errors and 5xx;
GeneratorBusy (429) at once; GeneratorUnavailable when the server is down, refuses our token or
does not answer in time. A client whose server is down still starts: the bot keeps running and
tells users the generator is unavailable until the server is back.
"""
from __future__ import annotations

import asyncio
import base64
import io
import logging
from typing import TYPE_CHECKING, Sequence
from urllib.parse import urlsplit

import aiohttp
from PIL import Image

from generator.interface import (
    DEFAULT_PSI, GeneratedFace, GeneratorBusy, GeneratorUnavailable, InvalidRequest, check_psi, check_seed,
)
from generator.serving.netaddr import is_loopback_host

if TYPE_CHECKING:
    from generator.serving.remote_latents import RemoteLatents

log = logging.getLogger(__name__)

UNAVAILABLE = "the face generator is unavailable right now"
INLINE_DECODE_BYTES = 256 * 1024  # decode small images on the loop; bigger ones in a thread


class HttpFaceSource:
    """Use `async with HttpFaceSource(url) as source:` or `start()` / `aclose()`."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 15.0,
                 connect_timeout: float = 3.0, retries: int = 2, backoff: float = 0.2,
                 image_format: str | None = None) -> None:
        self.url = url.rstrip("/")
        # Over loopback bytes are free and encoding is not: uncompressed ppm. Elsewhere lossless png.
        self.image_format = image_format or ("ppm" if _is_loopback(self.url) else "png")
        self.model_version = "unknown"
        self.retries = retries
        self.backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    def remote_latents(self) -> "RemoteLatents":
        """The server's W side, for edits and morphs (blocking calls: use from a worker thread)."""
        from generator.serving.remote_latents import RemoteLatents

        return RemoteLatents(self.url, headers=self._headers, timeout=self._timeout.total or 15.0,
                             image_format=self.image_format, model_version=lambda: self.model_version)

    async def start(self) -> "HttpFaceSource":
        """Open the connection pool and learn the model version; a server that is down is only logged."""
        self._open()
        try:
            await self.health()
        except GeneratorUnavailable as error:
            log.warning("face generator at %s not reachable yet (%s); will try again per request", self.url, error)
        return self

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "HttpFaceSource":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def health(self) -> dict:
        """The server's /health answer; GeneratorUnavailable when it cannot be had."""
        try:
            async with self._open().get(f"{self.url}/health") as response:
                body = await response.json(content_type=None)
                if not isinstance(body, dict):
                    raise ValueError(f"health answered {type(body).__name__}, not an object")
                if response.status != 200:
                    raise GeneratorUnavailable(f"{UNAVAILABLE} (health says {body.get('status', response.status)})")
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise GeneratorUnavailable(UNAVAILABLE) from error
        self.model_version = str(body.get("model_version", self.model_version))
        return body

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace:
        psi = check_psi(psi)
        params = {"psi": repr(psi), "format": self.image_format}
        if seed is not None:
            params["seed"] = str(check_seed(seed))
        last_error: BaseException | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                async with self._open().get(f"{self.url}/generate", params=params) as response:
                    if response.status == 200:
                        return await self._read_face(response)
                    message = await _message(response)
                    if response.status == 400:
                        raise InvalidRequest(message or "invalid request")
                    if response.status == 429:
                        raise GeneratorBusy(message or "the face generator is busy")
                    if response.status in (401, 403):
                        log.error("the face generator at %s refused our token", self.url)
                        raise GeneratorUnavailable(UNAVAILABLE)
                    if response.status < 500:
                        raise GeneratorUnavailable(f"{UNAVAILABLE} (HTTP {response.status})")
                    last_error = GeneratorUnavailable(f"{UNAVAILABLE} (HTTP {response.status}: {message})")
            except aiohttp.ConnectionTimeoutError as error:  # never reached the server: worth another try
                last_error = error
            except asyncio.TimeoutError as error:  # a slow server gets no second request to choke on
                raise GeneratorUnavailable(f"{UNAVAILABLE} (no answer in time)") from error
            except aiohttp.ClientError as error:  # refused, reset, DNS: worth another try
                last_error = error
        log.warning("face generator at %s failed %d times: %r", self.url, self.retries + 1, last_error)
        raise GeneratorUnavailable(UNAVAILABLE) from last_error

    async def low_priority_faces(self, seeds: Sequence[int], psi: float = DEFAULT_PSI) -> list[GeneratedFace]:
        """The faces of these seeds at low priority (the server makes them only while no other
        request waits): one request per run of consecutive seeds. No retries: the face bank that
        asks tries again later anyway."""
        psi = check_psi(psi)
        faces: list[GeneratedFace] = []
        for first, count in _runs([check_seed(seed) for seed in seeds]):
            params = {"seed": str(first), "count": str(count), "psi": repr(psi), "format": self.image_format,
                      "priority": "low"}
            try:
                async with self._open().post(f"{self.url}/generate", params=params) as response:
                    if response.status != 200:
                        message = await _message(response)
                        if response.status == 400:
                            raise InvalidRequest(message or "invalid request")
                        if response.status == 429:
                            raise GeneratorBusy(message or "the face generator is busy")
                        raise GeneratorUnavailable(f"{UNAVAILABLE} (HTTP {response.status})")
                    faces += await self._read_faces(response, count)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                raise GeneratorUnavailable(UNAVAILABLE) from error
        return faces

    async def _read_faces(self, response: aiohttp.ClientResponse, count: int) -> list[GeneratedFace]:
        if count == 1:
            return [await self._read_face(response)]
        try:
            body = await response.json(content_type=None)
            version = str(body.get("model_version", self.model_version))
            made = [(int(item["seed"]), float(item["psi"]), base64.b64decode(item["data"])) for item in body["faces"]]
            images = await asyncio.to_thread(lambda: [_decode(data) for _, _, data in made])
        except (KeyError, TypeError, ValueError, AttributeError, OSError) as error:
            raise GeneratorUnavailable(f"{UNAVAILABLE} (a malformed answer)") from error
        self.model_version = version
        return [GeneratedFace(image, seed, psi, version) for (seed, psi, _), image in zip(made, images)]

    async def _read_face(self, response: aiohttp.ClientResponse) -> GeneratedFace:
        data = await response.read()
        try:
            seed = int(response.headers["X-Figment-Seed"])
            psi = float(response.headers["X-Figment-Psi"])
            version = response.headers.get("X-Figment-Model-Version", self.model_version)
            image = _decode(data) if len(data) <= INLINE_DECODE_BYTES else await asyncio.to_thread(_decode, data)
        except (KeyError, ValueError, OSError) as error:
            raise GeneratorUnavailable(f"{UNAVAILABLE} (a malformed answer)") from error
        self.model_version = version
        return GeneratedFace(image, seed, psi, version)


def _runs(seeds: list[int]) -> list[tuple[int, int]]:
    """(first, count) of each run of consecutive seeds, in order, at most 64 (the server's cap) a run."""
    runs: list[tuple[int, int]] = []
    for seed in seeds:
        if runs and seed == runs[-1][0] + runs[-1][1] and runs[-1][1] < 64:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((seed, 1))
    return runs


def _is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def _message(response: aiohttp.ClientResponse) -> str:
    try:
        body = await response.json(content_type=None)
        return str(body.get("message", "")) if isinstance(body, dict) else ""
    except (ValueError, aiohttp.ClientError):
        return ""
