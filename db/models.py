"""Typed SQLAlchemy models. Nothing here is SQLite-specific: a PostgreSQL URL works too."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stamp here is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Timestamps are stored as aware UTC datetimes.
Stamp = DateTime(timezone=True)


class Player(Base):
    __tablename__ = "players"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "platform_chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_chat_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class GeneratedFace(Base):
    __tablename__ = "generated_faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    truncation: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class RealPhoto(Base):
    __tablename__ = "real_photos"
    __table_args__ = (
        UniqueConstraint("pack", "content_hash"),
        Index("ix_real_photos_pack_split", "pack", "split"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text)  # operators' folders can nest deep
    source: Mapped[str] = mapped_column(String(512), default="")
    licence: Mapped[str] = mapped_column(String(256), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    perceptual_hash: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_path: Mapped[str] = mapped_column(Text)
    identity: Mapped[str | None] = mapped_column(Text, nullable=True)
    # 'train' or 'heldout': held-out photos are never trained on; the quiz shows them.
    split: Mapped[str] = mapped_column(String(16), default="heldout")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class Game(Base):
    __tablename__ = "games"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    # Equals chat_id while the game runs, NULL after: a unique column keeps one game per chat.
    active_chat_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("players.id", ondelete="SET NULL"), nullable=True)
    rounds_total: Mapped[int] = mapped_column(Integer)
    round_seconds: Mapped[int] = mapped_column(Integer)
    # A hard game's fake rounds show faces from the hall of fakes when it has some.
    hard: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    mode: Mapped[str] = mapped_column(String(16), default="single", server_default="single")  # db.modes
    started_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
    # The process whose loop runs the game, until its lease runs out (db.leases): another process
    # takes over a game whose owner stopped renewing. stop_requested: /stop from another process.
    owner: Mapped[str | None] = mapped_column(String(96), nullable=True, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when the game ends, cleared once its summary is posted: {"stopped": bool, "reason": str|None}.
    # An owner that dies in between leaves it set, and the process taking over posts the summary.
    summary_due: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    rounds: Mapped[list[Round]] = relationship(back_populates="game", order_by="Round.number")


class Round(Base):
    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("game_id", "number"),
        Index("ix_rounds_open", "closed_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # A single round: is the image real? A pair round (pair true): is face A the real one?
    is_real: Mapped[bool] = mapped_column(Boolean)
    pair: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    generated_face_id: Mapped[int | None] = mapped_column(ForeignKey("generated_faces.id"), nullable=True)
    real_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("real_photos.id", ondelete="SET NULL"), nullable=True
    )
    opened_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(Stamp)
    closed_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
    # Set once the front-end has shown the truth; a closed round without it is revealed at restart.
    revealed_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
    message_ref: Mapped[str | None] = mapped_column(Text, nullable=True)  # a Discord challenge holds a token

    game: Mapped[Game] = relationship(back_populates="rounds")
    generated_face: Mapped[GeneratedFace | None] = relationship()
    real_photo: Mapped[RealPhoto | None] = relationship()


class Answer(Base):
    __tablename__ = "answers"
    # One answer per player per round, enforced by the database.
    __table_args__ = (UniqueConstraint("round_id", "player_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id", ondelete="CASCADE"), index=True)
    guess_real: Mapped[bool] = mapped_column(Boolean)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    reaction_ms: Mapped[int] = mapped_column(Integer)


class Score(Base):
    """Running totals per player, scope and period, moved by a round's reveal (in its transaction).

    scope: 'all' or 'chat:<id>'; period: 'all' or an ISO week such as '2026-W48'.
    The leaderboard reads these rows through one index instead of scanning answers.
    """

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("scope", "period", "player_id"),
        Index("ix_scores_board", "scope", "period", "wilson"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id", ondelete="CASCADE"), index=True)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    best_streak: Mapped[int] = mapped_column(Integer, default=0)
    # Wilson lower bound of accuracy (95%), kept up to date so ranking is an index scan.
    wilson: Mapped[float] = mapped_column(Float, default=0.0)


class FoolCount(Base):
    """Per model version and truncation: revealed answers on its faces, and how many said 'real'.
    Moved by each reveal, so the fool rate is read without scanning answers."""

    __tablename__ = "fool_counts"
    __table_args__ = (UniqueConstraint("model_version", "truncation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64))
    truncation: Mapped[float] = mapped_column(Float)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    fooled: Mapped[int] = mapped_column(Integer, default=0)


class FaceFools(Base):
    """Per generated face and period ('all' or an ISO week): revealed answers on it and how many said
    'real', with the Wilson lower bound of that fool rate kept for ranking the hall of fakes.
    Moved by each reveal (db.scoring), so answers on an open round never count."""

    __tablename__ = "face_fools"
    __table_args__ = (
        UniqueConstraint("generated_face_id", "period"),
        Index("ix_face_fools_hall", "period", "wilson"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generated_face_id: Mapped[int] = mapped_column(ForeignKey("generated_faces.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    answers: Mapped[int] = mapped_column(Integer, default=0)
    fooled: Mapped[int] = mapped_column(Integer, default=0)
    wilson: Mapped[float] = mapped_column(Float, default=0.0)


class DailyChallenge(Base):
    """One UTC day's challenge: the same rounds (photos, generated seeds) for every player.
    Drawn from a secret random source when the day's first player asks, with its images, so
    photos imported later that day change nothing and nobody can work the plan out."""

    __tablename__ = "daily_challenges"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date, UTC
    number: Mapped[int] = mapped_column(Integer)  # "Figment daily #12"
    # [{"is_real": bool, "photo_id": int | None, "seed": int | None, "psi": float | None,
    #   "image": str (the round's quiz JPEG, zlib + base64; absent in plans drawn before 2026-12)}, ...]
    plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class DailyPlay(Base):
    """A player's one try at a day's challenge (a unique row: one try per person per day)."""

    __tablename__ = "daily_plays"
    __table_args__ = (UniqueConstraint("day", "player_id"), Index("ix_daily_plays_board", "day", "correct"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(ForeignKey("daily_challenges.day", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id", ondelete="CASCADE"), index=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1)  # the round the player answers next
    correct: Mapped[int] = mapped_column(Integer, default=0)
    marks: Mapped[str] = mapped_column(String(32), default="")  # one letter a round: 'y' right, 'n' wrong
    started_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)


class RateLimitHits(Base):
    """One user's recent requests of one kind (bot.ratelimits.SharedRateLimiter): a row every
    process reads and writes under a row lock, so a limit holds across processes."""

    __tablename__ = "rate_limit_hits"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    hits: Mapped[str] = mapped_column(Text, default="")  # epoch seconds of the last minute's hits, comma-separated
    touched_at: Mapped[float] = mapped_column(Float, index=True)


class SeenUpdate(Base):
    """A platform update handled once (Telegram may deliver one again, to any worker)."""

    __tablename__ = "seen_updates"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)  # claimed (or claimed again)
    # Handled to the end. A claim never finished (its process died) may be claimed again later.
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class FaceBankEntry(Base):
    """One banked face (bot.bank): the most convincing candidates a bot made in idle time, kept as
    the recipe to make them again (seed, truncation, truncation mode) and the critic's score, never
    as pixels. Tied to the model version that made it: entries of another version are ignored."""

    __tablename__ = "face_bank"
    __table_args__ = (
        UniqueConstraint("model_version", "seed", "psi", "mode", name="uq_face_bank_recipe"),
        Index("ix_face_bank_draw", "model_version", "psi", "shown", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int] = mapped_column(BigInteger)
    psi: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(16), default="mean")
    score: Mapped[float] = mapped_column(Float)
    shown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_shown_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
