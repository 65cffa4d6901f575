"""Migrations on a real SQLite file: empty -> head -> base -> head, and models match the head."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db import migrate
from db.models import Base


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "figment.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    tables = set(inspect(create_engine(f"sqlite:///{path}")).get_table_names())
    assert {"players", "chats", "rounds", "answers", "scores", "real_photos", "generated_faces"} <= tables
    migrate.downgrade(url, "base")
    assert set(inspect(create_engine(f"sqlite:///{path}")).get_table_names()) == {"alembic_version"}
    migrate.upgrade(url)
    assert "answers" in inspect(create_engine(f"sqlite:///{path}")).get_table_names()


def test_models_match_migrations(tmp_path: Path) -> None:
    path = tmp_path / "figment.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    with create_engine(f"sqlite:///{path}").connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


async def test_refuses_outdated_database(tmp_path: Path) -> None:
    from db.database import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        try:
            await db.ensure_schema(upgrade=False)
        except migrate.SchemaOutdated as error:
            assert "figment db upgrade" in str(error)
        else:
            raise AssertionError("an empty database must be refused")
        await db.ensure_schema(upgrade=True)
        await db.ensure_schema(upgrade=False)
    finally:
        await db.close()
