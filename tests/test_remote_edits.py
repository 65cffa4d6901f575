"""Edits and morphs through a shared `figment generator serve`: the real server (aiohttp) with the
shipped model, the bot's real HTTP client, and its bad inputs: the same edited face and morph as
with the model in process, clear refusals from a server without a W space, one that is down, and
bad /latents and /render requests."""
from __future__ import annotations

import io
import json
import struct
from typing import AsyncIterator

import aiohttp
import numpy as np
import pytest
from PIL import Image

from bot import texts
from bot.edits.face_edits import EditService
from bot.edits.morphs import MorphService
from bot.errors import UserError
from bot.refs import PlayerRef
from generator.loading import load_face_model
from generator.serving.client import HttpFaceSource
from generator.serving.direct import DirectSource
from generator.serving.server import MAX_W_ROWS, start_server
from generator.serving.service import GeneratorService, ServiceConfig
from tests.fakes import DrawnFaceModel

TOKEN = "edit-token"
ANN = PlayerRef("telegram", "1", "Ann")


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_face_model(device="cpu", precision="fp32")


async def serve(face_model: object) -> AsyncIterator[tuple[str, GeneratorService]]:
    async with GeneratorService(face_model, ServiceConfig(pool_size=0)) as service:  # type: ignore[arg-type]
        runner, port = await start_server(service, "127.0.0.1", 0, token=TOKEN)
        try:
            yield f"http://127.0.0.1:{port}", service
        finally:
            await runner.cleanup()


@pytest.fixture
async def server(model) -> AsyncIterator[tuple[str, GeneratorService]]:  # type: ignore[no-untyped-def]
    async for served in serve(model):
        yield served


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)


async def test_an_edit_and_a_morph_through_the_server_match_the_model_in_process(server, model) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    async with HttpFaceSource(url, token=TOKEN) as client:
        remote = EditService(client, None, size=256, per_minute=100)
        local = EditService(DirectSource(model), None, size=256, per_minute=100)
        for words in (["42", "older"], ["7", "0.5", "age", "30", "smile"]):
            there, here = await remote.face_words(ANN, words), await local.face_words(ANN, words)
            assert there.caption == here.caption and there.model_version == model.model_version
            # the same w, stepped here, rendered there: the same face within a level
            assert np.abs(pixels(there.image.data) - pixels(here.image.data)).mean() < 1.0
        strip = await remote.face_words(ANN, ["42", "older", "strip"])
        assert Image.open(io.BytesIO(strip.image.data)).width > Image.open(io.BytesIO(strip.image.data)).height
        morphs = MorphService(client, frames=24, per_minute=100)
        morph = await morphs.morph(ANN, 3, 4)
        assert morph.frames == 24 and morph.mp4.data[4:8] == b"ftyp" and morph.gif.data[:6] == b"GIF89a"


async def test_a_server_without_w_or_down_gets_a_clear_reply(model) -> None:  # type: ignore[no-untyped-def]
    async for url, _ in serve(DrawnFaceModel()):
        async with HttpFaceSource(url, token=TOKEN) as client:
            with pytest.raises(UserError) as refused:  # the shipped directions are not for this model
                await EditService(client, None, size=128, per_minute=100).face_words(ANN, ["42", "older"])
            assert refused.value.message == texts.EDIT_NO_DIRECTIONS
            with pytest.raises(UserError) as refused:  # the server has no W to morph in
                await MorphService(client, frames=24, per_minute=100).morph(ANN, 1, 2)
            assert refused.value.message == texts.EDITS_UNAVAILABLE
    async with HttpFaceSource("http://127.0.0.1:9", token=TOKEN, timeout=2, retries=0) as down:
        with pytest.raises(UserError) as refused:
            await EditService(down, None, size=128, per_minute=100).face_words(ANN, ["42", "older"])
        assert refused.value.message == texts.GENERATOR_UNAVAILABLE


@pytest.mark.parametrize("body, message", [
    ({"seeds": []}, "seeds must be a list of 1 to 64 seeds"),
    ({"seeds": list(range(65))}, "seeds must be a list of 1 to 64 seeds"),
    ({"seeds": 42}, "seeds must be a list of 1 to 64 seeds"),
    ({"seeds": ["x"]}, "seed must be a whole number"),
    ({"seeds": [2**32]}, "seed must be a whole number"),
    ({"seeds": [1], "psi": 9}, "truncation must be a number from 0.0 to 1.5"),
    ({"seeds": [1], "psi": "soft"}, "psi must be a number"),
    ({"seeds": [1], "what": 1}, "unknown parameter: what"),
])
async def test_bad_latents_requests_get_a_400_with_a_message(server, body, message) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async with http.post(f"{url}/latents", json=body) as response:
            assert response.status == 400
            assert message in (await response.json())["message"]


async def test_bad_render_requests_get_a_400_and_the_token_is_needed(server, model) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    w_dim = model.G.cfg.w_dim
    row = np.zeros(w_dim, "<f4").tobytes()
    bad = {
        "empty": b"",
        "a torn row": row[:-4],
        "too many rows": row * (MAX_W_ROWS + 1),
        "not finite": struct.pack("<f", float("nan")) + row[4:],
        "absurd": struct.pack("<f", 1e9) + row[4:],
    }
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for what, body in bad.items():
            async with http.post(f"{url}/render", data=body) as response:
                assert response.status == 400, what
                assert "little-endian float32" in (await response.json())["message"] or \
                    "finite" in (await response.json())["message"], what
        async with http.post(f"{url}/render?format=gif", data=row) as response:
            assert response.status == 400
        async with http.post(f"{url}/latents", data="seeds=1") as response:
            assert response.status == 400 and "JSON" in (await response.json())["message"]
        async with http.post(f"{url}/render?format=png", data=row * 2) as response:
            assert response.status == 200
            faces = (await response.json())["faces"]
            assert len(faces) == 2 and faces[0]["content_type"] == "image/png"
    async with aiohttp.ClientSession() as http:
        for path, body in (("/render", row), ("/latents", json.dumps({"seeds": [1]}).encode())):
            async with http.post(f"{url}{path}", data=body) as response:
                assert response.status == 401
