"""Figment on Discord: slash commands, persistent quiz buttons, and the quiz presenter.

`await serve(figment, token, stop, **options)` runs the bot until `stop` is set;
`await sync_now(token, guild_id=..., record_path=...)` syncs the commands for `figment discord sync`.
"""
from bot.discord_app.serve import DiscordStartError, invite_url, serve, sync_now, user_install_url

__all__ = ["DiscordStartError", "invite_url", "serve", "sync_now", "user_install_url"]
