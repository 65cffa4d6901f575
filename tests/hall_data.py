"""Rounds on generated faces with answers, written through the core's own queries (real SQLite):
what the hall of fakes tests start from."""
from __future__ import annotations

from datetime import timedelta

from bot.app import Figment
from db.answers import AnswerRequest, record_answers
from db.games import add_generated_face, add_round, close_round, end_game, start_game
from db.models import utcnow
from db.people import get_or_create_chat, get_or_create_player
from db.scoring import reveal_and_score


async def face_round(app: Figment, seed: int, fooled: int, answers: int, *, reveal: bool = True,
                     face_id: int | None = None, chat: str = "hall-chat",
                     version: str | None = None) -> tuple[int, int]:
    """A fake round on face `face_id` (a new face of `seed` when None) in a game of its own, with
    `answers` players answering, `fooled` of them 'real'; revealed when asked. Returns (face, round)."""
    async with app.db.transaction() as session:
        chat_row = await get_or_create_chat(session, "test", f"{chat}-{seed}-{face_id}-{reveal}", "hall")
        if face_id is None:
            face_id = (await add_generated_face(session, seed, 0.7, version or app.source.model_version)).id
        game = await start_game(session, chat_row.id, None, 1, 20)
        round_ = await add_round(session, game, 1, is_real=False, closes_at=utcnow() + timedelta(seconds=20),
                                 generated_face_id=face_id)
        requests = []
        for index in range(answers):
            player = await get_or_create_player(session, "test", f"p{index}", f"Player {index}")
            requests.append(AnswerRequest(round_.id, player.id, guess_real=index < fooled))
        await record_answers(session, requests)
        if reveal:
            await close_round(session, round_.id)
            await reveal_and_score(session, round_.id)
            await end_game(session, game.id)
        return face_id, round_.id


async def reveal(app: Figment, round_id: int) -> None:
    async with app.db.transaction() as session:
        await close_round(session, round_id)
        await reveal_and_score(session, round_id)
