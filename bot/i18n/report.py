"""The languages table of README.md and docs/languages.md, made from the catalogues themselves.

    python -m bot.i18n.report           print the table
    python -m bot.i18n.report --write   put it in README.md and docs/languages.md (between markers)

tests/test_catalogues.py checks that both files hold the table as the catalogues make it now.
"""
from __future__ import annotations

import sys
from pathlib import Path

from bot import i18n

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- languages: start (python -m bot.i18n.report --write) -->", "<!-- languages: end -->"
FILES = (ROOT / "README.md", ROOT / "docs" / "languages.md")
# Who each language is for (Telegram's and Discord's audiences); a new catalogue adds a line here.
AUDIENCE = {
    "en": "everyone else; the source text",
    "es": "Spain and Latin America",
    "pt_BR": "Brazil (also Portugal and Portuguese-speaking Africa)",
    "ru": "Russia and Russian speakers across Central Asia and the Caucasus",
    "uk": "Ukraine",
    "de": "Germany, Austria, Switzerland",
    "fr": "France, Belgium, Switzerland, Canada, West and Central Africa",
    "tr": "Turkey",
    "id": "Indonesia",
    "fa": "Iran and Afghanistan, written right to left (Telegram and the playground: Discord has no Persian)",
}


def share_translated(lang: str) -> float:
    """The share of the source catalogue's messages this language's catalogue translates."""
    from babel.messages.pofile import read_po

    with (i18n.LOCALES / "figment.pot").open("rb") as handle:
        source = {(m.context, m.id) for m in read_po(handle) if m.id}
    if lang == i18n.ENGLISH:
        return 1.0
    with i18n.po_path(lang).open("rb") as handle:
        catalog = read_po(handle)
    done = {(m.context, m.id) for m in catalog if m.id and not m.fuzzy
            and all(m.string if isinstance(m.string, (tuple, list)) else [m.string])}
    return len(source & done) / len(source) if source else 1.0


def table() -> str:
    lines = ["| Language | Code | Translated | Who it is for |", "|---|---|---|---|"]
    for lang in i18n.available():
        name = i18n.language_name(lang) if lang != i18n.ENGLISH else "English"
        lines.append(f"| {name} | `{lang}` | {100 * share_translated(lang):.0f}% | {AUDIENCE.get(lang, '')} |")
    return "\n".join(lines)


def with_table(text: str, made: str) -> str:
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError("the languages markers are missing")
    return f"{head}{START}\n{made}\n{END}{tail}"


def main(argv: list[str]) -> int:
    made = table()
    if "--write" in argv:
        for path in FILES:
            path.write_text(with_table(path.read_text(encoding="utf-8"), made), encoding="utf-8")
    else:
        print(made)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
