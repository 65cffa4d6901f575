"""Discord shards: which shards a process runs, read from a setting, and which shard a guild is on.

Discord splits a big bot's guilds over shards by `(guild_id >> 22) % shard_count`; each process of
a sharded bot connects the shards it is given. The core never needs this: it is for the settings
and the Discord front-end.
"""
from __future__ import annotations

import json


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to (direct messages go to shard 0)."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(value: object) -> tuple[int, ...] | None:
    """Shard ids from a setting: "0,1", "0-3", "0-3,8", a JSON list "[0, 1]", or a list of ints.
    Raises ValueError with a message for people."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError(f"{value!r} is not a JSON list of shard ids") from None
        else:
            return _checked(_from_text(text))
    if isinstance(value, (list, tuple)):
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
            raise ValueError(f"shard ids are whole numbers, not {list(value)!r}")
        return _checked(list(value))
    raise ValueError(f"shard ids are a list like 0,1 or 0-3, not {value!r}")


def _from_text(text: str) -> list[int]:
    ids: list[int] = []
    for part in (piece.strip() for piece in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            raise ValueError(f"{part!r} is not a shard id or a range like 0-3") from None
        if high < low:
            raise ValueError(f"the range {part!r} runs backwards")
        ids.extend(range(low, high + 1))
    return ids


def _checked(ids: list[int]) -> tuple[int, ...]:
    if not ids:
        raise ValueError("the list of shard ids is empty")
    if any(shard < 0 for shard in ids):
        raise ValueError("shard ids start at 0")
    if len(set(ids)) != len(ids):
        raise ValueError(f"a shard is listed twice in {ids}")
    return tuple(ids)
