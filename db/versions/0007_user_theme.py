"""Each member's colour scheme: ``users.theme`` ("light", "dark" or "system", the default,
which follows the device's ``prefers-color-scheme``).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("theme", sa.String(length=10), nullable=False, server_default=sa.text("'system'")))


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN theme")
