"""Discord API objects as the fake sends them: just the fields discord.py reads, with real shapes."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# permission bits (https://discord.com/developers/docs/topics/permissions)
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 50) - 1  # what Discord sends for an administrator: every bit set
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES

TEXT_CHANNEL = 0
DM_CHANNEL = 1

_ids = itertools.count(1_200_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    handle = "".join(c for c in name.lower() if c.isalnum()) or "user"
    return {"id": str(user_id), "username": handle[:32], "discriminator": "0", "global_name": name,
            "avatar": None, "bot": bot, "public_flags": 0}


@dataclass
class FakeMember:
    user: dict[str, Any]
    permissions: int = MEMBER_PERMISSIONS
    nick: str | None = None
    locale: str = "en-US"  # the member's client language: interactions carry it as "locale"

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def name(self) -> str:
        return self.nick or self.user["global_name"]

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"roles": [], "joined_at": now_iso(), "deaf": False, "mute": False, "flags": 0,
                                "nick": self.nick, "pending": False, "permissions": str(self.permissions)}
        if with_user:
            data["user"] = self.user
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"  # the server's community language: interactions carry it as "guild_locale"

    def add_text_channel(self, name: str) -> dict[str, Any]:
        channel = {"id": str(snowflake()), "type": TEXT_CHANNEL, "guild_id": str(self.id), "name": name,
                   "position": len(self.channels), "permission_overwrites": [], "nsfw": False,
                   "parent_id": None, "topic": None, "rate_limit_per_user": 0, "last_message_id": None}
        self.channels[int(channel["id"])] = channel
        return channel

    def payload(self, bot_member: FakeMember) -> dict[str, Any]:
        """GUILD_CREATE: the whole guild, with the bot as its one cached member."""
        everyone = {"id": str(self.id), "name": "@everyone", "permissions": str(MEMBER_PERMISSIONS),
                    "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                    "flags": 0, "icon": None, "unicode_emoji": None}
        return {"id": str(self.id), "name": self.name, "owner_id": str(self.owner_id), "unavailable": False,
                "member_count": len(self.members) + 1, "large": False, "joined_at": now_iso(),
                "roles": [everyone], "channels": list(self.channels.values()),
                "members": [bot_member.payload()], "features": [], "emojis": [], "stickers": [],
                "voice_states": [], "presences": [], "threads": [], "stage_instances": [],
                "guild_scheduled_events": [], "soundboard_sounds": [], "preferred_locale": self.locale,
                "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
                "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0, "system_channel_flags": 0,
                "icon": None, "splash": None, "banner": None, "description": None, "afk_timeout": 300}


def attachment(attachment_id: int, filename: str, size: int, content_type: str, base: str) -> dict[str, Any]:
    url = f"{base}/attachments/{attachment_id}/{filename}"
    return {"id": str(attachment_id), "filename": filename, "size": size, "url": url, "proxy_url": url,
            "content_type": content_type}


def message(message_id: int, channel_id: int, guild_id: int | None, author: dict[str, Any],
            *, webhook_id: int | None = None, flags: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message_id), "channel_id": str(channel_id), "author": author, "content": "",
        "timestamp": now_iso(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "components": [],
        "pinned": False, "type": 0, "flags": flags,
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
        data["application_id"] = str(webhook_id)
    return data
