"""Alembic migrations; a package so that the wheel carries them (shared.core.migrations finds them beside shared/)."""
