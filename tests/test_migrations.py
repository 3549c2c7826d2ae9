"""The migrations build exactly the schema the models describe, and go down cleanly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hyperpics import migrations


# SQLite cannot reflect the lower(username) expression index; the other tests check it exists.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection", "ignore:autogenerate skipping")
def test_models_and_migrations_agree(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    migrations.upgrade(url)
    migrations.check(url)  # raises if autogenerate would find a difference


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url)
    migrations.upgrade(url, "head")  # idempotent
    from alembic import command

    command.downgrade(migrations.alembic_config(url), "base")
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables <= {"alembic_version"}
    migrations.upgrade(url)
    with sqlite3.connect(path) as connection:
        roles = dict(connection.execute("SELECT name, permissions FROM roles"))
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert roles == {"Locked": 3, "User": 15, "Moderator": 31, "Administrator": 63}
    # Foreign keys and sort columns used by queries are indexed.
    for index in (
        "uq_users_username_lower",
        "ix_photos_author_created",
        "ix_comments_photo_created",
        "ix_follows_followed_created",
        "ix_collects_photo_created",
        "ix_notifications_receiver_id_desc",
        "ix_auth_sessions_user_id",
        "uq_reports_open_per_reporter",
    ):
        assert index in indexes, index


def test_every_foreign_key_is_indexed(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    missing = []
    with sqlite3.connect(path) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            leading = set()
            for index in connection.execute(f'PRAGMA index_list("{table}")').fetchall():
                columns = connection.execute(f'PRAGMA index_info("{index[1]}")').fetchall()
                if columns and columns[0][2] is not None:
                    leading.add(columns[0][2])
            for fk in connection.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
                if fk[3] not in leading:
                    missing.append(f"{table}.{fk[3]}")
    assert not missing, f"foreign keys without an index: {missing}"
