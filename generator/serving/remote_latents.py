"""Edits and morphs through a shared `figment generator serve`: the LatentModel calls over HTTP.

Edits and morphs work in W (generator/editing/latents.py): seeds to w, then w to pixels. A bot
process that asks a shared generator for its faces holds no model, so it asks the server for both
steps (POST /latents, POST /render) and does the W arithmetic itself (an edit's step along a
direction, a morph's blend), exactly as with the model in process.

Blocking calls (urllib): edits and morphs run in a worker thread already, off the event loop.
Errors as the async client's: InvalidRequest (400: e.g. a server whose generator has no W space;
TooCostly when its CPU would take too long to render them),
GeneratorBusy (429), GeneratorUnavailable (down, refused token, no answer in time, a malformed answer).
"""
from __future__ import annotations

import base64
import io
import json
import math
import urllib.error
import urllib.request
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image

from generator.interface import GeneratorBusy, GeneratorUnavailable, InvalidRequest, TooCostly, check_request

UNAVAILABLE = "the face generator is unavailable right now"
MAX_ROWS = 64  # the server's cap on one /render


class RemoteLatents:
    def __init__(self, url: str, *, headers: dict[str, str], timeout: float, image_format: str,
                 model_version: Callable[[], str]) -> None:
        self.url = url.rstrip("/")
        self.headers = headers
        self.timeout = timeout
        self.image_format = image_format
        self._version = model_version  # what the async client last heard from the server

    @property
    def model_version(self) -> str:
        return self._version()

    def w_of(self, seeds: Sequence[int], psi: float) -> torch.Tensor:
        """Truncated w (N x w_dim, fp32) of seeds, made by the server exactly as its faces."""
        seeds, _ = check_request(list(seeds), psi)
        rows = []
        for start in range(0, len(seeds), MAX_ROWS):
            body = self._post("/latents", json.dumps({"seeds": seeds[start:start + MAX_ROWS], "psi": psi}).encode(),
                              "application/json")
            try:
                rows.append(np.frombuffer(base64.b64decode(body["w"]), dtype="<f4").reshape(-1, int(body["w_dim"])))
            except (KeyError, TypeError, ValueError) as error:
                raise GeneratorUnavailable(f"{UNAVAILABLE} (a malformed answer)") from error
        return torch.from_numpy(np.concatenate(rows).astype(np.float32))

    def render(self, w: torch.Tensor) -> list[Image.Image]:
        """Faces of w (N x w_dim), made by the server."""
        faces: list[Image.Image] = []
        rows = w.detach().float().cpu().numpy().astype("<f4")
        for start in range(0, len(rows), MAX_ROWS):
            body = self._post(f"/render?format={self.image_format}", rows[start:start + MAX_ROWS].tobytes(),
                              "application/octet-stream")
            try:
                faces += [_decode(base64.b64decode(item["data"])) for item in body["faces"]]
            except (KeyError, TypeError, ValueError, OSError) as error:
                raise GeneratorUnavailable(f"{UNAVAILABLE} (a malformed answer)") from error
        return faces

    def _post(self, path: str, data: bytes, content_type: str) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}{path}", data=data, method="POST",
                                         headers={**self.headers, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = _answer(error)
            message = str(answer.get("message", ""))
            if error.code == 400 and answer.get("error") == "too_costly":
                raise TooCostly(_seconds(answer.get("seconds"))) from None
            if error.code == 400:
                raise InvalidRequest(message or "invalid request") from None
            if error.code == 429:
                raise GeneratorBusy(message or "the face generator is busy") from None
            raise GeneratorUnavailable(f"{UNAVAILABLE} (HTTP {error.code})") from None
        except (urllib.error.URLError, OSError, ValueError) as error:  # down, timed out, not JSON
            raise GeneratorUnavailable(UNAVAILABLE) from error
        if not isinstance(body, dict):
            raise GeneratorUnavailable(f"{UNAVAILABLE} (a malformed answer)")
        return body


def _answer(error: urllib.error.HTTPError) -> dict[str, Any]:
    """The JSON object of an error answer ({} when it has none)."""
    try:
        body = json.loads(error.read())
        return body if isinstance(body, dict) else {}
    except (ValueError, OSError):
        return {}


def _seconds(value: Any) -> float:
    """A too_costly answer's estimate (0 when malformed: the refusal stands all the same)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
