"""The daily challenge in a real browser (Debian's chromium via Playwright): two browsers, two
players, each alone with the same rounds; both see their share line and the daily boards, and
neither sees anything of the other's try."""
from __future__ import annotations

from bot import texts
from bot.app import Figment
from bot.daily import DAILY_ROUNDS
from tests.daily_helpers import DAILY_NUMBER, TODAY, check_finish, expected_share, result, truths
from tests.test_browser import Tab, browser, playwright_api, pytestmark, settings, url, wait_text  # noqa: F401


async def play(tab: Tab, app: Figment, guess: str) -> tuple[list[bytes], str]:
    """A whole try in one tab, always the same guess: (the images' bytes, the finish text)."""
    images = []
    for number in range(1, DAILY_ROUNDS + 1):
        message = tab.page.locator(f'.msg[data-id="daily-{TODAY:%Y%m%d}-{number}"]')
        await message.locator("button.answer").first.wait_for()
        assert await message.locator("button.answer").all_text_contents() == [texts.BUTTON_REAL, texts.BUTTON_FAKE]
        caption = texts.daily_caption(DAILY_NUMBER, number, DAILY_ROUNDS)
        await playwright_api.expect(message.locator(".text")).to_have_text(caption)
        image = message.locator("img")
        await playwright_api.expect(image).to_have_js_property("complete", True)
        assert await image.evaluate("img => img.naturalWidth") > 0
        source = await image.evaluate("img => img.src")
        images.append(await (await tab.page.context.request.get(source)).body())
        await message.locator(f"button.answer[data-guess={guess}]").click()
        told = result(number, (await truths(app))[number - 1], guess == "real")
        await playwright_api.expect(message.locator(".text")).to_have_text(f"{caption}\n{told}")
        assert await message.locator("button.answer").count() == 0
    finish = tab.page.locator(".msg.kind-daily .text").last
    await wait_text(finish, "All-time daily board:")
    return images, await finish.text_content() or ""


async def test_two_browsers_play_the_daily_challenge_alone(browser, url: str, app: Figment) -> None:  # noqa: F811
    # two browser contexts: two browsers, two player ids, as two people on two machines
    ada_context, bob_context = await browser.new_context(), await browser.new_context()
    ada = await Tab.open(ada_context, url, "Ada")
    bob = await Tab.open(bob_context, url, "Bob")
    for tab in (ada, bob):
        await wait_text(tab.page.locator("#online"), "Online: Ada, Bob")

    await ada.page.click(".shortcuts button[data-say='/daily']")  # the page's Daily button
    ada_images, ada_done = await play(ada, app, "real")
    assert await bob.page.locator(".msg.kind-daily").count() == 0  # Ada played alone
    assert "/daily" not in await bob.page.locator(".msg.kind-user .text").all_text_contents()

    await bob.say("/daily")  # typed
    bob_images, bob_done = await play(bob, app, "fake")
    assert ada_images == bob_images  # the same rounds, byte for byte
    real = await truths(app)
    ada_share, bob_share = expected_share(real, True), expected_share(real, False)
    check_finish(ada_done, ada_share, ["Ada"])
    check_finish(bob_done, bob_share, ["Ada", "Bob"])
    assert await ada.page.locator(".msg.kind-daily").count() == DAILY_ROUNDS + 1  # Bob's try stayed his

    await ada.say("/daily")  # one try a day
    await ada.expect_note(texts.daily_done(ada_share))
    await ada.shot("daily-ada")
    await bob.shot("daily-bob")
    assert ada.problems == [] and bob.problems == []
    await ada_context.close()
    await bob_context.close()
