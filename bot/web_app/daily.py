"""The daily challenge in the playground: played alone, shown to the asking tab only.

The shared room never sees it: /daily, its rounds, the results and the finish go back in the reply
to the tab that asked, and its images are served under random URLs that no room message names.
A round's message id is its day and number, so the answer to a click updates that message in place
(its buttons go, its text says how it went).
"""
from __future__ import annotations

import secrets
from datetime import date

from bot import texts
from bot.daily import DailyRound, DailyService, DailyStep, day_number
from bot.daily_keys import round_key
from bot.refs import PlayerRef
from bot.web_app.room import Button, Message, Room

GUESSES = {"real": True, "fake": False}


class PlaygroundDaily:
    def __init__(self, daily: DailyService, room: Room) -> None:
        self.daily = daily
        self.room = room

    async def start(self, player: PlayerRef, text: str, args: list[str]) -> list[Message]:
        """What the tab shows for a typed /daily: what it typed, then today's next round.
        UserError (played already, with the share line; bad arguments) for the tab alone."""
        round_ = await self.daily.start(player, args)
        return [Message(f"daily-{secrets.token_hex(8)}", "user", text, name=player.name), self._round(round_)]

    async def answer(self, player: PlayerRef, day: date, number: int, guess_real: bool) -> list[Message]:
        """The answered round, updated, then the next round or the finish. UserError for
        yesterday's round, a second click, a try never started."""
        step = await self.daily.answer(player, day, number, guess_real)
        total = step.next_round.total if step.next_round else step.finish.total  # type: ignore[union-attr]
        caption = texts.lang(player.lang).daily_caption(day_number(day), number, total)
        messages = [Message(_message_id(day, number), "daily", f"{caption}\n{step.result}", daily=round_key(day, number))]
        return messages + self._after(step)

    def _after(self, step: DailyStep) -> list[Message]:
        if step.next_round is not None:
            return [self._round(step.next_round)]
        assert step.finish is not None
        return [Message(f"daily-{secrets.token_hex(8)}", "daily", step.finish.text())]

    def _round(self, round_: DailyRound) -> Message:
        return Message(_message_id(round_.day, round_.number), "daily", round_.caption,
                       image=self.room.keep_private(round_.image),
                       buttons=[Button(texts.lang(round_.lang).BUTTON_REAL, "real"),
                                Button(texts.lang(round_.lang).BUTTON_FAKE, "fake")],
                       daily=round_key(round_.day, round_.number))


def _message_id(day: date, number: int) -> str:
    return f"daily-{day:%Y%m%d}-{number}"
