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
    i18n.translations.cache_clear()
    texts._languages.clear()
    yield tmp_path
    i18n.translations.cache_clear()
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
    assert "<a face of someone who does not exist>" in t.HELP
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
    i18n.translations.cache_clear()
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
