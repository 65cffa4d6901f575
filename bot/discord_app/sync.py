"""Keep Discord's copy of our command set in step, without syncing on every start.

Discord rate-limits command updates (and a global update takes a while to reach every client),
so we store a hash of the payload we last synced, per application and scope (global, or one
test guild), and sync only when the set changes, or when an operator forces it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot import i18n

log = logging.getLogger(__name__)

RECORD_FILE = "discord_commands.json"


def scope_key(application_id: int, guild_id: int | None) -> str:
    return f"{application_id}:{'global' if guild_id is None else f'guild:{guild_id}'}"


def command_payload(tree: app_commands.CommandTree, guild_id: int | None) -> list[dict[str, Any]]:
    """What tree.sync would send for this scope (commands sorted, so order does not matter)."""
    guild = discord.Object(guild_id) if guild_id is not None else None
    commands = tree.get_commands(guild=guild)
    payload = sorted((command.to_dict(tree) for command in commands), key=lambda c: (c.get("type", 1), c["name"]))
    # The translations are part of what Discord holds: a changed catalogue syncs again.
    return [*payload, {"catalogues": i18n.catalogue_digest()}]


def payload_hash(payload: list[dict[str, Any]]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class SyncRecord:
    """A small JSON file: scope key -> hash of the command set last synced there."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        return self.read().get(key)

    def put(self, key: str, digest: str) -> None:
        data = self.read()
        data[key] = digest
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(temporary, self.path)  # never leave a half-written record


async def sync_commands(tree: app_commands.CommandTree, record: SyncRecord, *, guild_id: int | None,
                        force: bool = False) -> bool:
    """Sync tree's commands globally or to guild_id if they changed since the last sync (or if
    forced). Returns whether a sync ran. The client must be logged in (it knows its application)."""
    application_id = tree.client.application_id
    if application_id is None:
        raise RuntimeError("log in before syncing commands")
    guild = discord.Object(guild_id) if guild_id is not None else None
    if guild is not None:
        tree.copy_global_to(guild=guild)  # a test guild gets every command at once
    key = scope_key(application_id, guild_id)
    digest = payload_hash(command_payload(tree, guild_id))
    if not force and record.get(key) == digest:
        log.info("Discord commands unchanged (%s); not syncing", key)
        return False
    synced = await tree.sync(guild=guild)
    record.put(key, digest)
    log.info("synced %d Discord commands (%s)", len(synced), key)
    return True
