"""The playground offers a revealed fake round's face with its marks, never an open round's."""
from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot import texts
from bot.app import Figment
from bot.provenance import watermark
from bot.web_app import build_app
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.test_web import ADA, answer, events, message, say


@pytest.fixture
async def client(app: Figment) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(app))) as test_client:
        yield test_client


async def test_download_with_credentials_only_after_the_reveal(client: TestClient, app: Figment) -> None:
    await add_real_photos(app)
    seen = set()
    async with events(client, "Ada", ADA) as ada:
        for _ in range(12):  # the coin decides real or fake: play until both were seen
            assert (await say(client, "/quiz 1"))[1]["ok"]
            posted = (await ada.until(message("round", lambda m: bool(m["buttons"]))))["message"]
            url = f"/api/rounds/{posted['round_id']}/credentials"
            open_reply = await client.get(url)  # the same answer for real and fake: no side channel
            assert open_reply.status == 409 and (await open_reply.json())["error"] == texts.CREDENTIALS_NOT_YET
            await answer(client, posted["round_id"], "real")
            revealed = (await ada.until(message("round", lambda m: m["id"] == posted["id"] and not m["buttons"]),
                                        timeout=5))["message"]
            await ada.until(message("summary"))
            response = await client.get(url)
            if revealed["download"] is None:
                seen.add("real")
                assert response.status == 409 and (await response.json())["error"] == texts.CREDENTIALS_REAL_PHOTO
                continue
            seen.add("fake")
            assert revealed["download"] == url and response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            reading = watermark.read(Image.open(io.BytesIO(await response.read())))
            assert reading.found and reading.model_id == watermark.model_id("test-drawn-1")
            if seen == {"real", "fake"}:
                break
    assert "fake" in seen
    assert (await client.get("/api/rounds/99999/credentials")).status == 409


async def test_check_in_the_playground(client: TestClient, app: Figment) -> None:
    _, body = await say(client, "/face 42 0.7")
    face = await client.get(body["messages"][-1]["image"])
    reply = await client.post("/api/check", data=await face.read(), headers={"Content-Type": "image/png"})
    assert reply.status == 200 and "Made by Figment, model test-drawn-1" in (await reply.json())["reply"]

    cut = await client.post("/api/check", data=(await face.read())[:3000], headers={"Content-Type": "image/png"})
    assert (await cut.json())["reply"] == texts.CHECK_BROKEN
    form = await client.post("/api/check", data="not an image", headers={"Content-Type": "text/plain"})
    assert form.status == 415 and (await form.json())["error"] == texts.CHECK_NOT_IMAGE
    huge = await client.post("/api/check", data=b"\0" * (21 * 1024 * 1024), headers={"Content-Type": "image/png"})
    assert huge.status == 413 and "too big" in (await huge.json())["error"]


async def test_an_image_that_arrives_in_pieces_is_read_whole(client: TestClient) -> None:
    """A busy network delivers a body in pieces: /check reads to the end, not what came first."""
    _, body = await say(client, "/face 42 0.7")
    image = await (await client.get(body["messages"][-1]["image"])).read()

    async def trickle() -> AsyncIterator[bytes]:
        for start in range(0, len(image), 4096):
            yield image[start:start + 4096]
            await asyncio.sleep(0.01)
    reply = await client.post("/api/check", data=trickle(), headers={"Content-Type": "image/png"})
    assert reply.status == 200 and "Made by Figment, model test-drawn-1" in (await reply.json())["reply"]

    async def too_much() -> AsyncIterator[bytes]:  # no length given: the limit holds while reading
        for _ in range(21):
            yield b"\0" * (1024 * 1024)
    huge = await client.post("/api/check", data=too_much(), headers={"Content-Type": "image/png"})
    assert huge.status == 413 and "too big" in (await huge.json())["error"]


async def test_check_in_the_playground_is_rate_limited_per_tab(tmp_path: Path) -> None:
    """FIGMENT_CHECK_PER_MINUTE per player id (?client=, as the page sends it); 429 with a friendly
    "try again in N s" past it, counted before the upload is read."""
    app = await Figment.open(make_settings(tmp_path, check_per_minute=2), DirectSource(DrawnFaceModel()))
    photo = Image.new("RGB", (300, 300), "tan")
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    try:
        async with TestClient(TestServer(build_app(app))) as client:
            async def check(who: str) -> tuple[int, dict]:
                reply = await client.post(f"/api/check?client={who}", data=buffer.getvalue(),
                                          headers={"Content-Type": "image/png"})
                return reply.status, await reply.json()
            for _ in range(2):
                status, body = await check(ADA)
                assert status == 200 and "No Figment mark found" in body["reply"]
            status, body = await check(ADA)
            assert status == 429 and re.fullmatch(r"Easy there! You can ask again in \d+ s\.", body["error"])
            status, body = await check("another-tab-0001")
            assert status == 200 and "No Figment mark found" in body["reply"]
            status, body = await check("bad id!")
            assert status == 400 and body["error"] == texts.WEB_BAD_CLIENT
    finally:
        await app.close()
