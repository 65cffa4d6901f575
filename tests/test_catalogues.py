"""Every catalogue complete and within the platforms' limits (issue 25).

Parametrised over the catalogues under bot/locales: each is compiled strictly, has every msgid of
the English source (figment.pot) translated (no fuzzy, no empty form), keeps exactly the same
placeholders in every form, has the plural header its language uses, and every text rendered in
it fits the platform limits (captions 1,024 and messages 4,096 on Telegram, 2,000 on Discord,
button labels, Discord's name rules). The .pot itself must match the code (run `make pot`).
"""
from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot import i18n, texts
from bot.quiz import tips
from bot.quiz.posts import GameSummary, PlayerResult, Reveal, RoundPost

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "bot" / "locales" / "figment.pot"
# The languages the issue asks for: each must have a catalogue (a missing one fails, never skips).
REQUIRED = ("es", "pt_BR", "ru", "uk", "de", "fr", "tr", "id", "fa")
# Plural-Forms per language, the gettext convention (docs/languages.md).
SLAVIC = "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"
PLURALS = {
    "es": (2, "(n != 1)"), "de": (2, "(n != 1)"), "tr": (2, "(n != 1)"),
    "pt_BR": (2, "(n > 1)"), "fr": (2, "(n > 1)"), "fa": (2, "(n > 1)"),
    "ru": (3, SLAVIC), "uk": (3, SLAVIC), "id": (1, "0"),
}
LANGS = i18n.available()[1:]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
BUTTON_LIMIT = 32  # a label that fits under a photo on a phone, two buttons side by side
CAPTION_LIMIT, TELEGRAM_LIMIT, DISCORD_LIMIT = 1024, 4096, 2000


def _read(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


def _pot_ids() -> dict:  # type: ignore[type-arg]
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in _read(POT) if m.id}


def test_the_source_catalogue_matches_the_code(tmp_path: Path) -> None:
    """Every text in the code is in figment.pot and nothing else is (else: `make pot`)."""
    out = tmp_path / "figment.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "N_", "-k", "NC_:1c,2", "-k", "loc", "-k", "ngettext:1,2", "-k", "pgettext:1c,2",
                    "-c", "TRANSLATORS:", "--no-location", "--sort-output", "-o", str(out), "bot"],
                   cwd=ROOT, check=True, capture_output=True)
    fresh = {(m.context, m.id) for m in _read(out) if m.id}
    committed = {(m.context, m.id) for m in _read(POT) if m.id}
    assert fresh - committed == set(), "texts missing from bot/locales/figment.pot: run `make pot`"
    assert committed - fresh == set(), "texts in bot/locales/figment.pot no longer in the code: run `make pot`"


@pytest.mark.parametrize("lang", REQUIRED)
def test_every_language_the_issue_asks_for_has_a_catalogue(lang: str) -> None:
    assert i18n.po_path(lang).exists(), f"no catalogue for {lang}: bot/locales/{lang}/LC_MESSAGES/figment.po"


