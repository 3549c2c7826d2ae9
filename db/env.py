"""Alembic environment: runs migrations over the app's async engine.

The database URL comes from ``config.attributes["url"]`` (set by ``hyperpics db ...``) or,
when Alembic is run by hand, from the same configuration the app reads.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from hyperpics.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return url
    from hyperpics.config import from_environment

    return from_environment(Path.cwd() / "instance")["DATABASE_URL"]


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Full-text index tables are created by hand in migrations, not by the models:
    # SQLite's FTS5 ``*_fts*`` (0002), PostgreSQL's ``search_*`` documents (0003).
    return not (type_ == "table" and name and ("_fts" in name or name.startswith("search_")))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    existing = config.attributes.get("connection")
    if existing is not None:
        _run(existing)
    else:
        asyncio.run(_run_online())
