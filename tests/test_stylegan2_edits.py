"""Morphs and edits with imported official StyleGAN2 weights: its W is a W like Figment's own.

The 64 px reference snapshot is imported with `figment weights import` (tests/test_stylegan2_frontends).
W of a seed rendered again is the seed's face; `/morph 42 7` on the fake Bot API (the real PTB
client) is an H.264 animation from face 42 to face 7 and back; edits say the import has no
directions yet; and on a CPU where a large import makes a face in seconds, a morph or a strip of
edits is refused with the reason instead of holding the bot's processor for minutes, by the bot
and by a shared `figment generator serve` alike.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from bot import texts
from bot.app import Figment
from bot.edits.animation import mp4_frames
from bot.edits.face_edits import EditService
from bot.edits.morphs import MorphService, affordable
from bot.errors import UserError
from bot.refs import PlayerRef
from generator.editing.latents import RENDER_BUDGET_SECONDS, latent_model, render_seconds
from generator.interface import TooCostly
from generator.loading import load_face_model
from generator.serving.client import HttpFaceSource
from generator.serving.direct import DirectSource
from generator.stylegan2.model import CPU_SECONDS_PER_FACE, ImportedFaceModel
from tests.conftest import make_settings
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import start_bot
from tests.telegram_fake.limits import ANIMATION_BYTES, FloodControl
from tests.test_remote_edits import TOKEN, serve
from tests.test_stylegan2_frontends import imported, version  # noqa: F401 (fixtures)

FRAMES = 24
ANN = PlayerRef("telegram", "1", "Ann")


@pytest.fixture(scope="module")
def model(imported: Path) -> ImportedFaceModel:  # noqa: F811
    loaded = load_face_model(imported, "cpu")
    assert isinstance(loaded, ImportedFaceModel)
    return loaded


def test_w_of_a_seed_rendered_is_the_seeds_face(model: ImportedFaceModel) -> None:
    assert latent_model(model) is model  # the imported model is its own W side
    w = model.w_of([42, 7], 0.5)
    assert w.shape == (2, model.w_dim)
    rendered = [np.asarray(face, int) for face in model.render(w)]
    made = [np.asarray(face, int) for face in model.generate([42, 7], 0.5)]
    for got, want in zip(rendered, made):  # the same arithmetic, batched alike: within a level
        assert got.shape == want.shape and np.abs(got - want).max() <= 1
    # psi pulls w toward the average, as generate's truncation does
    assert float((model.w_of([42], 0.0) - model.w_avg).abs().max()) < 1e-5


async def test_a_telegram_morph_from_imported_weights(tmp_path: Path, model: ImportedFaceModel,
                                                      version: str) -> None:  # noqa: F811
    settings = make_settings(tmp_path, morph_frames=FRAMES, morph_per_minute=1000)
    async with FakeBotApi(flood=FloodControl(chat_rate=1000, chat_burst=1000)) as api:
        running = await start_bot(api, settings, await Figment.open(settings, DirectSource(model)))
        try:
            user = api.user(11, "Ann")
            chat = api.private(user)
            api.command(chat, user, "/morph 42 7")
            [call] = await api.wait_calls("sendAnimation", 1, timeout=120)
        finally:
            await running.close()
    assert api.breaches == {}
    assert version in call.params["caption"] and "seed 42 to seed 7" in call.params["caption"]
    data = call.files["animation"].data
    assert len(data) < ANIMATION_BYTES
    frames = mp4_frames(data)
    assert len(frames) == FRAMES
    size = frames[0].size
    face_a, face_b = (np.asarray(model.generate([seed], 0.7)[0].resize(size), float) for seed in (42, 7))
    first, middle = (np.asarray(frames[i], float) for i in (0, FRAMES // 2))
    assert np.abs(first - face_a).mean() < np.abs(first - face_b).mean()
    assert np.abs(middle - face_b).mean() < np.abs(middle - face_a).mean()


async def test_edits_of_an_import_without_directions_say_so(model: ImportedFaceModel, imported: Path) -> None:  # noqa: F811
    service = EditService(DirectSource(model), imported, size=128, per_minute=100)
    with pytest.raises(UserError) as refused:
        await service.face_words(ANN, ["42", "older"])
    assert refused.value.message == texts.EDIT_NO_DIRECTIONS


async def test_a_large_import_on_a_cpu_refuses_morphs_and_strips(model: ImportedFaceModel,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert model.cpu_seconds_per_face is None and render_seconds(model, 100) is None  # 64 px: cheap
    monkeypatch.setattr(model, "resolution", 1024)  # as a 1024 px import would be, on this CPU
    per_face = CPU_SECONDS_PER_FACE[1024]
    assert model.cpu_seconds_per_face == per_face
    affordable(model, 1)  # one edited face costs what a /face costs: allowed
    with pytest.raises(UserError) as refused:
        affordable(model, 5)  # a strip of five
    assert refused.value.message == texts.too_slow_here(5 * per_face)
    assert 5 * per_face > RENDER_BUDGET_SECONDS
    service = MorphService(DirectSource(model), frames=FRAMES, per_minute=100)
    with pytest.raises(UserError) as refused:
        await service.morph(ANN, 42, 7)
    assert refused.value.message == texts.too_slow_here(FRAMES * per_face)
    assert "seconds" in refused.value.message and "/face" in refused.value.message
    assert not service.busy(ANN)  # refused before anything was started


async def test_a_shared_server_with_a_large_import_refuses_costly_renders(model: ImportedFaceModel,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "resolution", 1024)
    per_face = CPU_SECONDS_PER_FACE[1024]
    async for url, _ in serve(model):
        async with HttpFaceSource(url, token=TOKEN) as client:
            latents = client.remote_latents()
            w = await asyncio.to_thread(latents.w_of, [42, 7], 0.5)  # two rows of w: cheap, answered
            [face] = await asyncio.to_thread(latents.render, w[:1])  # one face: what a /face costs
            assert face.size == (64, 64)
            with pytest.raises(TooCostly) as refused:
                await asyncio.to_thread(latents.render, w[[0, 1, 0]])
            assert refused.value.seconds == pytest.approx(3 * per_face)
            with pytest.raises(UserError) as said:  # the bot's reply: the server's estimate, in words
                await MorphService(client, frames=FRAMES, per_minute=100).morph(ANN, 42, 7)
            assert said.value.message == texts.too_slow_here(FRAMES * per_face)
