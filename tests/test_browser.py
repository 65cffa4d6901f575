"""The playground in a real browser: Debian's chromium driven by Playwright, against the running demo.

Screenshots go to artifacts/ (git-ignored) for CI to keep.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from bot import texts
from bot.app import Figment
from bot.settings import Settings
from bot.web_app import serve
from bot.web_app.inputs import MAX_MESSAGE_CHARS
from tests.conftest import REPO, add_real_photos, make_settings

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO / "artifacts"
HTML_NAME = "Bob<img src=x onerror=alert(1)>"  # 31 characters: within the name limit
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
playwright_api = pytest.importorskip("playwright.async_api", reason="needs playwright (pip install -e '.[dev]')")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Both tabs answer, so a round closes early (the test checks it does); the long round only
    # keeps a busy machine from closing it before the second click.
    return make_settings(tmp_path, round_seconds=30)


@asynccontextmanager
async def served(app: Figment, *, stop_seconds: float = 10, **options: Any) -> AsyncIterator[str]:
    """The playground of app, served in-process on a free port: its URL (the other browser tests use it too)."""
    stop, urls = asyncio.Event(), []
    task = asyncio.create_task(serve(app, stop, host="127.0.0.1", port=0, on_ready=urls.append, **options))
    while not urls:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield urls[0]
    finally:
        stop.set()
        await asyncio.wait_for(task, stop_seconds)


@pytest.fixture
async def url(app: Figment) -> AsyncIterator[str]:
    """The demo's server, started in-process on a free port."""
    await add_real_photos(app)
    async with served(app) as address:
        yield address


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


class Tab:
    """One browser tab on the playground, failing the test on any script error or dialog."""

    def __init__(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.name = name
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("dialog", lambda dialog: self.problems.append(f"dialog: {dialog.message}"))
        page.set_default_timeout(TIMEOUT_MS)

    @classmethod
    async def open(cls, context, url: str, name: str) -> "Tab":  # type: ignore[no-untyped-def]
        tab = cls(await context.new_page(), name)
        await tab.page.goto(url)
        await tab.page.locator(".msg.kind-bot").first.wait_for()  # the welcome: the live stream is up
        await tab.set_name(name)
        return tab

    async def set_name(self, name: str) -> None:
        await self.page.fill("#name", name)
        await self.page.press("#name", "Tab")  # 'change' fires: the tab reconnects as this player

    async def say(self, text: str) -> None:
        await self.page.fill("#text", text)
        await self.page.press("#text", "Enter")

    async def expect_note(self, text: str) -> None:
        """The newest private note says exactly `text` (waits for it to arrive)."""
        await playwright_api.expect(self.page.locator(".msg.note .text").last).to_have_text(text)

    async def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)


async def wait_text(locator, text: str) -> None:  # type: ignore[no-untyped-def]
    await playwright_api.expect(locator).to_contain_text(text, timeout=TIMEOUT_MS)


async def test_face_image_decodes_and_bad_input_gets_friendly_messages(browser, url: str) -> None:
    context = await browser.new_context()
    tab = await Tab.open(context, url, "Ada")
    await tab.say("/face 7")
    image = tab.page.locator(".msg.kind-bot img").last
    await image.wait_for()
    await tab.page.wait_for_function(
        "() => { const img = [...document.querySelectorAll('.msg.kind-bot img')].pop();"
        " return img && img.complete && img.naturalWidth > 0; }")
    assert await image.evaluate("img => img.naturalWidth") > 0
    await wait_text(tab.page.locator(".msg.kind-bot .text").last, "seed 7")
    await playwright_api.expect(tab.page.locator("#text")).to_have_value("")  # sent: the box is cleared

    await tab.say("/face banana")
    await tab.expect_note(texts.BAD_SEED)
    await tab.say("x" * 10_000)
    await tab.expect_note(texts.web_message_too_long(MAX_MESSAGE_CHARS))
    assert await tab.page.input_value("#text") == "x" * 10_000  # kept, so it can be shortened
    await tab.set_name("   ")
    await playwright_api.expect(tab.page.locator("#online")).to_have_text("")  # no name: only watching
    await tab.say("/face 8")
    await tab.expect_note(texts.WEB_NEED_NAME)
    await playwright_api.expect(tab.page.locator(".msg.note")).to_have_count(3)  # a reconnect keeps notes
    await tab.shot("bad-input")

    await tab.set_name("Ada")  # the server is still up and answers
    await tab.say("/help")
    await wait_text(tab.page.locator(".msg.kind-bot .text").last, "/leaderboard")
    await tab.shot("face")
    assert tab.problems == []
    await context.close()


async def test_two_tabs_play_one_round_and_names_show_as_text(browser, url: str) -> None:
    context = await browser.new_context()  # one browser, two tabs: the names make two players
    ada = await Tab.open(context, url, "Ada")
    bob = await Tab.open(context, url, HTML_NAME)
    for tab in (ada, bob):
        await wait_text(tab.page.locator("#online"), f"Online: Ada, {HTML_NAME}")

    await ada.say("/quiz 1")
    for tab, guess in ((ada, "real"), (bob, "fake")):
        round_message = tab.page.locator(".msg.kind-round").last
        await round_message.locator("button.answer").first.wait_for()
        await tab.page.wait_for_function(
            "() => { const img = document.querySelector('.msg.kind-round img');"
            " return img && img.complete && img.naturalWidth > 0; }")
        await round_message.locator(f"button.answer[data-guess={guess}]").click()
        await wait_text(round_message.locator(".toast"), texts.ANSWER_RECORDED)

    # both answered: the round closes early, the reveal edits the message in both tabs
    for tab in (ada, bob):
        round_message = tab.page.locator(".msg.kind-round").last
        await wait_text(round_message.locator(".text"), "of 2 got it right")
        assert await round_message.locator("button.answer").count() == 0
        await wait_text(round_message.locator(".answered"), f"Answered: Ada, {HTML_NAME}")
        await wait_text(tab.page.locator(".msg.kind-summary .text"), "Game over!")
        await wait_text(tab.page.locator("#board"), HTML_NAME)
        await wait_text(tab.page.locator("#board"), "Ada")

    await bob.say("/leaderboard")
    for tab in (ada, bob):
        board = tab.page.locator(".msg.kind-bot .text").last
        await wait_text(board, "Ada")
        await wait_text(board, HTML_NAME)
    await ada.shot("quiz-ada")
    await bob.shot("quiz-bob")

    for tab in (ada, bob):  # the name is text everywhere: no element was made from it
        assert await tab.page.locator("img[src='x']").count() == 0
        assert await tab.page.locator(".who *, .text *, #board *, #online *").count() == 0
        names = await tab.page.locator(".msg.kind-user .who").all_text_contents()
        assert HTML_NAME in names
        assert tab.problems == []
    await context.close()


async def test_check_an_image_from_the_page(browser, url: str, tmp_path: Path) -> None:
    """The page's /check picker sends a file and shows the answer as a private note."""
    context = await browser.new_context()
    tab = await Tab.open(context, url, "Ada")
    await tab.say("/face 9")
    image = tab.page.locator(".msg.kind-bot img").last
    await image.wait_for()
    face = tmp_path / "face.png"
    source = await image.evaluate("img => img.src")  # absolute
    face.write_bytes(await (await context.request.get(source)).body())
    await tab.page.set_input_files("#check", str(face))
    await wait_text(tab.page.locator(".msg.note .text").last, "Made by Figment")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    await tab.page.set_input_files("#check", str(notes))
    await tab.expect_note(texts.CHECK_NOT_IMAGE)
    assert tab.problems == []
    await context.close()
