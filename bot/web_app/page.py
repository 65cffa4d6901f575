"""The playground page in its reader's language: ?lang= (the picker), else the browser's
Accept-Language, else English; written right to left for right-to-left languages."""
from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

from aiohttp import web

from bot import i18n, texts

STATIC = Path(__file__).resolve().parent / "static"
LANG_PARAM = "lang"


def accept_language(header: str | None) -> str:
    """The first language of an Accept-Language header we have a catalogue for (by q), else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:20]):
        code, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if code and code != "*" and quality > 0:
            ranked.append((-quality, index, code))
    for _, _, code in sorted(ranked):
        picked = i18n.normalise(code)
        if picked != i18n.ENGLISH or code.lower().startswith("en"):
            return picked
    return i18n.ENGLISH


def page_language(request: web.Request) -> str:
    chosen = request.query.get(LANG_PARAM)
    if chosen:
        return i18n.normalise(chosen)
    return accept_language(request.headers.get("Accept-Language"))


@lru_cache(maxsize=None)
def _template() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def render(lang: str) -> str:
    """index.html with its words in lang; the script's words go in a JSON block (no inline script)."""
    t = texts.lang(lang)
    words = {key: getattr(t, f"PAGE_{key}") for key in texts.PAGE_KEYS}
    words["CREDENTIALS_LINK"] = t.CREDENTIALS_LINK
    options = "".join(
        f'<option value="{html.escape(code)}"{" selected" if code == t.lang else ""}>'
        f"{html.escape(i18n.language_name(code))}</option>" for code in i18n.available())
    # "</" cannot end the JSON block early: escaped as in any script element
    as_json = json.dumps(words, ensure_ascii=False).replace("</", "<\\/")
    page = _template().replace("{{TEXTS_JSON}}", as_json).replace("{{LANGUAGE_OPTIONS}}", options)
    page = page.replace("{{LANG}}", t.lang.replace("_", "-")).replace("{{DIR}}", "rtl" if i18n.is_rtl(t.lang) else "ltr")
    for key, value in words.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page
