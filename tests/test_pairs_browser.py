"""A pair game and the tips in the playground, in a real browser (Debian's chromium via Playwright)."""
from __future__ import annotations

from bot import texts
from bot.quiz import tips
from tests.test_browser import Tab, browser, playwright_api, pytestmark, settings, url, wait_text  # noqa: F401


async def test_two_tabs_play_a_pair_round_and_read_the_tips(browser, url: str) -> None:  # noqa: F811
    context = await browser.new_context()
    ada = await Tab.open(context, url, "Ada")
    bob = await Tab.open(context, url, "Bob")
    for tab in (ada, bob):
        await wait_text(tab.page.locator("#online"), "Online: Ada, Bob")

    await ada.say("/quiz pairs 0")
    await ada.expect_note(texts.bad_rounds(20))
    await ada.say("/quiz pairs 999")
    await ada.expect_note(texts.bad_rounds(20))
    await ada.say("/quiz pairs 1")
    for tab, guess in ((ada, "a"), (bob, "b")):
        round_message = tab.page.locator(".msg.kind-round").last
        await round_message.locator("button.answer").first.wait_for()
        labels = await round_message.locator("button.answer").all_text_contents()
        assert labels == [texts.BUTTON_A_REAL, texts.BUTTON_B_REAL]
        await tab.page.wait_for_function(
            "() => { const img = [...document.querySelectorAll('.msg.kind-round img')].pop();"
            " return img && img.complete && img.naturalWidth > 0; }")
        size = await round_message.locator("img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size[0] == 2 * size[1]  # two faces side by side
        shown = await round_message.locator("img").evaluate("img => [img.clientWidth, img.clientHeight]")
        assert abs(shown[0] - 2 * shown[1]) <= 2  # shown whole, not cropped to a square
        await round_message.locator(f"button.answer[data-guess={guess}]").click()
        await wait_text(round_message.locator(".toast"), texts.ANSWER_RECORDED)

    for tab in (ada, bob):
        round_message = tab.page.locator(".msg.kind-round").last
        await wait_text(round_message.locator(".text"), "1 of 2 got it right")
        await wait_text(round_message.locator(".text"), "was the REAL photo")
        await wait_text(round_message.locator(".text"), "Tip: ")
        assert await round_message.locator("button.answer").count() == 0
        await wait_text(tab.page.locator(".msg.kind-summary .text"), "This chat's pairs board")
        await wait_text(tab.page.locator("#board"), "pairs board")

    await bob.say("/leaderboard pairs")
    await wait_text(bob.page.locator(".msg.kind-bot .text").last, "This chat's pairs board")
    await bob.say("/tips")
    await wait_text(bob.page.locator(".msg.kind-bot .text").last, tips.FAKE_TIPS[-1])
    await bob.say("/tips now")
    await bob.expect_note(tips.TIPS_USAGE)
    await ada.shot("pairs-ada")
    assert ada.problems == [] and bob.problems == []
    await context.close()
