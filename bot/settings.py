"""Configuration, read from the environment (prefix FIGMENT_) and an optional .env file.

Tokens are SecretStr: printing or logging the settings shows '**********', never the value.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.ops.shards import parse_shard_ids


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIGMENT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the database, photos and runs live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default a SQLite file in the data directory.")

    telegram_token: SecretStr | None = None
    telegram_webhook_url: str | None = Field(None, description="Public HTTPS URL Telegram posts updates to; "
                                             "unset: long polling.")
    telegram_webhook_listen: str = Field("0.0.0.0", description="Address the webhook server binds.")
    telegram_webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server binds.")
    telegram_webhook_secret: SecretStr | None = Field(None, description="Secret Telegram sends with each "
                                                      "update; default one derived from the bot token, so "
                                                      "every webhook worker of the bot agrees on it.")
    telegram_api_url: str | None = Field(None, description="A self-hosted Bot API server, e.g. "
                                         "http://localhost:8081/bot; default Telegram's.")
    telegram_storage_chat: int | None = Field(None, description="Inline mode: a chat (e.g. a private channel) "
                                              "the bot uploads inline photos to once, for their file_ids.")
    discord_token: SecretStr | None = None
    discord_test_guild: int | None = Field(None, description="Sync slash commands to this guild only (fast, for testing).")
    discord_api_url: str | None = Field(None, description="Discord's REST API base, e.g. "
                                        "https://discord.com/api/v10 (a proxy, or a local fake); default Discord's.")
    discord_gateway_url: str | None = Field(None, description="Discord's gateway, e.g. wss://gateway.discord.gg/; "
                                            "default Discord's.")
    discord_shard_count: int | Literal["auto"] | None = Field(
        None, description="Shards of the whole bot (over all processes); unset: one shard, no sharding; "
                          "auto: as many as Discord recommends, all in this process.")
    discord_shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = Field(
        None, description="The shards this process runs, e.g. 0,1 or 0-3 or [0, 1]; unset: all of them.")

    @field_validator("discord_shard_count", mode="before")
    @classmethod
    def _shard_count(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # FIGMENT_DISCORD_SHARD_COUNT=
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            try:
                count = int(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a number of shards (a whole number, or auto)") from None
            if count < 1:
                raise ValueError("a bot has at least 1 shard")
            return count
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object) -> object:
        return parse_shard_ids(value)

    round_seconds: int = Field(20, ge=1, le=600, description="How long a quiz round stays open.")
    round_gap_seconds: float = Field(2.0, ge=0, le=60, description="Pause before each round (after /quiz or the last reveal); the image is made during the round before.")
    rounds_per_game: int = Field(5, ge=1, le=50, description="Rounds in a /quiz without a number.")
    max_rounds_per_game: int = Field(20, ge=1, le=100)
    board_min_answers: int = Field(10, ge=1, description="Answers a player needs to be ranked.")
    board_size: int = Field(10, ge=1, le=50)

    game_lease_seconds: float = Field(5.0, ge=1, le=300, description="Several processes on one database: "
                                      "a process that stops renewing its games' leases this long loses them "
                                      "to another (takeover within 1.5x this).")
    coordination_poll_seconds: float = Field(1.0, gt=0, le=30, description="How often a process looks for "
                                             "/stop and answers taken by other processes.")

    face_per_minute: int = Field(6, ge=1, description="/face requests per user per minute.")
    quiz_per_minute: int = Field(2, ge=1, description="/quiz starts per user per minute.")
    reads_per_minute: int = Field(6, ge=1, description="/stats and /leaderboard requests per user per minute.")
    challenge_seconds: int = Field(300, ge=2, le=3600, description="A challenge (Telegram inline, Discord "
                                   "/challenge) closes and reveals after this long (on Discord at most 14 minutes).")
    challenge_answers: int = Field(10, ge=1, le=1000, description="...or once this many people have answered.")
    inline_faces: int = Field(4, ge=1, le=20, description="Fresh faces on an inline page (`@bot` with no seed).")
    check_per_minute: int = Field(4, ge=1, description="/check requests per user per minute (each reads an "
                                  "uploaded image: up to about a second of CPU).")
    morph_per_minute: int = Field(2, ge=1, description="/morph requests per user per minute (each renders "
                                  "and encodes dozens of frames: seconds of CPU).")
    morph_frames: int = Field(36, ge=24, le=60, description="Frames in a /morph animation (there and back).")
    morph_fps: int = Field(12, ge=4, le=30, description="Frames per second of a /morph animation.")
    morph_size: int = Field(256, ge=128, le=512, description="Side of a /morph animation, in pixels "
                            "(upscaled from the generator's resolution as /face is).")

    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="Generator arithmetic on a CPU: auto "
                                                     "times fp32 and bf16 at start and keeps bf16 only where it is "
                                                     "1.5x faster and within one level of 255 of fp32.")
    weights: Path | None = Field(None, description="Generator weights; default the shipped ones.")
    generator_url: str | None = Field(None, description="Use a shared `figment generator serve` at this URL.")
    generator_token: SecretStr | None = None
    # psi 1 (no truncation): with the face bank and the broken-face filter, the most convincing faces by
    # judges the picking never saw (docs/generator.md, "Measured at n=1,000")
    quiz_psis: tuple[float, ...] = Field((1.0,), description="Truncations of the quiz's (and the daily's) fakes, "
                                         "taken in turn.")
    curate_k: int = Field(8, ge=1, le=64, description="Quiz faces (and /face without a seed) are the best 1 of "
                          "this many candidates by the realness critic; 1: no curation.")
    critic: Path | None = Field(None, description="Realness critic (safetensors); default the shipped one.")
    face_filter: bool = Field(True, description="Curated faces must pass the broken-face filter (dlib finds a "
                              "face and its landmarks sit where a face's do); the critic picks among those.")
    face_curated: bool = Field(True, description="/face without a seed shows curated faces too.")
    bank_size: int = Field(512, ge=0, le=100_000, description="The face bank: the most convincing faces, made "
                           "and scored in idle time, kept per quiz truncation (seeds and scores in the database); "
                           "the quiz draws from its top. 0: no bank (today's best 1 of K only).")
    bank_cpu_share: float = Field(0.5, gt=0, le=1, description="Share of the time the bank's filler may work "
                                  "(it also waits while any live /face or quiz request runs); 1: all idle time.")
    bank_max_shows: int = Field(3, ge=1, le=1000, description="Times one banked face may be shown.")
    bank_batch: int = Field(8, ge=1, le=64, description="Candidates the bank's filler makes and scores at a time.")
    bank_face: bool = Field(True, description="/face without a seed draws from the face bank too.")
    hall_min_answers: int = Field(10, ge=1, description="Answers a face needs to enter the hall of fakes.")
    hall_size: int = Field(8, ge=1, le=25, description="Faces the hall of fakes lists.")

    photo_packs: list[str] = Field(default_factory=list, description="Packs the quiz draws real photos from; empty: all.")
    posted_size: int = Field(512, ge=64, le=2048, description="Side of every posted image, in pixels.")
    quiz_detail: int = Field(128, ge=64, le=1024, description="Detail level of every quiz image, real or "
                             "generated (brought down to this side, then up to the posted size). Raise it "
                             "for a large imported generator; lowered at start, with a warning, to what the "
                             "generator and the quiz's photo packs hold (never below 128).")
    starter_photos: Path | None = Field(None, description="First run: when no photos are imported, the "
                                        "playground imports a seeded sample of this folder in the background.")
    starter_sample: int = Field(300, ge=1, le=5000, description="Photos in that first-run sample.")

    @field_validator("starter_photos", mode="before")
    @classmethod
    def _no_folder(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # FIGMENT_STARTER_PHOTOS=

    metrics_port: int | None = Field(None, ge=0, le=65535, description="`figment run` serves Prometheus metrics "
                                     "at http://<metrics_listen>:<port>/metrics; unset or 0: no metrics server.")
    metrics_listen: str = Field("127.0.0.1", description="Address the metrics server binds; 0.0.0.0 for "
                                "a Prometheus on another machine.")

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _no_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # FIGMENT_METRICS_PORT=

    c2pa_key: Path | None = Field(None, description="PEM private key that signs /face Content Credentials; "
                                  "unset (with c2pa_cert): faces carry the watermark only.")
    c2pa_cert: Path | None = Field(None, description="PEM certificate chain (signer first) for c2pa_key.")

    @model_validator(mode="after")
    def _shards_fit(self) -> "Settings":
        ids, count = self.discord_shard_ids, self.discord_shard_count
        if ids is None:
            return self
        if not isinstance(count, int):
            raise ValueError("FIGMENT_DISCORD_SHARD_IDS needs FIGMENT_DISCORD_SHARD_COUNT set to the number of "
                             "shards of the whole bot (e.g. FIGMENT_DISCORD_SHARD_COUNT=4 FIGMENT_DISCORD_SHARD_IDS=0,1)")
        outside = [shard for shard in ids if shard >= count]
        if outside:
            raise ValueError(f"FIGMENT_DISCORD_SHARD_IDS: shard {outside[0]} is outside "
                             f"FIGMENT_DISCORD_SHARD_COUNT={count} (shard ids run from 0 to {count - 1})")
        return self

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'figment.db').resolve()}"

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
