"""Figment in the players' languages, end to end (issue 25): a Telegram group game in Spanish
against the fake Bot API, a Discord game with a pt-BR member and a uk member, each one's private
replies in their own language. These need the es, pt_BR and uk catalogues: without one they
fail (a translated text must differ from the English one), they never skip.
"""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from bot import i18n, texts
from bot.app import Figment
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import answer_id, buttons as discord_buttons, ephemeral_text, round_id_of, running_bot
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import buttons, message_id, replies, round_id, round_posts, start_bot, toast

GROUP = -1005550001


def translated(lang: str) -> texts.Texts:
    """The texts of a language whose catalogue is here: a missing one fails the test."""
    assert i18n.po_path(lang).exists(), f"no {lang} catalogue (bot/locales/{lang}/LC_MESSAGES/figment.po)"
    t = texts.lang(lang)
    assert t.lang == lang and t.GAME_RUNNING != texts.GAME_RUNNING, f"the {lang} catalogue says English"
    return t


def labels(call) -> list[str]:  # type: ignore[no-untyped-def]
    markup = call.params.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


async def test_a_telegram_group_game_in_spanish(api: FakeBotApi, tmp_path: Path) -> None:
    es = translated("es")
    bot = await start_bot(api, make_settings(tmp_path, round_seconds=2))
    try:
        await add_real_photos(bot.figment)
        # the command menu: English for all, and one per catalogue (Telegram's two-letter codes)
        menus = {c.params.get("language_code"): c.params["commands"] for c in api.calls_to("setMyCommands")}
        assert [c["description"] for c in menus["es"]] == [d for _, d in es.COMMANDS]
        assert [c["command"] for c in menus["es"]] == [c["command"] for c in menus[None]]
        ana, luis, john = (api.user(201, "Ana", language_code="es-MX"), api.user(202, "Luis", language_code="es"),
                           api.user(203, "John", language_code="en"))
        chat = api.group(GROUP, "Caras", members=4, owner=ana["id"])
        bot.figment.quiz.choose_real = iter([True, False]).__next__
        api.command(chat, ana, "/quiz 2")  # the first game: the chat speaks its starter's language
        for number, real in ((1, True), (2, False)):
            post = (await round_posts(api, number, GROUP))[-1]
            rid, mid = round_id(post), message_id(post)
            [photo] = [c for c in api.calls_to("sendPhoto") if message_id(c) == mid]
            assert photo.params["caption"] == es.round_caption(number, 2, 2) != texts.round_caption(number, 2, 2)
            assert labels(post) == [es.BUTTON_REAL, es.BUTTON_FAKE]
            assert buttons(post) == [f"a:{rid}:r", f"a:{rid}:f"]  # the same data in every language
            # toasts are each clicker's own: Spanish for Ana and Luis, English for John
            assert await toast(api, api.click(ana, GROUP, mid, f"a:{rid}:r")) == es.ANSWER_RECORDED
            assert await toast(api, api.click(ana, GROUP, mid, f"a:{rid}:f")) == es.ANSWER_ALREADY
            assert await toast(api, api.click(luis, GROUP, mid, f"a:{rid}:f")) == es.ANSWER_RECORDED
            assert await toast(api, api.click(john, GROUP, mid, f"a:{rid}:f")) == texts.ANSWER_RECORDED
            [reveal] = await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid)
            caption = reveal.params["caption"]
            assert caption.startswith(es.reveal_head(number, 2, real, None)), caption
            assert es.reveal_share(1 if real else 2, 3) in caption
        [summary] = await replies(api, GROUP)
        assert summary.startswith(es.summary_head(False, 2)) and es.summary_line(1, "Ana", 1, 2) in summary
        assert es.board_title("chat", False, False) in summary
        # a player's own replies: their language, in the group too; the group's board: Spanish
        api.command(chat, john, "/stats")
        assert (await replies(api, GROUP, 2))[-1].startswith(texts.stats_head("John"))
        api.command(chat, john, "/leaderboard")
        minimum = bot.figment.settings.board_min_answers
        assert (await replies(api, GROUP, 3))[-1].startswith(es.board_head(es.board_title("chat", False, False), minimum))
        api.command(chat, luis, "/quiz banana")
        assert (await replies(api, GROUP, 4))[-1] == es.bad_rounds(bot.figment.settings.max_rounds_per_game)
        # only admins choose the chat's language; the answer is in the new language
        api.command(chat, luis, "/settings language en")
        assert (await replies(api, GROUP, 5))[-1] == es.NOT_ADMIN
        api.command(chat, ana, "/settings language klingon")
        assert (await replies(api, GROUP, 6))[-1] == es.settings_language_bad(", ".join(i18n.available()))
        api.command(chat, ana, "/settings language en")
        assert (await replies(api, GROUP, 7))[-1].startswith(texts.settings_now(2, 5).split(",")[0])
    finally:
        await bot.close()


