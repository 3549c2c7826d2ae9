"""A tag's photos in id order straight from an index: ``photo_tags (tag_id, photo_id)``.

Tag pages list a tag's photos newest first (ids grow with time) a page at a time; with only
``(tag_id)`` indexed, SQLite read every photo of the tag and sorted them for each page (14,814
of them for the largest tag of a 100,000-photo site). The new index replaces the old one,
which it starts with.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_photo_tags_tag_photo", "photo_tags", ["tag_id", "photo_id"])
    op.drop_index("ix_photo_tags_tag_id", table_name="photo_tags")


def downgrade() -> None:
    op.create_index("ix_photo_tags_tag_id", "photo_tags", ["tag_id"])
    op.drop_index("ix_photo_tags_tag_photo", table_name="photo_tags")
