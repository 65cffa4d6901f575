"""Alembic migrations for Figment's database (see db/migrate.py)."""
