"""Explore pages through the public photos in a random order: ``photos.shuffle_key``, drawn
once per photo in [0, 1), and ``ix_photos_visibility_shuffle`` to walk it.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("photos", sa.Column("shuffle_key", sa.Float(), nullable=False, server_default=sa.text("0.5")))
    # Each existing photo its own draw (new rows draw theirs in the model).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE photos SET shuffle_key = (random() / 18446744073709551616.0) + 0.5")
    else:
        op.execute("UPDATE photos SET shuffle_key = random()")
    op.create_index("ix_photos_visibility_shuffle", "photos", ["visibility", "shuffle_key"])


def downgrade() -> None:
    op.drop_index("ix_photos_visibility_shuffle", table_name="photos")
    op.execute("ALTER TABLE photos DROP COLUMN shuffle_key")
