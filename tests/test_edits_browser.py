"""Morphs (and edited faces) in the playground, in a real browser (Debian's chromium, Playwright),
on the shipped generator on the CPU."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from bot import texts
from bot.app import Figment
from generator.loading import load_face_model
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.test_browser import CHROMIUM, Tab, browser, playwright_api, served, wait_text  # noqa: F401

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
FRAMES = 24


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    app = await Figment.open(make_settings(tmp_path, morph_frames=FRAMES, morph_per_minute=1000),
                             DirectSource(load_face_model(device="cpu")))
    try:
        async with served(app) as address:
            yield address
    finally:
        await app.close()


async def newest_image_loaded(tab: Tab) -> dict:
    await tab.page.wait_for_function(
        "() => { const img = [...document.querySelectorAll('.msg.kind-bot img')].pop();"
        " return img && img.complete && img.naturalWidth > 0; }", timeout=120_000)
    return await tab.page.locator(".msg.kind-bot img").last.evaluate(
        "img => ({src: img.src, width: img.naturalWidth})")


async def test_playground_morph_plays_as_a_gif_and_bad_input_is_told(browser, url: str) -> None:
    context = await browser.new_context()
    tab = await Tab.open(context, url, "Ada")
    await tab.say("/morph 42 7")
    image = await newest_image_loaded(tab)
    assert image["width"] == 256
    response = await context.request.get(image["src"])
    body = await response.body()
    assert response.headers["content-type"] == "image/gif" and body[:6] == b"GIF89a"
    await wait_text(tab.page.locator(".msg.kind-bot .text").last, "seed 42 to seed 7")
    await wait_text(tab.page.locator(".msg.kind-bot .text").last, texts.AI_NOTICE)
    await tab.say("/morph 42")
    await tab.expect_note(texts.MORPH_USAGE)
    await tab.say("/morph 42 42")
    await tab.expect_note(texts.MORPH_SAME)
    await tab.say("/morph 1 99999999999")
    await tab.expect_note(texts.MORPH_BAD_SEED)
    await tab.shot("morph")
    assert tab.problems == []
    await context.close()


async def slide(tab: Tab, slider: str, value: str) -> None:
    """Move a range input as a user's drag ends: input events, then change."""
    await tab.page.locator(slider).evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }",
        value)


async def test_playground_sliders_edit_the_seeded_face(browser, url: str) -> None:
    context = await browser.new_context()
    tab = await Tab.open(context, url, "Ada")
    await tab.page.fill("#edit-seed", "42")
    await slide(tab, "#edit-age", "70")
    await wait_text(tab.page.locator(".msg.kind-bot .text").last, "age 70")
    first = await newest_image_loaded(tab)
    assert first["width"] == 512
    await slide(tab, "#edit-smile", "2")
    await wait_text(tab.page.locator(".msg.kind-bot .text").last, "age 70, smiling")
    second = await newest_image_loaded(tab)
    assert second["src"] != first["src"]
    assert await tab.page.locator(".msg.kind-user").last.inner_text() != ""
    await playwright_api.expect(tab.page.locator("#edit-age-value")).to_have_text("70")
    await tab.say("/face 42 age 99")
    await tab.expect_note(texts.edit_bad_age(10, 80))
    await tab.say("/face 42 taller")
    await tab.expect_note(texts.edit_unknown("taller", ("older", "younger", "smile", "serious", "strip")))
    await tab.shot("edit-sliders")
    assert tab.problems == []
    await context.close()
