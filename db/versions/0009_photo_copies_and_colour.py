"""Photos get larger and WebP copies, and a placeholder colour: ``photos.derivatives`` (which
copies are on disk, media.DERIVATIVES; 0 for the rows already there, which keep their three
files until ``hyperpics media backfill``) and ``photos.colour`` ("#rrggbb", or NULL).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("photos", sa.Column("derivatives", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("photos", sa.Column("colour", sa.String(length=7), nullable=True))


def downgrade() -> None:
    # Plain statements: SQLite (3.35+) and PostgreSQL both drop a column in place.
    op.execute("ALTER TABLE photos DROP COLUMN colour")
    op.execute("ALTER TABLE photos DROP COLUMN derivatives")
