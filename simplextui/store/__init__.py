"""Client storage: SQLAlchemy models, queries and Alembic migrations (one SQLite file)."""
