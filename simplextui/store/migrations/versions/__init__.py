"""Alembic revisions, oldest first (0001 creates the agent and chat tables)."""
