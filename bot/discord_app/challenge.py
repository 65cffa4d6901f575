"""/challenge on Discord, and where each command may run (user installs).

Figment is two apps in one: a server install (the bot joins, runs games in channels) and a user
install (a user adds Figment to their account and uses some commands in any server, DM or group
DM, without the bot there). A user-installed command can only answer through its interaction:
the response, follow-ups and edits of them with the interaction's token, which Discord keeps
valid for 15 minutes. So a challenge's message is the /challenge response itself, its progress
and reveal are edits through that token, and its time is capped well inside the token's life.

A click on a challenge is its own interaction: acknowledged privately at once, answered with the
clicker's own result (ephemeral). Buttons name the round (`figment:challenge:<round>:r|f`), never
the truth.

Languages: the challenge's message (caption, buttons, reveal) in its sender's client language, a
clicker's answer in the clicker's (interaction.locale), like every private reply.
"""
from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot import texts
from bot.discord_app.people import MESSAGE_LIMIT, PLATFORM, player_of, said_to
from bot.discord_app.replies import report_failure
from bot.discord_app.translator import loc
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient

log = logging.getLogger(__name__)
CHALLENGE_TEMPLATE = r"figment:challenge:(?P<round>[0-9]{1,19}):(?P<guess>[rf])"
TOKEN_LIFETIME = 15 * 60  # Discord: "Interaction tokens are valid for 15 minutes"
# A challenge's reveal is an edit with its /challenge token: it must close well before that token
# dies (the clock starts a few seconds after the command, and the closing loop polls each second).
MAX_SECONDS = TOKEN_LIFETIME - 60

# Where commands run: everywhere the user is, for the commands that need only the interaction...
anywhere = app_commands.allowed_installs(guilds=True, users=True)
in_any_chat = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
# ...and the server install only, in servers and the bot's DM, for those that need the bot itself.
server_only = app_commands.allowed_installs(guilds=True, users=False)
server_or_bot_dm = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)


def require_the_bot(interaction: discord.Interaction) -> None:
    """UserError where the bot itself is not: a server it was not added to (reached through a user's
    install) or other users' DMs. /quiz and /settings post and keep state there, so they cannot run.
    The message is a catalogue text: callers say it with said_to(interaction).say(...)."""
    if interaction.guild_id is not None and not interaction.is_guild_integration():
        raise UserError(texts.DISCORD_USER_INSTALL_ONLY)
    if interaction.guild_id is None and interaction.context.private_channel:
        raise UserError(texts.DISCORD_USER_INSTALL_ONLY)


def challenge_view(round_id: int, *, disabled: bool = False, t: texts.Texts = texts.EN) -> discord.ui.View:
    """t: the sender's language (the buttons are public; their custom_ids are the same in all)."""
    view = discord.ui.View(timeout=None)
    view.add_item(ChallengeButton(round_id, True, disabled=disabled, t=t))
    view.add_item(ChallengeButton(round_id, False, disabled=disabled, t=t))
    return view


class ChallengePresenter:
    """bot.quiz.challenges' presenter on Discord: edits of the /challenge response with its token.
    message_ref is "<round>:<message id>:<interaction token>"."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def show_progress(self, ref: str, caption: str, lang: str = "en") -> None:
        await self._edit(ref, caption, disabled=False, lang=lang)

    async def reveal(self, ref: str, text: str, lang: str = "en") -> None:
        await self._edit(ref, texts.clip(text, MESSAGE_LIMIT), disabled=True, lang=lang)

    async def _edit(self, ref: str, content: str, *, disabled: bool, lang: str) -> None:
        round_id, message_id, token = ref.split(":", 2)
        assert self.client.application_id is not None
        webhook = discord.Webhook.partial(self.client.application_id, token, client=self.client)
        await webhook.edit_message(int(message_id), content=content,
                                   view=challenge_view(int(round_id), disabled=disabled, t=texts.lang(lang)))


def add_challenge_command(tree: app_commands.CommandTree) -> None:
    @tree.command(name="challenge", description=loc("Post one face here: real photo or AI fake? Everyone guesses privately"))
    @anywhere
    @in_any_chat
    async def challenge(interaction: discord.Interaction) -> None:
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        await interaction.response.defer(thinking=True)  # making the image may take longer than 3 s
        try:
            # the sender's language: the challenge's public message is said in it
            post = await bot.figment.challenges.create(PLATFORM, player_of(interaction.user, interaction.locale),
                                                       max_seconds=MAX_SECONDS)
        except UserError as error:  # a refusal is for the asker alone
            await interaction.delete_original_response()
            await interaction.followup.send(said_to(interaction).say(error.message), ephemeral=True)
            return
        file = discord.File(io.BytesIO(post.image.data), filename=post.image.filename)
        message = await interaction.edit_original_response(content=post.caption, attachments=[file],
                                                           view=challenge_view(post.round_id, t=texts.lang(post.lang)))
        await bot.figment.challenges.posted(PLATFORM, post.round_id,
                                            f"{post.round_id}:{message.id}:{interaction.token}",
                                            max_seconds=MAX_SECONDS)


class ChallengeButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CHALLENGE_TEMPLATE):
    def __init__(self, round_id: int, guess_real: bool, *, disabled: bool = False, t: texts.Texts = texts.EN) -> None:
        self.round_id, self.guess_real = round_id, guess_real
        super().__init__(discord.ui.Button(
            label=t.BUTTON_REAL if guess_real else t.BUTTON_FAKE,
            style=discord.ButtonStyle.primary,  # one colour for both: neither looks "right"
            custom_id=f"figment:challenge:{round_id}:{'r' if guess_real else 'f'}", disabled=disabled))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> "ChallengeButton":
        return cls(int(match["round"]), match["guess"] == "r")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        with bot.figment.metrics.handling(PLATFORM, "challenge_answer"):
            try:
                await interaction.response.defer(ephemeral=True, thinking=True)
            except discord.HTTPException:  # too late to say anything; the click still counts
                log.warning("could not acknowledge a click on challenge %s", self.round_id, exc_info=True)
            try:
                click = await bot.figment.challenges.answer(  # said in the clicker's own language
                    PLATFORM, self.round_id, player_of(interaction.user, interaction.locale), self.guess_real)
                await interaction.edit_original_response(content=click.text)
            except Exception:
                await report_failure(interaction, f"an answer to challenge {self.round_id}")
