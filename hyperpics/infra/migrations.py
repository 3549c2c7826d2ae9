"""Programmatic Alembic: the migrations live in the top-level ``db/`` folder."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "db"


def alembic_config(url: str) -> Config:
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise RuntimeError(f"migrations not found at {MIGRATIONS_DIR}; install hyperpics from its checkout")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    return config


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of an SQLite file so a first start needs no manual step."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Must be called with no running event loop."""
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def make_revision(url: str, message: str, autogenerate: bool = True) -> None:
    ensure_sqlite_dir(url)
    command.revision(alembic_config(url), message=message, autogenerate=autogenerate)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(alembic_config(url))
