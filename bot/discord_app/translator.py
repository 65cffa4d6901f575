"""Slash commands in the player's language: discord.py's Translator over Figment's catalogues.

Descriptions and choice names are marked with loc() (the English text is what Discord shows by
default and the msgid); command and option names are looked up in the "command name" context and
used only where they follow Discord's rules (lowercase, no spaces, 1-32 characters), else Discord
shows the English name. A locale without a catalogue (Discord has no Persian) gets English.
"""
from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where
from discord.app_commands import locale_str

from bot import i18n, texts
from bot.i18n import NC_

# Discord's rule for command and option names (its own regex, \w standing for its letters).
NAME_RULE = re.compile(r"^[-_\w]{1,32}$")
DESCRIPTION_LIMIT = 100
CHOICE_LIMIT = 100
MENU_LIMIT = 32

# The names translators may localise (context "command name"): the commands and their options.
COMMAND_NAMES = (
    NC_("command name", "face"), NC_("command name", "quiz"), NC_("command name", "daily"),
    NC_("command name", "stop"), NC_("command name", "tips"), NC_("command name", "leaderboard"),
    NC_("command name", "stats"), NC_("command name", "hall"), NC_("command name", "forgetme"),
    NC_("command name", "settings"), NC_("command name", "check"), NC_("command name", "challenge"),
    NC_("command name", "seed"), NC_("command name", "psi"), NC_("command name", "rounds"),
    NC_("command name", "mode"), NC_("command name", "hard"), NC_("command name", "scope"),
    NC_("command name", "period"), NC_("command name", "member"), NC_("command name", "seconds"),
    NC_("command name", "channel"), NC_("command name", "any_channel"), NC_("command name", "image"),
    NC_("command name", "language"), NC_("command name", "morph"), NC_("command name", "edit"),
    NC_("command name", "age"), NC_("command name", "strip"),
)


def loc(msgid: str, **values: Any) -> locale_str:
    """A command text to translate: Discord's default is the English text, values filled in."""
    return locale_str(msgid % values if values else msgid, msgid=msgid, values=values)


def valid_name(name: str) -> bool:
    return bool(NAME_RULE.match(name)) and name == name.lower()


def translate(string: locale_str, language: str, where: Where, data: Any = None) -> str | None:
    """The text in language, or None where English stays (no catalogue, untranslated, or a name
    that breaks Discord's rules)."""
    t = texts.lang(language)
    if t.lang == i18n.ENGLISH:
        return None
    if where in (Where.command_name, Where.group_name) and isinstance(data, app_commands.ContextMenu):
        text = t._(string.extras.get("msgid", string.message))
        return text[:MENU_LIMIT] if text != string.message else None
    if where in (Where.command_name, Where.group_name, Where.parameter_name):
        name = t.pgettext("command name", string.message)
        return name if name != string.message and valid_name(name) else None
    msgid = string.extras.get("msgid", string.message)
    text = t._(msgid, **string.extras.get("values", {}))
    if text == string.message:
        return None
    limit = CHOICE_LIMIT if where == Where.choice_name else DESCRIPTION_LIMIT
    return text if len(text) <= limit else None  # too long for Discord: English (the tests catch it)


class FigmentTranslator(app_commands.Translator):
    async def translate(self, string: locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContext) -> str | None:
        return translate(string, locale.value, context.location, context.data)
