"""Alembic migrations of the reference API (``alembic.ini`` at the repository root)."""