@pytest.mark.parametrize("lang", LANGS)
def test_the_catalogue_compiles_strictly(lang: str, tmp_path: Path) -> None:
    i18n.compile_po(i18n.po_path(lang), tmp_path / "figment.mo", strict=True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_catalogue_is_complete_with_the_same_placeholders(lang: str) -> None:
    catalog = _read(i18n.po_path(lang))
    count, expression = PLURALS[lang]
    same = catalog.num_plurals == count and all(
        gettext.c2py(catalog.plural_expr)(n) == gettext.c2py(expression)(n) for n in range(0, 1201))
    assert same, f"{lang}: Plural-Forms must be nplurals={count}; plural={expression}; (or the same function)"
    have = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    problems = []
    for key, source in _pot_ids().items():
        message = have.get(key)
        if message is None:
            problems.append(f"missing: {key[1]!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {key[1]!r}")
        forms = list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]
        if isinstance(source.id, tuple):
            if len(forms) != catalog.num_plurals:
                problems.append(f"{len(forms)} plural forms, not {catalog.num_plurals}: {key[1]!r}")
            wanted = set(PLACEHOLDER.findall(source.id[0])) | set(PLACEHOLDER.findall(source.id[1]))
        else:
            wanted = set(PLACEHOLDER.findall(source.id))
        for form in forms:
            if not form or not form.strip():
                problems.append(f"untranslated: {key[1]!r}")
            elif set(PLACEHOLDER.findall(form)) != wanted:
                problems.append(f"placeholders {sorted(PLACEHOLDER.findall(form))} != {sorted(wanted)}: {key[1]!r}")
            elif "%(" in source.id if isinstance(source.id, str) else True:
                try:  # a stray % or a bad conversion fails here, not in a live chat
                    form % {name: 1 for name in wanted}
                except (ValueError, TypeError, KeyError) as error:
                    problems.append(f"bad format ({error}): {form!r}")
            if key[0] == "command name" and not _valid_name(form):
                problems.append(f"not a Discord name (lowercase, no spaces, 1-32): {form!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems[:40])


def _valid_name(name: str) -> bool:
    from bot.discord_app.translator import valid_name
    return valid_name(name)


# --- every text, rendered in every language, within the platforms' limits ---------------------
def _rendered(t: texts.Texts) -> dict[str, str]:
    """The longest texts the bot can say, rendered in t's language with long but real values."""
    big = 10**6
    tip_texts = [tips.after_reveal(7, n, True, t.lang) for n in range(1, len(tips.FAKE_TIPS) + 1)]
    reveal = Reveal(1, 20, 20, False, 9999, 9998, "x" * 3000, max(tip_texts, key=len), lang=t.lang)
    pair_reveal = Reveal(1, 20, 20, True, 9999, 9998, "x" * 3000, max(tip_texts, key=len), pair=True, lang=t.lang)
    summary = GameSummary(1, 20, [PlayerResult("n" * 64, big, big)] * 10, "", True, t.PAIRS_NO_PHOTO, lang=t.lang)
    return {
        "HELP": t.HELP, "START": t.START, "tips": tips.tips_text(None, t.lang),
        "round_caption": RoundPost(1, 20, 20, 600, None, lang=t.lang).caption,  # type: ignore[arg-type]
        "pair_caption": RoundPost(1, 20, 20, 600, None, pair=True, lang=t.lang).caption,  # type: ignore[arg-type]
        "face_caption": t.face_caption(2**31 - 1, 1.0, "m" * 40),
        "daily_caption": t.daily_caption(big, 5, 5),
        "hall_caption": t.HALL_CAPTION,
        "reveal_telegram": reveal.text(CAPTION_LIMIT), "reveal_discord": reveal.text(DISCORD_LIMIT),
        "pair_reveal": pair_reveal.text(CAPTION_LIMIT),
        "summary_head": summary.text()[:200],
        "settings": t.settings_now(600, 100, "Português (Brasil)"),
        "starter": t.starter_no_folder(),
    }


@pytest.mark.parametrize("lang", i18n.available())
def test_every_text_fits_the_platforms_in_every_language(lang: str) -> None:
    t = texts.lang(lang)
    rendered = _rendered(t)
    for name in ("round_caption", "pair_caption", "face_caption", "daily_caption", "hall_caption",
                 "reveal_telegram", "pair_reveal"):
        assert len(rendered[name]) <= CAPTION_LIMIT, (lang, name, len(rendered[name]))
    assert len(rendered["reveal_discord"]) <= DISCORD_LIMIT
    for name in ("settings", "starter"):
        assert len(rendered[name]) <= DISCORD_LIMIT, (lang, name, len(rendered[name]))  # the smaller limit
    for name in ("HELP", "START", "tips"):  # long lists: sent in pieces on Discord, whole on Telegram
        assert len(rendered[name]) <= TELEGRAM_LIMIT, (lang, name, len(rendered[name]))
        assert all(len(piece) <= DISCORD_LIMIT for piece in texts.split_message(rendered[name], DISCORD_LIMIT))
    # every single text of the catalogue fits a Telegram caption by itself
    for key, value in vars(texts).items():
        if isinstance(value, texts.Msg):
            assert len(getattr(t, key)) <= CAPTION_LIMIT, (lang, key)
    for key in ("BUTTON_REAL", "BUTTON_FAKE", "BUTTON_A_REAL", "BUTTON_B_REAL", "BUTTON_ANOTHER", "CREDENTIALS_LINK"):
        label = getattr(t, key)
        assert 0 < len(label) <= BUTTON_LIMIT, (lang, key, label)
    for name, description in t.COMMANDS:  # Telegram's setMyCommands
        assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
        assert 1 <= len(description) <= 256, (lang, name)
    # the tips and the "why it was real" lines are all translated where a catalogue exists
    if lang != i18n.ENGLISH:
        assert all(t._(tip) != tip for tip in tips.FAKE_TIPS + tips.REAL_LINES), lang


@pytest.mark.parametrize("lang", i18n.available())
async def test_discord_command_texts_follow_discords_rules(lang: str) -> None:
    """Every command, option and choice in the payload discord.py sends Discord, in each Discord locale
    that picks this language: names lowercase, no spaces, 1-32 characters; descriptions 1-100."""
    import discord
    from discord import app_commands

    from bot.discord_app.commands import FigmentTree, add_commands
    from bot.discord_app.translator import FigmentTranslator, valid_name

    tree = FigmentTree(discord.Client(intents=discord.Intents.none()))
    add_commands(tree)
    translator = FigmentTranslator()
    locales = [locale.value for locale in discord.Locale if i18n.normalise(locale.value) == lang]
    counted = 0

    def check(item: dict, menu: bool = False) -> None:  # type: ignore[type-arg]
        nonlocal counted
        names = [item["name"], *[(item.get("name_localizations") or {}).get(code) for code in locales]]
        for name in filter(None, names):
            assert 1 <= len(name) <= 32 and (menu or valid_name(name)), (lang, name)
        if "description" in item and item.get("type", 1) in (1, None) or "options" in item:
            descriptions = [item.get("description", ""),
                            *[(item.get("description_localizations") or {}).get(code) for code in locales]]
            for text in filter(None, descriptions):
                assert len(text) <= 100, (lang, text)
        for choice in item.get("choices") or []:
            for name in filter(None, [choice["name"], *[(choice.get("name_localizations") or {}).get(code)
                                                          for code in locales]]):
                assert 1 <= len(name) <= 100, (lang, name)
        if lang != i18n.ENGLISH and item.get("description"):  # every description translated, fitting
            missing = [code for code in locales if not (item.get("description_localizations") or {}).get(code)]
            assert not missing, (lang, item["name"], "description not translated or over 100 characters", missing)
            counted += 1
        # every choice translated, except the languages: each is named in itself ("Español")
        for choice in item.get("choices") or [] if lang != i18n.ENGLISH and item["name"] != "language" else []:
            assert all((choice.get("name_localizations") or {}).get(code) for code in locales), (lang, choice)
        for option in item.get("options") or []:
            check(option)

    for command in tree.get_commands():
        payload = await command.get_translated_payload(tree, translator)
        check(payload, menu=isinstance(command, app_commands.ContextMenu))
    if lang != i18n.ENGLISH and locales:  # a language Discord has: its descriptions are translated
        assert counted > 20, (lang, counted)


def test_the_languages_table_is_made_from_the_catalogues() -> None:
    """README.md and docs/languages.md show the table the catalogues make now (no stale claims)."""
    from bot.i18n import report

    made = report.table()
    for path in report.FILES:
        text = path.read_text(encoding="utf-8")
        assert report.with_table(text, made) == text, f"{path.name}: run python -m bot.i18n.report --write"
    for lang in i18n.available():
        assert lang in report.AUDIENCE, f"say who {lang} is for in bot/i18n/report.py"
