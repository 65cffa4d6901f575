"""The daily challenge in the core: the same rounds for everyone that day, one try each, a
share line that gives nothing away, the daily boards, and clear replies to bad input."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bot import texts
from bot.app import Figment
from bot.daily import DAILY_ROUNDS, day_number, utc_today
from bot.errors import UserError
from bot.refs import PlayerRef
from db import daily as dq
from tests.conftest import add_real_photos

ANN, BOB = PlayerRef("test", "ann", "Ann"), PlayerRef("telegram", "bob", "Bob")  # two platforms, one daily
SHARE = re.compile(r"Figment daily #\d+: \d/5 [\U0001F7E9\U0001F7E5]{5}")


async def play(app: Figment, who: PlayerRef, guess_real: bool) -> tuple[list[bytes], str, str]:
    """A whole try, always giving the same guess: (the images seen, the last result, the finish text)."""
    round_ = await app.daily.start(who)
    images = []
    while True:
        images.append(round_.image.data)
        step = await app.daily.answer(who, round_.day, round_.number, guess_real)
        if step.finish is not None:
            return images, step.result, step.finish.text()
        assert step.next_round is not None and step.next_round.number == round_.number + 1
        round_ = step.next_round


async def test_two_players_get_the_same_rounds_play_once_and_see_the_boards(app: Figment) -> None:
    await add_real_photos(app, count=6)
    ann_images, _, ann_done = await play(app, ANN, True)
    bob_images, _, bob_done = await play(app, BOB, False)
    assert ann_images == bob_images and len(ann_images) == DAILY_ROUNDS  # the same images, byte for byte
    ann_share, bob_share = (SHARE.search(text).group(0) for text in (ann_done, bob_done))  # type: ignore[union-attr]
    ann_right = int(ann_share.split(": ")[1][0])
    assert ann_right + int(bob_share.split(": ")[1][0]) == DAILY_ROUNDS  # one said real, the other fake
    assert "REAL" not in ann_share and "FAKE" not in ann_share  # the squares tell right or wrong only
    assert ann_share.startswith(f"Figment daily #{day_number(utc_today())}: ")
    for text in (ann_done, bob_done):
        assert f"Daily #{day_number(utc_today())} board:" in text and "All-time daily board:" in text
    assert "Ann: " in bob_done and "Bob: " in bob_done

    with pytest.raises(UserError) as twice:  # one try a day
        await app.daily.start(ANN)
    assert twice.value.message == texts.daily_done(ann_share)
    with pytest.raises(UserError, match="already answered"):  # a double click on the last round
        await app.daily.answer(ANN, utc_today(), DAILY_ROUNDS, True)


async def test_yesterdays_button_and_bad_input_get_clear_replies(app: Figment) -> None:
    with pytest.raises(UserError) as empty:
        await app.daily.start(ANN)
    assert empty.value.message == texts.DAILY_NO_PHOTOS
    await add_real_photos(app, count=6)
    with pytest.raises(UserError) as usage:
        await app.daily.start(ANN, ["please"])
    assert usage.value.message == texts.DAILY_USAGE
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    old = await app.daily.start(ANN, now=yesterday)
    with pytest.raises(UserError) as over:
        await app.daily.answer(ANN, old.day, 1, True)
    assert over.value.message == texts.DAILY_OVER
    today = await app.daily.start(ANN)  # today's is a new try, from round 1
    assert today.number == 1 and today.day == utc_today()
    with pytest.raises(UserError):
        await app.daily.answer(BOB, today.day, 1, True)  # never started: nothing recorded
    step = await app.daily.answer(ANN, today.day, 1, True)
    assert step.result.startswith("Round 1/5: it was") and step.next_round is not None
    again = await app.daily.start(ANN)  # the try goes on where it stopped, not anew
    assert again.number == 2


async def test_a_plan_stored_before_its_images_were_is_still_played(app: Figment) -> None:
    """A day drawn by an older version (the plan holds no images): its rounds are made on demand."""
    await add_real_photos(app, count=2)
    old_plan = [{"is_real": n % 2 == 0, "photo_id": 1 if n % 2 == 0 else None, "seed": None if n % 2 == 0 else n,
                 "psi": None if n % 2 == 0 else 0.7} for n in range(DAILY_ROUNDS)]
    async with app.db.transaction() as session:
        await dq.get_or_add_challenge(session, utc_today().isoformat(), day_number(utc_today()), old_plan)
    images, _, done = await play(app, ANN, True)
    assert len(images) == DAILY_ROUNDS and len(set(images)) == 3  # one photo, two seeds
    assert f"{DAILY_ROUNDS - DAILY_ROUNDS // 2}/5 right" in done
