"""The migrations build exactly the schema the models describe, and go down cleanly, on the
engine under test (SQLite or PostgreSQL, see databases.py)."""

from __future__ import annotations

import pytest
from alembic import command

from hyperpics.infra import migrations

from .databases import TestDatabase

# Foreign keys and sort columns used by queries are indexed (on both engines, by these names).
QUERY_INDEXES = (
    "uq_users_username_lower",
    "ix_photos_author_created",
    "ix_comments_photo_created",
    "ix_follows_followed_created",
    "ix_collects_photo_created",
    "ix_notifications_receiver_id_desc",
    "ix_auth_sessions_user_id",
    "uq_reports_open_per_reporter",
)


# SQLite cannot reflect the lower(username) expression index; the other tests check it exists.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection", "ignore:autogenerate skipping")
def test_models_and_migrations_agree(empty_database: TestDatabase) -> None:
    migrations.upgrade(empty_database.url)
    migrations.check(empty_database.url)  # raises if autogenerate would find a difference


def test_downgrade_to_base_and_up_again(empty_database: TestDatabase) -> None:
    url = empty_database.url
    migrations.upgrade(url)
    migrations.upgrade(url, "head")  # idempotent
    command.downgrade(migrations.alembic_config(url), "base")
    assert empty_database.tables() <= {"alembic_version"}
    migrations.upgrade(url)
    roles = {"Locked": 3, "User": 15, "Moderator": 31, "Administrator": 63}  # as 0001 made them
    assert dict(empty_database.rows("SELECT name, permissions FROM roles")) == {
        name: permissions | 64
        for name, permissions in roles.items()  # REPORT, from 0010
    }
    command.downgrade(migrations.alembic_config(url), "0009")
    assert dict(empty_database.rows("SELECT name, permissions FROM roles")) == roles
    migrations.upgrade(url)
    names = {index.name for index in empty_database.indexes()}
    assert not set(QUERY_INDEXES) - names


def test_every_foreign_key_is_indexed(database: TestDatabase) -> None:
    """Deleting a parent row checks its children through the key: without an index whose
    leading columns are the key's, that is a scan of the child table per deleted row."""
    leading: dict[str, set[tuple[str | None, ...]]] = {}
    for index in database.indexes():
        for width in range(1, len(index.columns) + 1):
            leading.setdefault(index.table, set()).add(tuple(sorted(index.columns[:width], key=str)))
    missing = [
        f"{key.table}({', '.join(key.columns)})"
        for key in database.foreign_keys()
        if tuple(sorted(key.columns)) not in leading.get(key.table, set())
    ]
    assert not missing, f"foreign keys without an index: {missing}"
