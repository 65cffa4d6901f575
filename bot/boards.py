"""Boards and stats: who spots fakes best, and how often the generator fools people."""
from __future__ import annotations

from datetime import datetime

from bot import texts
from db.database import Database
from bot.errors import UserError
from bot.quiz.modes import MODE_WORDS
from bot.ratelimits import SharedRateLimiter
from bot.refs import ChatRef, PlayerRef
from bot.settings import Settings
from db import standings
from db.models import utcnow
from db.modes import PAIRS, SINGLE, scoped
from db.people import find_player, forget_player, get_or_create_chat
from db.scopes import ALL_TIME, GLOBAL_SCOPE, chat_scope, week_period

PNAS_ACCURACY = 0.482  # people judging StyleGAN2 faces, PNAS 2022
BOARD_USAGE = texts.BOARD_USAGE


def parse_board_args(args: list[str]) -> tuple[str, str]:
    """('week'|'all', 'chat'|'global') from what follows /leaderboard, in any order."""
    period, scope, _ = parse_board_query(args)
    return period, scope


def parse_board_query(args: list[str]) -> tuple[str, str, str]:
    """(period, scope, mode) from what follows /leaderboard, in any order: each game mode
    (db.modes) has its own boards."""
    period, scope, mode = "all", "chat", SINGLE
    for word in (a.lower() for a in args):
        if word in MODE_WORDS:
            mode = MODE_WORDS[word]
            continue
        if word in ("week", "weekly", "this-week"):
            period = "week"
        elif word in ("all", "alltime", "all-time", "ever"):
            period = "all"
        elif word in ("global", "overall", "everywhere"):
            scope = "global"
        elif word in ("chat", "here", "server", "group", "local"):
            scope = "chat"
        else:
            raise UserError(BOARD_USAGE)
    return period, scope, mode


class BoardService:
    """Boards and stats read running totals that only reveals move: cheap indexed reads, and
    nothing in them tells the truth of a round still open. Players' reads are rate limited."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._limiter = SharedRateLimiter(db, "read", settings.reads_per_minute)

    async def _count_read(self, by: PlayerRef | None) -> None:
        """A player's request (None: the bot's own read, e.g. a game's summary)."""
        if by is not None:
            await self._limiter.check((by.platform, by.user_id))

    async def leaderboard_text(self, chat: ChatRef, period: str = "all", scope: str = "chat",
                               escape: texts.Escape = texts._plain, now: datetime | None = None, *,
                               by: PlayerRef | None = None, mode: str = SINGLE, lang: str = "en") -> str:
        """A board; `by` is the player who asked (rate limited: UserError when over the limit)."""
        await self._count_read(by)
        async with self.db.transaction() as session:
            chat_row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            return await self._board(session, chat_row.id, period, scope, escape, now, mode, lang)

    async def chat_board_text(self, chat_id: int, escape: texts.Escape = texts._plain, *, mode: str = SINGLE,
                              lang: str = "en") -> str:
        async with self.db.transaction() as session:
            return await self._board(session, chat_id, "all", "chat", escape, None, mode, lang)

    async def _board(self, session, chat_id: int, period: str, scope: str,  # type: ignore[no-untyped-def]
                     escape: texts.Escape, now: datetime | None, mode: str = SINGLE, lang: str = "en") -> str:
        minimum = self.settings.board_min_answers
        period_key = week_period(now or utcnow()) if period == "week" else ALL_TIME
        scope_key = scoped(GLOBAL_SCOPE if scope == "global" else chat_scope(chat_id), mode)
        rows = await standings.leaderboard(session, scope=scope_key, period=period_key, min_answers=minimum,
                                   limit=self.settings.board_size)
        t = texts.lang(lang)
        title = t.board_title(scope, mode == PAIRS, period == "week")
        if not rows:
            return t.board_empty(title, minimum)
        lines = [t.board_head(title, minimum)]
        for row in rows:
            lines.append(t.board_line(row.rank, escape(row.name), row.accuracy, row.answers, row.best_streak))
        return "\n".join(lines)

    async def stats_text(self, chat: ChatRef, player: PlayerRef, escape: texts.Escape = texts._plain, *,
                         by: PlayerRef | None = None, lang: str = "en") -> str:
        """player's record, in lang; `by` is the player who asked (rate limited, as for boards)."""
        await self._count_read(by)
        t = texts.lang(lang)
        minimum = self.settings.board_min_answers
        async with self.db.transaction() as session:
            chat_row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            player_row = await find_player(session, player.platform, player.user_id)
            lines = [t.stats_head(escape(player.name))]
            if player_row is None:
                lines.append(t.NO_ANSWERS_YET)
            else:
                week = week_period(utcnow())
                keys = [(chat_scope(chat_row.id), ALL_TIME), (GLOBAL_SCOPE, ALL_TIME), (GLOBAL_SCOPE, week)]
                labels = [t.STATS_IN_CHAT, t.STATS_EVERYWHERE, t.STATS_THIS_WEEK,
                          t.STATS_PAIRS_IN_CHAT, t.STATS_PAIRS_EVERYWHERE, t.STATS_PAIRS_THIS_WEEK]
                # Each mode keeps its own accuracy: pairs are easier than single images.
                keys += [(scoped(scope, PAIRS), period) for scope, period in keys]
                scores = await standings.player_scores(session, player_row.id, keys, minimum)
                if not scores:
                    lines.append(t.NO_ANSWERS_YET)
                for key, label in zip(keys, labels):
                    score = scores.get(key)
                    if score is None:
                        continue
                    lines.append(t.stats_line(label, score.correct, score.answers, score.accuracy,
                                              score.best_streak, score.rank, minimum))
            overall = await standings.overall_accuracy(session)
            rates = await standings.fool_rates(session)
        lines.append("")
        if overall.answers:
            lines.append(t.stats_everyone(overall.share_right, overall.answers, PNAS_ACCURACY))
        if rates:
            lines.append(t.FOOL_RATES_HEAD)
            for rate in rates:
                lines.append(t.fool_rate_line(rate.model_version, rate.truncation, rate.rate, rate.low, rate.high,
                                              rate.answers))
        return "\n".join(lines)

    async def forget(self, player: PlayerRef) -> str:
        """Delete the player's data; the reply is in the player's language."""
        t = texts.lang(player.lang)
        async with self.db.transaction() as session:
            row = await find_player(session, player.platform, player.user_id)
            if row is None:
                return t.FORGOTTEN_NOTHING
            return t.forgotten(await forget_player(session, row.id))
