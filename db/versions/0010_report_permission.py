"""Reporting is a permission of its own (``Permission.REPORT``, 64), given to every role: the
report routes asked for FOLLOW, which every confirmed, unblocked member has, with a comment
saying so.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORT = 64


def upgrade() -> None:
    op.execute(f"UPDATE roles SET permissions = permissions | {REPORT}")


def downgrade() -> None:
    op.execute(f"UPDATE roles SET permissions = permissions - {REPORT} WHERE (permissions & {REPORT}) <> 0")
