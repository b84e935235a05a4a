"""Alembic migrations of the client database (run at open by `simplextui.store.db`)."""
