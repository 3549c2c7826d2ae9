"""Ids are never reused, and reports close when their target goes.

Reports name their target by type and id, with no foreign key (the target may be gone when
the report is read). SQLite hands a deleted row's id to the next insert when it was the
largest: a report on a deleted photo then pointed at someone else's new photo, and
"Resolve" deleted it.

- SQLite: photos, comments and users become AUTOINCREMENT tables (ids only grow). SQLite
  cannot add AUTOINCREMENT to a table, so each is rebuilt the documented way: a new table
  from the old one's own CREATE statement, rows copied, old table dropped, new one renamed,
  its indexes and triggers made again from their own statements. Foreign keys are off on
  the migration's connection (checked), so the drop cascades nothing.
- PostgreSQL: identity sequences never go back already.
- Both: a trigger closes (as resolved) the open reports on a photo, comment or member when
  its row is deleted, whatever deleted it (its author, a moderator, an account deletion, a
  cascade from a deleted photo).

Revision ID: 0005
Revises: 0004
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "photos", "comments")
TARGETS = {"photos": "photo", "comments": "comment", "users": "user"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _require_foreign_keys_off()
        for table in TABLES:
            _rebuild_with_autoincrement(table)
        for table, target in TARGETS.items():
            op.execute(
                f"CREATE TRIGGER reports_close_{target} AFTER DELETE ON {table} BEGIN "
                "UPDATE reports SET status = 'resolved', resolved_at = strftime('%Y-%m-%d %H:%M:%f', 'now') "
                f"WHERE target_type = '{target}' AND target_id = old.id AND status = 'open'; END"
            )
    else:
        op.execute(
            "CREATE FUNCTION reports_close_for_deleted_target() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "UPDATE reports SET status = 'resolved', resolved_at = now() AT TIME ZONE 'UTC' "
            "WHERE target_type = TG_ARGV[0] AND target_id = OLD.id AND status = 'open'; "
            "RETURN OLD; "
            "END $$"
        )
        for table, target in TARGETS.items():
            op.execute(
                f"CREATE TRIGGER reports_close_{target} AFTER DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION reports_close_for_deleted_target('{target}')"
            )


def downgrade() -> None:
    for table, target in TARGETS.items():
        op.execute(f"DROP TRIGGER IF EXISTS reports_close_{target}" + ("" if _sqlite() else f" ON {table}"))
    if not _sqlite():
        op.execute("DROP FUNCTION IF EXISTS reports_close_for_deleted_target()")
    # AUTOINCREMENT stays: ids that only grow break nothing.


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _require_foreign_keys_off() -> None:
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("0005 rebuilds tables: run it on a connection with SQLite foreign keys off")


def _rebuild_with_autoincrement(table: str) -> None:
    bind = op.get_bind()
    create = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    if "AUTOINCREMENT" in create:
        return
    others = (
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
            (table,),
        )
        .scalars()
        .all()
    )
    # "id INTEGER NOT NULL, ... CONSTRAINT pk_x PRIMARY KEY (id)" -> the key on the column itself.
    rebuilt, with_key = re.subn(
        rf"^CREATE TABLE {table} \(\s*id INTEGER NOT NULL,",
        f"CREATE TABLE {table}_rebuilt (\n\tid INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,",
        create,
    )
    rebuilt, without_old_key = re.subn(rf",\s*CONSTRAINT pk_{table} PRIMARY KEY \(id\)", "", rebuilt)
    if (with_key, without_old_key) != (1, 1):
        raise RuntimeError(f"0005: unexpected schema for {table}: {create}")
    columns = ", ".join(f'"{row[1]}"' for row in bind.exec_driver_sql(f"PRAGMA table_info({table})").fetchall())
    op.execute(rebuilt)
    op.execute(f"INSERT INTO {table}_rebuilt ({columns}) SELECT {columns} FROM {table}")  # sets sqlite_sequence
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {table}_rebuilt RENAME TO {table}")
    for statement in others:
        op.execute(statement)
