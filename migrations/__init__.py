"""Alembic migrations: one revision per schema change (``workshop-bot db upgrade``)."""