@pytest.fixture
async def figment(tmp_path: Path) -> AsyncIterator[Figment]:
    app = await Figment.open(make_settings(tmp_path, posted_size=128, round_seconds=2), DirectSource(DrawnFaceModel()))
    yield app
    await app.close()


async def test_a_discord_game_with_a_pt_br_and_a_uk_member(figment: Figment) -> None:
    pt, uk = translated("pt_BR"), translated("uk")
    fake = await FakeDiscord().start()
    try:
        guild = fake.add_guild("Servidor")
        guild.locale = "pt-BR"  # the server's language: its channel posts speak it
        general = guild.add_text_channel("geral")
        bia = fake.add_member(guild, "Bia", locale="pt-BR")
        olena = fake.add_member(guild, "Olena", locale="uk")
        await add_real_photos(figment)
        figment.quiz.choose_real = iter([True]).__next__
        async with running_bot(fake, figment):
            # Discord holds every command in every language with a catalogue, within its rules
            # (the fake refuses a command set that breaks them)
            quiz = fake.synced_command("quiz", None)
            assert quiz["description_localizations"]["pt-BR"] == pt._("Play real photo or AI fake")
            assert quiz["description_localizations"]["uk"] == uk._("Play real photo or AI fake")
            start = await fake.slash("quiz", olena, general, rounds=1)
            assert await ephemeral_text(fake, start) == uk.DISCORD_QUIZ_STARTED
            message = (await fake.wait_for(lambda: fake.channel_messages(general), 15, "the round"))[0]
            rid = round_id_of(message)
            assert message["content"] == pt.round_caption(1, 1, 2)
            assert [b["label"] for b in discord_buttons(message)] == [pt.BUTTON_REAL, pt.BUTTON_FAKE]
            assert [b["custom_id"] for b in discord_buttons(message)] == [answer_id(rid, True), answer_id(rid, False)]
            clicks = {"pt": await fake.click(message, answer_id(rid, True), bia),
                      "uk": await fake.click(message, answer_id(rid, False), olena)}
            assert await ephemeral_text(fake, clicks["pt"]) == pt.ANSWER_RECORDED
            assert await ephemeral_text(fake, clicks["uk"]) == uk.ANSWER_RECORDED
            again = await fake.click(message, answer_id(rid, True), olena)
            assert await ephemeral_text(fake, again) == uk.ANSWER_ALREADY
            await fake.wait_for(lambda: fake.messages[int(message["id"])]["content"].startswith(
                pt.reveal_head(1, 1, True, None)), 15, "the reveal in Portuguese")
            summary = await fake.wait_for(lambda: [m for m in fake.channel_messages(general)
                                                   if m["content"].startswith(pt.summary_head(False, 1))], 15,
                                          "the summary in Portuguese")
            assert summary
            tips = await fake.slash("tips", olena, general)
            assert (await ephemeral_text(fake, tips)).startswith(uk.TIPS_HEAD)
            refused = await fake.slash("settings", bia, general, seconds=30)
            assert await ephemeral_text(fake, refused) == pt.NOT_ADMIN
    finally:
        await fake.close()
