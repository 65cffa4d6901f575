"""Figment's store: SQLAlchemy 2 models, the async engine, and the queries the game needs."""
