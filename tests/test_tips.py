"""What gives a fake away: a tip after each reveal, never repeated in a game; /tips everywhere."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from bot import texts
from bot.quiz import tips
from bot.app import Figment
from bot.errors import UserError
from bot.refs import ChatRef, PlayerRef
from generator.serving.direct import DirectSource
from tests.conftest import RecordingPresenter, add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import ephemeral_text, make_world, running_bot
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import replies, start_bot


def test_the_catalogue_is_large_and_in_our_words() -> None:
    assert len(tips.FAKE_TIPS) >= 20 and len(set(tips.FAKE_TIPS)) == len(tips.FAKE_TIPS)
    joined = " ".join(tips.FAKE_TIPS).lower()
    for topic in ("background", "earring", "hair", "teeth", "ears", "glasses", "text", "second person"):
        assert topic in joined, topic
    assert all(line.startswith("It was real") for line in tips.REAL_LINES)


@pytest.mark.parametrize("game_id", [1, 2, 77, 123456])
def test_no_tip_repeats_within_a_game_and_a_restart_shows_the_same(game_id: int) -> None:
    shown = [tips.tip_for(game_id, number) for number in range(1, 21)]
    assert len(set(shown)) == 20
    assert shown == [tips.tip_for(game_id, number) for number in range(1, 21)]


def test_tips_lists_them_all_and_arguments_get_a_kind_reply() -> None:
    text = tips.tips_text([])
    assert all(tip in text for tip in tips.FAKE_TIPS)
    with pytest.raises(UserError, match="on its own"):
        tips.tips_text(["please"])


async def test_each_reveal_carries_a_tip_and_a_real_photo_says_why(app: Figment) -> None:
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    truths = [True, False, True, False, False]
    app.quiz.choose_real = iter(truths).__next__
    chat = ChatRef("test", "tips-chat", "Tips", expected_players=1)
    await app.quiz.start(chat, PlayerRef("test", "u1", "Ann"), len(truths))
    for number in range(1, len(truths) + 1):
        post = await presenter.next_post(number)
        assert "Tip" not in post.caption  # nothing before the reveal
        await app.quiz.answer(post.round_id, PlayerRef("test", "u1", "Ann"), guess_real=True)
    await app.quiz.wait_idle()
    reveals = [reveal for _, _, reveal in presenter.reveals]
    assert [r.is_real for r in reveals] == truths
    shown = []
    for reveal in reveals:
        text = reveal.text(1024)
        [tip_line] = [line for line in text.splitlines() if line.startswith("Tip: ")]
        shown.append(tip_line)
        assert any(line.startswith("It was real") for line in text.splitlines()) == reveal.is_real
    assert len(set(shown)) == len(truths)


async def test_tips_on_telegram(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        bot = await start_bot(api, make_settings(tmp_path))
        try:
            user = api.user(5, "Alice")
            chat = api.private(user)
            api.command(chat, user, "/tips")
            [listing] = await replies(api, chat["id"])
            assert listing == tips.tips_text()
            api.command(chat, user, "/tips please")
            assert (await replies(api, chat["id"], 2))[1] == tips.TIPS_USAGE
            [call] = [c for c in api.calls_to("setMyCommands") if "language_code" not in c.params]  # the default menu
            assert "tips" in [c["command"] for c in call.params["commands"]]
        finally:
            await bot.close()
        assert not api.breaches


@pytest.fixture
async def figment(tmp_path: Path) -> AsyncIterator[Figment]:
    app = await Figment.open(make_settings(tmp_path, posted_size=128), DirectSource(DrawnFaceModel()))
    yield app
    await app.close()


async def test_tips_on_discord_are_private_and_whole(figment: Figment) -> None:
    fake = await FakeDiscord().start()
    try:
        world = make_world(fake, ["Ann", "Bob"])
        async with running_bot(fake, figment):
            text = await ephemeral_text(fake, await fake.slash("tips", world.members[0], world.general))
        assert text.startswith("What gives a fake away:") and tips.FAKE_TIPS[0] in text
        assert len(text) <= 2000
        assert not fake.breaches
    finally:
        await fake.close()
    assert texts.HELP.count("/tips") == 1
