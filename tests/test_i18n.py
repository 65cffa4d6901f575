"""The language machinery (bot/i18n, bot/texts.py): picking a catalogue, falling back, building
the compiled catalogues, and a broken catalogue that a live bot survives in English."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot import i18n, texts

POT = i18n.LOCALES / "figment.pot"


@pytest.fixture()
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty locales folder in place of the package's, and no cached catalogues."""
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n.refresh()
    texts._languages.clear()
    yield tmp_path
    i18n.refresh()
    texts._languages.clear()


def _catalogue(folder: Path, lang: str, translate=lambda text: "<" + text + ">") -> Path:  # type: ignore[no-untyped-def]
    """A test catalogue: every msgid of the .pot, marked so a test can see it was translated."""
    with POT.open("rb") as handle:
        pot = read_po(handle)
    catalog = Catalog(locale=lang, fuzzy=False)
    for message in pot:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            string = tuple(translate(message.id[1]) for _ in range(catalog.num_plurals))
        else:
            string = translate(message.id) if message.context is None else message.id
        catalog.add(message.id, string, context=message.context, flags=message.flags)
    path = folder / lang / "LC_MESSAGES" / "figment.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)
    i18n.refresh()  # a new catalogue in a running process
    texts._languages.clear()
    return path


@pytest.mark.parametrize("code, expected", [
    ("es", "es"), ("es-419", "es"), ("es_MX", "es"), ("ES", "es"), ("pt-BR", "pt_BR"), ("pt_br", "pt_BR"),
    ("pt", "pt_BR"), ("pt-PT", "pt_BR"), ("uk", "uk"), ("uk-UA", "uk"), ("ja", "en"), ("", "en"), (None, "en"),
    ("en-GB", "en"), ("zz-ZZ-x", "en"), ("../etc", "en"), ("  ", "en"), ("12", "en"),
])
def test_a_language_code_picks_its_catalogue_or_its_base_or_english(locales: Path, code: str | None,
                                                                     expected: str) -> None:
    for lang in ("es", "pt_BR", "uk"):
        _catalogue(locales, lang)
    assert i18n.normalise(code) == expected


def test_texts_in_a_language_with_plurals_and_placeholders(locales: Path) -> None:
    _catalogue(locales, "uk")
    t = texts.lang("uk-UA")
    assert t.lang == "uk"
    assert t.GAME_RUNNING == "<" + texts.GAME_RUNNING + ">"
    assert t.round_caption(2, 5, 20) == "<Round 2/5: real photo or AI fake? You have 20 s.>"
    assert t.forgotten(1) == "<Done: your profile and 1 answers are deleted.>"  # the test marks every form
    assert "<an animation of face A turning into face B>" in t.HELP
    # English stays the module's own texts, and an unknown language is English
    assert texts.lang("ja").round_caption(2, 5, 20) == texts.round_caption(2, 5, 20) == \
        "Round 2/5: real photo or AI fake? You have 20 s."
    assert texts.forgotten(1) == "Done: your profile and 1 answer are deleted."
    assert texts.forgotten(2) == "Done: your profile and 2 answers are deleted."


def test_the_compiled_catalogue_is_built_when_missing_or_stale(locales: Path) -> None:
    po = _catalogue(locales, "es")
    mo = po.with_suffix(".mo")
    assert not mo.exists()
    assert texts.lang("es").ERROR == "<" + texts.ERROR + ">"
    assert mo.exists()
    # a newer .po is compiled again at the next load
    _catalogue(locales / "new", "es", lambda text: "[" + text + "]")
    po.write_bytes((locales / "new" / "es" / "LC_MESSAGES" / "figment.po").read_bytes())
    import os
    os.utime(mo, (mo.stat().st_mtime - 100, mo.stat().st_mtime - 100))
    i18n.refresh()
    texts._languages.clear()
    assert texts.lang("es").ERROR == "[" + texts.ERROR + "]"


