"""Discord users and places as the core names them, and text made safe to post on Discord."""
from __future__ import annotations

import discord

from bot import texts
from bot.refs import ChatRef, PlayerRef
from bot.texts import split_message

PLATFORM = "discord"
MESSAGE_LIMIT = 2000  # Discord refuses longer message contents
NO_MENTIONS = discord.AllowedMentions.none()  # a player named @everyone pings nobody


def player_of(user: discord.abc.User, locale: discord.Locale | None = None) -> PlayerRef:
    """locale: the player's client language (interaction.locale) where it is the player who acts."""
    return PlayerRef(PLATFORM, str(user.id), user.display_name, locale.value if locale else None)


def said_to(interaction: discord.Interaction) -> texts.Texts:
    """The texts in the language of whoever used the command or button (their client's locale):
    what only they see (ephemeral replies) is said in it."""
    return texts.lang(interaction.locale.value if interaction.locale else None)


def chat_of(interaction: discord.Interaction) -> ChatRef:
    """A server is one chat (one game at a time, one board); a direct message channel is another.

    Guild and channel ids are snowflakes from one id space, so the two never collide. In a server
    we cannot cheaply count who will answer, so rounds there run their full time.
    """
    if interaction.guild_id is not None:
        guild = interaction.guild
        # The server's language (its community locale) until an admin picks one with /settings.
        locale = interaction.guild_locale.value if interaction.guild_locale else None
        return ChatRef(PLATFORM, str(interaction.guild_id), (guild.name if guild else "") or "", None, locale)
    return ChatRef(PLATFORM, str(interaction.channel_id), "direct messages", expected_players=1)


def escape(name: str) -> str:
    """Names go into messages as text, never as markup."""
    return discord.utils.escape_markdown(name)


def pieces(text: str) -> list[str]:
    """A long text as messages Discord accepts."""
    return split_message(text, MESSAGE_LIMIT)
