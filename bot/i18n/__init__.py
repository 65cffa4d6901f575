"""Which language a text is said in: the one place that picks a catalogue and loads it.

Catalogues are gettext .po files under bot/locales/<lang>/LC_MESSAGES/figment.po, the English
text being the msgid (English needs no catalogue). Compiled .mo files are not kept in git: they
are built here when missing or older than their .po (next to it when the package folder is
writable, else in a cache folder), and by `make setup`. A language code from a platform
("pt-BR", "pt_br", "es-419", "uk", None) always picks something: the catalogue for the code,
else for its first part, else English. A broken catalogue never stops a live bot: it is logged
once and English is said instead (`make test` compiles every catalogue strictly and fails).
"""
from __future__ import annotations

import gettext
import logging
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

DOMAIN = "figment"
ENGLISH = "en"
LOCALES = Path(__file__).resolve().parent.parent / "locales"  # bot/locales
# Written right to left: the playground sets dir="rtl" for these.
RTL = frozenset({"fa", "ar", "he", "ur"})


class Msg(str):
    """An English text marked for translation; as a str it is the English text itself."""

    __slots__ = ()


def N_(text: str) -> Msg:
    """Mark a module-level text for extraction (pybabel) and for translation when it is read."""
    return Msg(text)


def NC_(context: str, text: str) -> str:
    """Mark a text said in a context (e.g. a Discord command name) for extraction; English as is."""
    return text


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def available() -> tuple[str, ...]:
    """The languages there is a catalogue for, English first (it needs none)."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (ENGLISH, *found)


def normalise(code: str | None) -> str:
    """The catalogue to use for a platform's language code: 'pt-BR' -> 'pt_BR', 'es-419' -> 'es',
    'uk' -> 'uk', anything unknown (or nothing) -> 'en'. Never raises."""
    if not code or not isinstance(code, str):
        return ENGLISH
    parts = code.strip().replace("-", "_").split("_")
    base = parts[0].lower()
    if not base.isalpha():
        return ENGLISH
    have = available()
    if len(parts) > 1 and parts[1]:
        exact = f"{base}_{parts[1].upper()}"
        if exact in have:
            return exact
    if base in have:
        return base
    regional = [name for name in have if name.split("_")[0] == base]
    if len(regional) == 1:  # "pt" where the one Portuguese catalogue is pt_BR
        return regional[0]
    return ENGLISH


def language_name(lang: str) -> str:
    """A language's own name ("Español", "Português (Brasil)"), for pickers and /settings."""
    try:
        from babel import Locale

        name = Locale.parse(lang).get_display_name(lang) or lang
    except Exception:  # an odd code: its code is its name
        return lang
    return name[:1].upper() + name[1:]


def is_rtl(lang: str) -> bool:
    return normalise(lang).split("_")[0] in RTL


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "figment" / "locales"


def compile_po(po: Path, mo: Path, *, strict: bool = False) -> None:
    """Compile one catalogue. strict: fuzzy entries and format errors are errors (for tests and
    `make setup`); otherwise Babel's own parse errors still raise."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, abort_invalid=True)
    if strict:
        problems = [f"{po}: {message.id!r}: {error}" for message, errors in catalog.check() for error in errors]
        problems += [f"{po}: {m.id!r}: fuzzy" for m in catalog if m.id and m.fuzzy]
        if catalog.fuzzy:
            problems.append(f"{po}: the catalogue header is marked fuzzy")
        if problems:
            raise ValueError("\n".join(problems))
    mo.parent.mkdir(parents=True, exist_ok=True)
    # Written whole then renamed: a process reading it meanwhile never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(tmp, mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fresh(mo: Path, po: Path) -> bool:
    return mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime


def mo_path(lang: str) -> Path:
    """The compiled catalogue for lang, built now if missing or stale."""
    po = po_path(lang)
    beside = po.with_suffix(".mo")
    if _fresh(beside, po):
        return beside
    try:
        compile_po(po, beside)
        return beside
    except PermissionError:  # an installed, read-only package: build in the cache folder
        cached = _cache_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if not _fresh(cached, po):
            compile_po(po, cached)
        return cached


_lock = threading.Lock()
_logged: set[str] = set()


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The loaded catalogue for a normalised language; English (untranslated) on any failure."""
    if lang == ENGLISH or not po_path(lang).exists():
        return gettext.NullTranslations()
    try:
        with _lock:
            path = mo_path(lang)
        with path.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    except Exception:  # a broken catalogue: English for this language, said once in the log
        if lang not in _logged:
            _logged.add(lang)
            log.exception("the %s catalogue cannot be loaded; its players get English", lang)
        return gettext.NullTranslations()


def log_once(lang: str, what: str) -> None:
    """Say a catalogue's problem in the log once per process and text, not once per message."""
    key = f"{lang}:{what}"
    if key not in _logged:
        _logged.add(key)
        log.error("%s; its players get English there", what)


def catalogue_digest() -> str:
    """One hash of every catalogue: what changes when any translation does."""
    import hashlib

    digest = hashlib.sha256()
    for lang in available()[1:]:
        digest.update(lang.encode() + b"\0" + po_path(lang).read_bytes())
    return digest.hexdigest()


def compile_all(*, strict: bool = True) -> list[str]:
    """Compile every catalogue (make setup, tests); raises on the first broken one when strict."""
    done = []
    for lang in available()[1:]:
        compile_po(po_path(lang), po_path(lang).with_suffix(".mo"), strict=strict)
        done.append(lang)
    translations.cache_clear()
    return done
