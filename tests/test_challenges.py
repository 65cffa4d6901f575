"""The challenge core without any platform, on SQLite and PostgreSQL: private answers, once per
person, a count that never tells the truth, the reveal at the answer limit or on time (also after
a restart), scores on the global board, and a quiz round's id refused."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import select

from bot import texts
from bot.app import Figment
from bot.quiz.challenges import ChallengeService
from bot.refs import ChatRef, PlayerRef
from db.models import Player, Round, Score
from db.scopes import ALL_TIME, GLOBAL_SCOPE
from generator.serving.direct import DirectSource
from tests.conftest import RecordingPresenter, add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_schema

LONG_REF = "1:2:" + "t" * 600  # a Discord interaction token has no documented length


@dataclass
class Shown:
    progress: list[tuple[str, str]] = field(default_factory=list)
    reveals: list[tuple[str, str]] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)  # the language each edit was said in

    async def show_progress(self, ref: str, caption: str, lang: str) -> None:
        self.progress.append((ref, caption))
        self.languages.append(lang)

    async def reveal(self, ref: str, text: str, lang: str) -> None:
        self.reveals.append((ref, text))
        self.languages.append(lang)


@pytest.fixture(params=["sqlite", "postgresql"])
async def app(request, tmp_path: Path) -> AsyncIterator[Figment]:  # type: ignore[no-untyped-def]
    url = await fresh_schema() if request.param == "postgresql" else None
    settings = make_settings(tmp_path, challenge_answers=3, challenge_seconds=60,
                             **({"database_url": url} if url else {}))
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    await add_real_photos(figment, 3)
    yield figment
    await figment.close()


async def wait_for(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return found


async def truth(app: Figment, round_id: int) -> bool:
    async with app.db.transaction() as session:
        return bool((await session.get(Round, round_id)).is_real)  # type: ignore[union-attr]


async def test_three_answers_close_and_score_once(app: Figment) -> None:
    shown = Shown()
    app.challenges.register("chat", shown)
    post = await app.challenges.create("chat", PlayerRef("chat", "0", "Sender"))
    assert post.caption == app.challenges.caption(0, 0, 60)
    await app.challenges.posted("chat", post.round_id, LONG_REF)  # stored whole, PostgreSQL too
    is_real = await truth(app, post.round_id)
    people = [PlayerRef("chat", str(n), f"P{n}") for n in (1, 2, 3)]
    first = await app.challenges.answer("chat", post.round_id, people[0], is_real)
    assert first.recorded and first.text == texts.challenge_answer(True, is_real)
    assert (await app.challenges.answer("chat", post.round_id, people[0], not is_real)).text == texts.ANSWER_ALREADY
    await wait_for(lambda: shown.progress)
    assert shown.progress[0] == (LONG_REF, app.challenges.caption(1, 1, 60))  # a count, no truth
    await app.challenges.answer("chat", post.round_id, people[1], not is_real)
    await app.challenges.answer("chat", post.round_id, people[2], is_real)
    [(ref, text)] = await wait_for(lambda: shown.reveals)
    assert ref == LONG_REF and text.startswith("Challenge over") and "2 of 3 got it right" in text
    late = await app.challenges.answer("chat", post.round_id, PlayerRef("chat", "9", "Late"), True)
    assert not late.recorded and late.text == texts.CHALLENGE_CLOSED
    await app.challenges.close_and_reveal("chat", post.round_id)  # again: shown and scored once
    async with app.db.transaction() as session:
        board = (await session.execute(
            select(Player.platform_user_id, Score.answers, Score.correct).join(Player, Player.id == Score.player_id)
            .where(Score.scope == GLOBAL_SCOPE, Score.period == ALL_TIME))).all()
    assert sorted(board) == [("1", 1, 1), ("2", 1, 0), ("3", 1, 1)] and len(shown.reveals) == 1


async def test_the_message_speaks_the_senders_language_and_each_answer_the_clickers(app: Figment) -> None:
    shown = Shown()
    app.challenges.register("chat", shown)
    english = await app.challenges.create("chat", PlayerRef("chat", "0", "Sender"))
    post = await app.challenges.create("chat", PlayerRef("chat", "5", "Remitente", "es-419"))
    assert (english.lang, post.lang) == ("en", "es")
    assert post.caption == texts.lang("es").challenge_caption(0, 0, 60, app.settings.challenge_answers)
    await app.challenges.posted("chat", post.round_id, "ref-es")
    is_real = await truth(app, post.round_id)
    click = await app.challenges.answer("chat", post.round_id, PlayerRef("chat", "1", "Ana", "pt-br"), is_real)
    assert click.text == texts.lang("pt_BR").challenge_answer(True, is_real)
    assert (await app.challenges.answer("chat", post.round_id, PlayerRef("chat", "1", "Ana", "pt-br"), is_real)
            ).text == texts.lang("pt_BR").ANSWER_ALREADY
    await wait_for(lambda: shown.progress)
    await app.challenges.close_and_reveal("chat", post.round_id)
    [(_, text)] = shown.reveals
    assert text.startswith(texts.lang("es").challenge_reveal(is_real, 1, 1, "").split("\n")[0])
    assert set(shown.languages) == {"es"}  # the count and the reveal: the sender's, kept with the challenge
    # each language's challenges keep to their own chat; both are still this platform's
    assert (await app.challenges.answer("chat", english.round_id, PlayerRef("chat", "2", "B"), True)).recorded


async def test_a_quiz_rounds_id_is_not_a_challenge(app: Figment) -> None:
    presenter = RecordingPresenter()
    app.quiz.register("chat", presenter)
    await app.quiz.start(ChatRef("chat", "room"), PlayerRef("chat", "1", "A"), 1)
    post = await presenter.next_post(1)
    click = await app.challenges.answer("chat", post.round_id, PlayerRef("chat", "2", "B"), True)
    assert click.text == texts.CHALLENGE_UNKNOWN and not click.recorded  # its truth stays hidden
    await app.quiz.stop(ChatRef("chat", "room"))


async def test_a_challenge_due_while_down_is_revealed_at_the_next_start(app: Figment) -> None:
    post = await app.challenges.create("chat", PlayerRef("chat", "0", "Sender"))
    await app.challenges.posted("chat", post.round_id, "ref-1", max_seconds=2)
    await app.challenges.answer("chat", post.round_id, PlayerRef("chat", "1", "P1"), True)
    await asyncio.sleep(2.5)  # nobody was running the closing loop meanwhile
    again = ChallengeService(app.db, app.curated, app.settings, poll_seconds=0.1)  # a restarted process
    shown = Shown()
    again.register("chat", shown)
    try:
        [(ref, text)] = await wait_for(lambda: shown.reveals)
        assert ref == "ref-1" and "of 1 got it right" in text
    finally:
        await again.shutdown()


def test_a_downgrade_refuses_to_cut_a_long_reference(tmp_path: Path) -> None:
    """0008_challenges down: a reference longer than the old column is refused, never cut, and every
    row stays; once it is gone the downgrade runs."""
    import sqlite3

    from db import migrate
    from tests.populated_db import kept, populate, snapshot

    path = tmp_path / "figment.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    populate(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE rounds SET message_ref = ? WHERE id = (SELECT min(id) FROM rounds)", (LONG_REF,))
    before = snapshot(path)
    with pytest.raises(RuntimeError, match="longer than 256"):
        migrate.downgrade(url, "0007")
    assert kept(before, snapshot(path)) == [] and asyncio.run(migrate.current_revision(url)) == migrate.head_revision(url)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE rounds SET message_ref = 'short' WHERE message_ref = ?", (LONG_REF,))
    migrate.downgrade(url, "0007")
