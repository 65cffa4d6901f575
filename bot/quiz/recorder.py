"""Group commit for answers: answers that arrive together are written in one transaction.

A quiz round ends in a burst of clicks. Each waiting answer joins the next batch, so a busy chat
costs a handful of statements per batch instead of per click, and every answer still gets its
own outcome (recorded, already answered, closed).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.exc import DBAPIError

from db.database import Database, met_another_writer
from bot.ops.metrics import BotMetrics
from bot.refs import ChatRef, PlayerRef
from db.answers import AnswerOutcome, AnswerRequest, record_answers
from db.models import Chat, Player
from db.people import get_or_create_player

log = logging.getLogger(__name__)
MAX_BATCH = 256


@dataclass
class _Pending:
    round_id: int
    player: PlayerRef
    guess_real: bool
    chat: ChatRef | None
    pair: bool
    future: asyncio.Future[AnswerOutcome]


class AnswerRecorder:
    def __init__(self, db: Database, max_batch: int = MAX_BATCH, *, metrics: BotMetrics | None = None) -> None:
        self.db = db
        self.metrics = metrics or BotMetrics()
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._drainer: asyncio.Task[None] | None = None

    async def record(self, round_id: int, player: PlayerRef, guess_real: bool,
                     chat: ChatRef | None = None, pair: bool = False) -> AnswerOutcome:
        """Record one answer; with `chat`, a round of another chat counts as unknown."""
        future: asyncio.Future[AnswerOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(round_id, player, guess_real, chat, pair, future))
        if self._drainer is None or self._drainer.done():
            # A task of its own: a caller that gives up must not strand the others' answers.
            self._drainer = asyncio.create_task(self._drain(), name="answer-recorder")
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            try:
                try:
                    outcomes = await self._write(batch)
                except DBAPIError as error:
                    if not met_another_writer(error):
                        raise
                    # Another process wrote one of these rows first (or deadlocked with this batch): retry one by one.
                    outcomes = [await self._write_one(item) for item in batch]
            except Exception as error:  # the store failed (the retry too): tell every waiting caller
                log.exception("could not record %d answers", len(batch))
                for item in batch:
                    self.metrics.answer(item.player.platform, "failed")
                    if not item.future.done():
                        item.future.set_exception(error)
                continue
            for item, outcome in zip(batch, outcomes):
                self.metrics.answer(item.player.platform, outcome.status.value)
                if not item.future.done():
                    item.future.set_result(outcome)

    async def _write_one(self, item: _Pending) -> AnswerOutcome:
        # Retried whole: a second answer of the same player is then read as "already answered"
        # by record_answers; any other race (a new player's row) just goes through the next time.
        return (await self.db.retrying(lambda: self._write([item]), "an answer"))[0]

    async def _write(self, batch: list[_Pending]) -> list[AnswerOutcome]:
        async with self.db.transaction() as session:
            player_ids = await _player_ids(session, [item.player for item in batch])
            chat_ids = await _chat_ids(session, [item.chat for item in batch if item.chat is not None])
            requests = [
                AnswerRequest(item.round_id, player_ids[(item.player.platform, item.player.user_id)],
                              item.guess_real,
                              chat_ids.get((item.chat.platform, item.chat.chat_id), -1) if item.chat else None,
                              item.pair)
                for item in batch
            ]
            return await record_answers(session, requests)


async def _player_ids(session, players: list[PlayerRef]) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    keys = {(p.platform, p.user_id) for p in players}
    rows = await session.execute(
        select(Player.platform, Player.platform_user_id, Player.id)
        .where(tuple_(Player.platform, Player.platform_user_id).in_(list(keys)))
    )
    ids = {(platform, user_id): player_id for platform, user_id, player_id in rows.all()}
    for player in players:
        if (player.platform, player.user_id) not in ids:
            row = await get_or_create_player(session, player.platform, player.user_id, player.name)
            ids[(player.platform, player.user_id)] = row.id
    return ids


async def _chat_ids(session, chats: list[ChatRef]) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    if not chats:
        return {}
    keys = list({(c.platform, c.chat_id) for c in chats})
    rows = await session.execute(
        select(Chat.platform, Chat.platform_chat_id, Chat.id)
        .where(tuple_(Chat.platform, Chat.platform_chat_id).in_(keys))
    )
    return {(platform, chat_id): row_id for platform, chat_id, row_id in rows.all()}