def test_a_read_only_package_builds_in_the_cache_folder(locales: Path, tmp_path_factory: pytest.TempPathFactory,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    po = _catalogue(locales, "es")
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("read-only")
    real = i18n.compile_po
    monkeypatch.setattr(i18n, "compile_po", lambda p, mo, strict=False: refuse() if mo.parent == po.parent
                        else real(p, mo, strict=strict))
    assert texts.lang("es").ERROR == "<" + texts.ERROR + ">"
    assert (cache / "figment" / "locales" / "es" / "LC_MESSAGES" / "figment.mo").exists()


def test_a_broken_catalogue_is_english_for_a_live_bot_and_said_once(locales: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    po = _catalogue(locales, "es")
    po.write_text(po.read_text(encoding="utf-8") + '\nthis is not a catalogue line\n', encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="bot.i18n"):
        assert texts.lang("es").ERROR == texts.ERROR
        assert texts.lang("es").round_caption(1, 2, 3) == texts.round_caption(1, 2, 3)
        texts._languages.clear()
        assert texts.lang("es").ERROR == texts.ERROR
    assert [r.message for r in caplog.records].count("the es catalogue cannot be loaded; its players get English") == 1
    with pytest.raises(Exception):  # while the strict build (make setup, tests) refuses it
        i18n.compile_all(strict=True)


def test_the_strict_build_refuses_fuzzy_entries_and_bad_placeholders(locales: Path) -> None:
    po = _catalogue(locales, "es", lambda text: text.replace("%(number)s", "%(numero)s"))
    with pytest.raises(ValueError, match="numero"):
        i18n.compile_po(po, po.with_suffix(".mo"), strict=True)
    po = _catalogue(locales / "b", "es")
    po.write_text(po.read_text(encoding="utf-8").replace('msgid "Real"', '#, fuzzy\nmsgid "Real"'), encoding="utf-8")
    with pytest.raises(ValueError, match="fuzzy"):
        i18n.compile_po(po, po.with_suffix(".mo"), strict=True)


def test_a_later_text_is_made_again_in_the_readers_language_with_its_parts(locales: Path) -> None:
    _catalogue(locales, "uk")
    share = texts.later.daily_share(5, 3, 5, "yyn")
    done = texts.later.daily_done(share)
    assert str(done).startswith("You played today's daily challenge already") and "Figment daily #5: 3/5" in done
    said = texts.lang("uk").say(done)
    assert said.startswith("<You played") and "<Figment daily #5: 3/5" in said
    assert texts.lang("uk").say(texts.NOT_ADMIN) == "<" + texts.NOT_ADMIN + ">"
    assert texts.lang("uk").say("not a catalogue text") == "not a catalogue text"


def test_rtl_and_language_names() -> None:
    assert "fa" in i18n.RTL and "es" not in i18n.RTL
    assert i18n.language_name("es") == "Español"
    assert i18n.language_name("pt_BR").startswith("Português")
    assert i18n.language_name("not a code") == "not a code"


def test_a_translation_with_wrong_placeholders_says_english_at_run_time(locales: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    _catalogue(locales, "es", lambda text: text.replace("%(number)s", "%(numero)s").replace("%(n)s", "%(d)s"))
    with caplog.at_level(logging.ERROR, logger="bot.i18n"):
        assert texts.lang("es").round_caption(2, 5, 20) == "Round 2/5: real photo or AI fake? You have 20 s."
        assert texts.lang("es").forgotten(3) == "Done: your profile and 3 answers are deleted."
        assert texts.lang("es").round_caption(2, 5, 20) == "Round 2/5: real photo or AI fake? You have 20 s."
    assert sum("do not match" in r.message for r in caplog.records) == 2


# --- the chat's language in the core, the page's language, the fakes' checks ------------------
from bot.app import Figment  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.refs import ChatRef, PlayerRef  # noqa: E402
from tests.conftest import RecordingPresenter, add_real_photos  # noqa: E402


async def test_a_chats_language_is_its_first_games_starters_until_an_admin_picks_one(
        locales: Path, app: Figment) -> None:
    for lang in ("uk", "es"):
        _catalogue(locales, lang, lambda text, lang=lang: f"[{lang}] {text}")
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    chat = ChatRef("test", "group-1", "A group")
    await app.quiz.start(chat, PlayerRef("test", "1", "Olena", "uk-UA"), 1)
    post = await presenter.next_post(1)
    assert post.lang == "uk" and post.caption.startswith("[uk] Round 1/1")
    await app.quiz.answer(post.round_id, PlayerRef("test", "2", "Ana", "es"), True)
    await app.quiz.stop(chat)
    await app.quiz.wait_idle()
    [(_, _, reveal)] = presenter.reveals
    [(_, summary)] = presenter.summaries
    assert reveal.lang == summary.lang == "uk"
    assert reveal.text().startswith("[uk] Round 1/1") and "[uk] " in reveal.attribution
    assert summary.text().startswith("[uk] Game stopped.") and summary.board_text.startswith("[uk] ")
    # the next game, started by someone else, keeps the chat's language
    await app.quiz.start(chat, PlayerRef("test", "2", "Ana", "es"), 1)
    assert (await presenter.next_post(2)).lang == "uk"
    await app.quiz.stop(chat)
    # an admin picks another; a code without a catalogue is refused in the asker's terms
    with pytest.raises(UserError) as refused:
        await app.chats.update(chat, is_admin=True, key="language", value="klingon")
    assert texts.lang("es").say(refused.value.message).startswith("[es] I don't speak that language yet")
    shown = await app.chats.update(chat, is_admin=True, key="language", value="es-419")
    assert shown.startswith("[es] From now on this chat's games speak Español.\n[es] Settings")
    assert await app.chats.language_of(chat) == "es"
    with pytest.raises(UserError):
        await app.chats.update(chat, is_admin=False, key="language", value="uk")


async def test_a_platforms_chat_language_wins_over_the_starters(locales: Path, app: Figment) -> None:
    """A Discord server's locale (ChatRef.lang) is the server's language at its first game."""
    _catalogue(locales, "uk")
    _catalogue(locales, "pt_BR")
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    server = ChatRef("test", "guild-1", "A server", lang="pt-BR")
    await app.quiz.start(server, PlayerRef("test", "1", "Olena", "uk"), 1)
    assert (await presenter.next_post(1)).lang == "pt_BR"
    await app.quiz.stop(server)


def test_the_page_language_comes_from_accept_language(locales: Path) -> None:
    from bot.web_app.page import accept_language, render

    for lang in ("ru", "fa", "pt_BR"):
        _catalogue(locales, lang)
    assert accept_language("ru-RU,ru;q=0.9,en-US;q=0.8") == "ru"
    assert accept_language("de-DE,de;q=0.9,fa;q=0.8") == "fa"  # no German: the next one we have
    assert accept_language("en-US,en;q=0.9,ru;q=0.8") == "en"  # English first: English
    assert accept_language("ru;q=0.2,fa;q=0.7") == "fa"
    assert accept_language("pt") == "pt_BR"
    assert accept_language("*, zz;q=abc, ;;;") == "en" and accept_language(None) == "en"
    page = render("fa")
    assert '<html lang="fa" dir="rtl">' in page and "{{" not in page
    assert '<option value="fa" selected>' in page and '<option value="en">English' in page
    assert '<html lang="pt-BR" dir="ltr">' in render("pt_BR")


def test_the_fake_bot_api_checks_command_menus_as_telegram_does() -> None:
    from tests.telegram_fake.server import ApiError, FakeBotApi

    api = FakeBotApi()
    menu = [{"command": "quiz", "description": "Jugar"}]
    assert api._m_setMyCommands({"commands": menu, "language_code": "es"}, {}) is True
    assert api._m_getMyCommands({"language_code": "es"}, {}) == menu
    assert api._m_getMyCommands({}, {}) == []  # the menu for everyone else is untouched
    for bad in ("pt_BR", "pt-BR", "ES", "spa", ""):
        if bad == "":
            continue  # empty means "for every language": allowed
        with pytest.raises(ApiError):
            api._m_setMyCommands({"commands": menu, "language_code": bad}, {})
    for commands in ([{"command": "Quiz", "description": "x"}], [{"command": "quiz", "description": ""}],
                     [{"command": "quiz", "description": "x" * 257}]):
        with pytest.raises(ApiError):
            api._m_setMyCommands({"commands": commands}, {})


def test_the_fake_discord_refuses_commands_that_break_discords_rules() -> None:
    from tests.discord_fake.limits import command_problems

    good = {"name": "quiz", "description": "Play", "name_localizations": {"uk": "вікторина"},
            "description_localizations": {"pt-BR": "Jogar"},
            "options": [{"name": "mode", "description": "Mode", "type": 3,
                         "choices": [{"name": "pairs", "value": "pairs", "name_localizations": {"uk": "пари"}}]}]}
    assert command_problems([good]) == []
    assert command_problems([{**good, "name_localizations": {"pt_BR": "quiz"}}])  # not a Discord locale
    assert command_problems([{**good, "name_localizations": {"uk": "Вікторина"}}])  # not lowercase
    assert command_problems([{**good, "name_localizations": {"uk": "дві слова"}}])  # a space
    assert command_problems([{**good, "description_localizations": {"uk": "x" * 101}}])
    assert command_problems([{**good, "description_localizations": {"fa": "بازی"}}])  # Discord has no Persian
    assert command_problems([{"name": "Check with Figment", "type": 3}]) == []  # a context menu's name
