"""The playground in Russian and in Persian (right to left) in Chromium (issue 25): the page picks
the browser's Accept-Language, its picker switches language, a game is played through it.
Screenshots: docs/playground-ru.png and docs/playground-fa.png (the docs show them). Without the
ru or fa catalogue the test fails (translated() in test_languages.py), it does not skip.
"""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from bot import texts
from bot.app import Figment
from bot.settings import Settings
from generator.serving.direct import DirectSource
from tests.conftest import REPO, add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.test_browser import CHROMIUM, FLAGS, served
from tests.test_languages import translated

TIMEOUT_MS = 20_000
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
playwright_api = pytest.importorskip("playwright.async_api", reason="needs playwright (pip install -e '.[dev]')")


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    app = await Figment.open(make_settings(tmp_path, round_seconds=30), DirectSource(DrawnFaceModel()))
    await add_real_photos(app)
    try:
        async with served(app) as address:
            yield address
    finally:
        await app.close()


async def contains(locator, text: str) -> None:  # type: ignore[no-untyped-def]
    await playwright_api.expect(locator).to_contain_text(text, timeout=TIMEOUT_MS)


@pytest.mark.parametrize("lang, accept, direction", [("ru", "ru-RU,ru;q=0.9,en;q=0.5", "ltr"),
                                                      ("fa", "fa-IR,fa;q=0.9,en;q=0.3", "rtl")])
async def test_the_playground_in_the_browsers_language(url: str, lang: str, accept: str, direction: str) -> None:
    t = translated(lang)
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = await browser.new_context(locale=accept.split(",")[0], extra_http_headers={"Accept-Language": accept},
                                                viewport={"width": 1100, "height": 900})
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(url)
            html = page.locator("html")
            assert await html.get_attribute("lang") == lang and await html.get_attribute("dir") == direction
            assert await page.title() == t.PAGE_TITLE
            await playwright_api.expect(page.locator("#send")).to_have_text(t.PAGE_SEND)
            assert await page.locator("#text").get_attribute("placeholder") == t.PAGE_PLACEHOLDER
            assert await page.locator("#language").input_value() == lang
            # the bot's welcome, posted to the shared room at start, reads in this tab's language
            await contains(page.locator(".msg.kind-bot .text").first, t.START_HELLO)
            await page.fill("#name", "Ada")
            await page.press("#name", "Tab")
            await page.fill("#text", "/help")
            await page.press("#text", "Enter")
            await contains(page.locator(".msg.kind-bot .text").last, t.HELP_HEAD)
            # a game: the room speaks the language of whoever started its first game
            await page.fill("#text", "/quiz 1")
            await page.press("#text", "Enter")
            round_message = page.locator(".msg.kind-round").last
            await round_message.locator("button.answer").first.wait_for()
            await page.wait_for_function("() => { const img = document.querySelector('.msg.kind-round img');"
                                         " return img && img.complete && img.naturalWidth > 0; }")
            await contains(round_message.locator(".text"), t.round_caption(1, 1, 30))
            assert await round_message.locator("button.answer[data-guess=real]").inner_text() == t.BUTTON_REAL
            await round_message.locator("button.answer[data-guess=real]").click()
            await contains(round_message.locator(".toast"), t.ANSWER_RECORDED)
            await contains(page.locator(".msg.kind-summary .text"), t.summary_head(False, 1))
            await contains(round_message.locator(".answered"), t.PAGE_ANSWERED)
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(REPO / "docs" / f"playground-{lang}.png"), full_page=True)
            # the picker: the same page in English
            await page.select_option("#language", "en")
            await page.wait_for_url("**lang=en**")
            await playwright_api.expect(page.locator("#send")).to_have_text(texts.PAGE_SEND)
            assert await page.locator("html").get_attribute("dir") == "ltr"
            assert not problems, problems
        finally:
            await browser.close()
