"""What the quiz core hands to front-ends: a round to post, its reveal, a game's summary, the
reply to a click, and the presenter protocol a front-end implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot import texts
from bot.imaging import PostedImage
from bot.refs import ChatRef
from db.answers import AnswerStatus
from db.modes import SINGLE


@dataclass(frozen=True)
class RoundPost:
    round_id: int
    number: int
    total: int
    seconds: int
    image: PostedImage
    pair: bool = False  # two faces, A and B: the buttons are "A is real" / "B is real"
    lang: str = "en"  # the chat's language (bot.i18n code): the caption and buttons are said in it

    @property
    def caption(self) -> str:
        t = texts.lang(self.lang)
        if self.pair:
            return t.pair_caption(self.number, self.total, self.seconds)
        return t.round_caption(self.number, self.total, self.seconds)


@dataclass(frozen=True)
class Reveal:
    round_id: int
    number: int
    total: int
    is_real: bool
    answers: int
    correct: int
    attribution: str
    tip: str = ""  # what gives a fake away (bot.quiz.tips), shown only now
    pair: bool = False  # a pair round: is_real says face A was the real one
    lang: str = "en"  # the chat's language; attribution and tip come already said in it

    def text(self, limit: int | None = None) -> str:
        """The reveal, at most `limit` characters: the truth and the share always show; a long
        attribution (an operator's photo credits) is cut at a word, with an ellipsis."""
        t = texts.lang(self.lang)
        truth = t.reveal_head(self.number, self.total, self.is_real, t.pair_truth(self.is_real) if self.pair else None)
        head = f"{truth}\n{t.reveal_share(self.correct, self.answers)}\n"
        if self.tip:
            head += self.tip + "\n"
        if limit is None:
            return head + self.attribution
        return head + texts.clip(self.attribution, limit - len(head))


@dataclass(frozen=True)
class PlayerResult:
    name: str
    answers: int
    correct: int


@dataclass(frozen=True)
class GameSummary:
    game_id: int
    rounds_played: int
    players: list[PlayerResult]
    board_text: str
    stopped: bool = False
    reason: str | None = None  # why a game stopped early, for the players (e.g. the generator is down)
    mode: str = SINGLE  # db.modes: the board shown is the mode's
    lang: str = "en"  # the chat's language; board_text and reason come already said in it

    def text(self, escape: texts.Escape = texts._plain) -> str:
        t = texts.lang(self.lang)
        lines = [t.summary_head(self.stopped, self.rounds_played)]
        if self.reason:
            lines.append(self.reason)
        if not self.players:
            lines.append(t.NOBODY_THIS_TIME)
        for place, player in enumerate(self.players, 1):
            lines.append(t.summary_line(place, escape(player.name), player.correct, player.answers))
        return "\n".join(lines) + "\n\n" + self.board_text


@dataclass(frozen=True)
class AnswerReply:
    status: AnswerStatus
    text: str


class QuizPresenter(Protocol):
    """What a front-end does for the game. message_ref is the front-end's own, opaque to the core."""

    async def post_round(self, chat: ChatRef, post: RoundPost) -> str: ...

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None: ...

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        """Show the reveal as a new message (the round's own message could not be edited)."""


    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None: ...


class BoardTexts(Protocol):
    async def chat_board_text(self, chat_id: int, *, mode: str = SINGLE) -> str: ...
