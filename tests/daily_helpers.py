"""What the daily challenge's end-to-end tests share: the day's truths, read from the database (to
check each result exactly), and the share line."""
from __future__ import annotations

import re
from datetime import timedelta

from bot import texts
from bot.app import Figment
from bot.daily import DAILY_ROUNDS, day_number, utc_today
from db.models import DailyChallenge

SHARE = re.compile(r"Figment daily #(\d+): (\d)/5 ([\U0001F7E9\U0001F7E5]{5})")
TODAY = utc_today()
YESTERDAY = TODAY - timedelta(days=1)
DAILY_NUMBER = day_number(TODAY)


async def truths(figment: Figment) -> list[bool]:
    """Which of today's rounds show a real photo (the stored plan; no front-end ever shows it)."""
    async with figment.db.transaction() as session:
        challenge = await session.get(DailyChallenge, TODAY.isoformat())
        assert challenge is not None, "nobody started today's challenge"
        return [bool(entry["is_real"]) for entry in challenge.plan]


def result(number: int, is_real: bool, guess_real: bool) -> str:
    return texts.daily_result(number, DAILY_ROUNDS, is_real, guess_real == is_real)


def expected_share(real_rounds: list[bool], guess_real: bool) -> str:
    """The share line of a try that gave the same guess every round."""
    marks = "".join("y" if truth == guess_real else "n" for truth in real_rounds)
    return texts.daily_share(DAILY_NUMBER, marks.count("y"), DAILY_ROUNDS, marks)


def check_finish(text: str, share: str, names: list[str]) -> None:
    """The finish: the score, the share line on its own line, today's board and the all-time board."""
    match = SHARE.fullmatch(share)
    assert match is not None, share
    assert text.startswith(f"Done! {match.group(2)}/{DAILY_ROUNDS} right.")
    assert f"\n{share}\n" in text
    assert f"Daily #{DAILY_NUMBER} board:" in text and "All-time daily board:" in text
    for name in names:
        assert f"{name}: " in text
    assert "REAL" not in share and "FAKE" not in share
