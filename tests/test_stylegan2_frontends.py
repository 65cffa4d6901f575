"""An imported official StyleGAN2 served like Figment's own model, on every front-end.

The 64 px reference snapshot is imported with `figment weights import`; the core starts the way
`figment run` starts it, with FIGMENT_WEIGHTS naming the import. `/face 42` on the fake Bot API
(the real PTB client), the fake Discord (the real discord.py client) and the playground must post
the face `figment generate --weights W --seed 42 --psi P` writes, after the one /face pipeline
(within one level per pixel), and name the imported model.
"""
from __future__ import annotations

import io
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from typer.testing import CliRunner

from bot import texts
from bot.app import Figment
from bot.cli import app as cli_app
from bot.provenance import watermark
from bot.provenance.credentials import FaceFacts
from bot.provenance.marking import FaceMarks
from bot.web_app import build_app
from bot.ops.wiring import load_curator, open_face_source
from tests.conftest import make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import make_world, running_bot
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import start_bot
from tests.test_stylegan2_equality import DATA

NAME = "ffhq-test"
SEED, PSI = 42, 0.5


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("import") / NAME
    done = CliRunner().invoke(cli_app, ["weights", "import", str(DATA / "sg2_64-snapshot.pkl"), "--name", NAME,
                                        "--licence", "random weights, test only", "--out", str(out)])
    assert done.exit_code == 0, done.output
    return out / "generator.safetensors"


@pytest.fixture(scope="module")
def version(imported: Path) -> str:
    """The version the import must carry: its name, resolution and the card's source SHA-256."""
    sha = re.search(r"source SHA-256 \| `([0-9a-f]{64})`", (imported.parent / "MODEL_CARD.md").read_text())
    assert sha is not None
    return f"{NAME}-64px-{sha.group(1)[:8]}"


@pytest.fixture(scope="module")
def generated(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    """What `figment generate --weights W --seed 42 --psi 0.5` writes."""
    out = tmp_path_factory.mktemp("faces")
    done = CliRunner().invoke(cli_app, ["generate", "--weights", str(imported), "--seed", str(SEED), "--psi",
                                        str(PSI), "--count", "1", "--device", "cpu", "--out", str(out)])
    assert done.exit_code == 0, done.output
    [png] = out.glob("*.png")
    return Image.open(png).convert("RGB")


def expected_post(generated: Image.Image, version: str, size: int) -> np.ndarray:
    """The CLI's face through the one /face pipeline (posted size, watermark, PNG)."""
    caption = texts.face_caption(SEED, PSI, version)
    posted = FaceMarks().posted(generated, size, caption, FaceFacts(version, SEED, PSI))
    return np.asarray(Image.open(io.BytesIO(posted.data)).convert("RGB")).astype(int)


def assert_same_face(data: bytes, expected: np.ndarray) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    got = np.asarray(image.convert("RGB")).astype(int)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1


@asynccontextmanager
async def imported_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imported: Path,
                        **overrides: object) -> AsyncIterator[Figment]:
    """The core as `figment run` assembles it, with FIGMENT_WEIGHTS naming the import."""
    monkeypatch.setenv("FIGMENT_WEIGHTS", str(imported))
    monkeypatch.setenv("FIGMENT_DEVICE", "cpu")
    settings = make_settings(tmp_path, curate_k=1, **{"precision": "fp32", **overrides})  # compared with the official fp32 faces
    assert settings.weights == imported
    async with open_face_source(settings) as source:
        figment = await Figment.open(settings, source, curator=load_curator(settings, source.model_version))
        try:
            yield figment
        finally:
            await figment.close()


def test_the_version_names_the_import(imported: Path, version: str) -> None:
    from generator.loading import load_face_model

    assert load_face_model(imported, "cpu").model_version == version


async def test_face_42_on_telegram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imported: Path,
                                   version: str, generated: Image.Image) -> None:
    async with FakeBotApi() as api, imported_core(tmp_path, monkeypatch, imported) as figment:
        running = await start_bot(api, figment.settings, figment=figment)
        try:
            user = api.user(5, "Alice")
            chat = api.private(user)
            api.command(chat, user, f"/face {SEED} {PSI}")
            [photo] = await api.wait_calls("sendPhoto")
        finally:
            running.stop.set()
            await running.task
    assert photo.params["caption"] == texts.face_caption(SEED, PSI, version)
    assert_same_face(photo.files["photo"].data, expected_post(generated, version, figment.settings.posted_size))


async def test_face_42_on_discord(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imported: Path,
                                  version: str, generated: Image.Image) -> None:
    fake = await FakeDiscord().start()
    try:
        world = make_world(fake, ["Carol"])
        async with imported_core(tmp_path, monkeypatch, imported, posted_size=256) as figment, \
                running_bot(fake, figment):
            card = await fake.reply(await fake.slash("face", world.members[0], world.general, seed=SEED, psi=PSI))
    finally:
        await fake.close()
    fields = {field["name"]: field["value"] for field in card["embeds"][0]["fields"]}
    assert fields == {"Seed": str(SEED), "Truncation (psi)": str(PSI), "Model": version}
    [attachment] = card["attachments"]
    assert_same_face(fake.file_bytes(attachment), expected_post(generated, version, 256))


async def test_face_42_in_the_playground(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imported: Path,
                                         version: str, generated: Image.Image) -> None:
    async with imported_core(tmp_path, monkeypatch, imported) as figment, \
            TestClient(TestServer(build_app(figment))) as client:
        response = await client.post("/api/say", json={"client": "ada-0000-browser", "name": "Ada",
                                                       "text": f"/face {SEED} {PSI}"})
        body = await response.json()
        assert body["ok"], body
        reply = body["messages"][-1]
        image = await (await client.get(reply["image"])).read()
    assert texts.face_caption(SEED, PSI, version) in reply["text"]
    assert_same_face(image, expected_post(generated, version, figment.settings.posted_size))
    # the invisible mark names the imported model (its 16-bit id), not Figment's own
    reading = watermark.read(Image.open(io.BytesIO(image)), figment.settings.posted_size)
    assert reading.found and reading.model_id == watermark.model_id(version)
