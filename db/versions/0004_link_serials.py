"""Mailed links: a serial per kind of link on each account, so that a newer link voids older ones.

``users.link_serials`` maps a link's purpose ("confirm", "reset-password", "change-email") to
the serial of the newest link of that kind; a link carries its serial, and one that is not
the newest no longer opens.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both engines: a batch (copy and move) on SQLite would lose the
# expression index on lower(username), which reflection cannot see.


def upgrade() -> None:
    op.add_column("users", sa.Column("link_serials", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN link_serials")
