"""Photos and their tags."""

from __future__ import annotations

import enum
import random
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, inspect, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.base import NO_VALUE

from ..infra.media import Copy, photo_copies
from .base import Base, utcnow

if TYPE_CHECKING:
    from .users import User


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    FOLLOWERS = "followers"
    PRIVATE = "private"


photo_tags = Table(
    "photo_tags",
    Base.metadata,
    Column("photo_id", Integer, ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # A tag's photos, newest (highest id) first, a page at a time: no sort (migration 0006).
    Index("ix_photo_tags_tag_photo", "tag_id", "photo_id"),
)


# Grid shapes: wider or taller photos are cropped to these in grids (the photo page shows all).
SHAPE_MIN, SHAPE_MAX = 0.25, 4.0


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (
        # The author's photos newest first (profile, previous/next), and the public timeline.
        Index("ix_photos_author_created", "author_id", "created_at", "id"),
        Index("ix_photos_visibility_created", "visibility", "created_at", "id"),
        # Explore's walk through the public photos in a random order (services.photos.explore).
        Index("ix_photos_visibility_shuffle", "visibility", "shuffle_key"),
        # Ids are never reused: reports and old links name photos by id (migration 0005).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by ix_photos_author_created, which leads with author_id.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(String(500), default="")
    alt_text: Mapped[str] = mapped_column(String(300), default="")
    visibility: Mapped[Visibility] = mapped_column(
        SAEnum(Visibility, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=Visibility.PUBLIC,
    )
    # Random names; the original is a re-encoded copy without metadata, never the upload.
    # Unique: media URLs name the file, and the derivatives share its stem.
    filename_original: Mapped[str] = mapped_column(String(64), unique=True)
    filename_medium: Mapped[str] = mapped_column(String(64))
    filename_small: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Which copies are on disk (media.DERIVATIVES; rows made before a version have the lower
    # one until `hyperpics media backfill`); the pages list only these (migration 0009).
    derivatives: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The average colour, "#rrggbb", shown while the photo loads; None: transparent parts, or
    # not computed yet.
    colour: Mapped[str | None] = mapped_column(String(7), default=None)
    can_comment: Mapped[bool] = mapped_column(Boolean, default=True)
    # Drawn once in [0, 1): explore's order. Rows made before it got theirs from migration 0008.
    shuffle_key: Mapped[float] = mapped_column(Float, default=random.random, server_default=text("0.5"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    author: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary=photo_tags, lazy="raise", back_populates="photos")

    def copies(self) -> list[Copy]:
        """The copies on disk besides the original, smallest first (media.photo_copies)."""
        return photo_copies(self.filename_original, self.width, self.height, self.derivatives or 0)

    def files(self) -> list[str]:
        """Every file of the photo (what deleting it removes, what the media sweep keeps)."""
        return [self.filename_original, *(copy.name for copy in self.copies())]

    def shape_class(self) -> str:
        """The CSS class that gives grids this photo's shape: ``ar-<width/height in hundredths>``,
        to the nearest 0.05 between 0.25 and 4 (app.css has one rule per step: a style
        attribute would need the CSP to allow inline styles)."""
        ratio = min(max(self.width / max(self.height, 1), SHAPE_MIN), SHAPE_MAX)
        return f"ar-{round(ratio * 20) * 5}"

    def size_at(self, width: int) -> tuple[int, int]:
        """Width and height of the derivative at most ``width`` wide (for <img> attributes)."""
        if self.width <= width:
            return self.width, self.height
        return width, max(1, round(self.height * width / self.width))

    @property
    def alt(self) -> str:
        """Text for <img alt>: the author's alt text, else the description, else who took it.

        A bare "Photo" told a screen-reader user nothing (and named every such link alike);
        the author's name is used where the page loaded the author (no query from here), and
        the photo's number otherwise, so links to different photos still differ."""
        if self.alt_text:
            return self.alt_text
        if self.description:
            return self.description[:150]
        author = inspect(self).attrs.author.loaded_value
        if author is not NO_VALUE and author is not None:
            return f"Photo by {author.name}, no description"
        return f"Photo {self.id}, no description"


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # normalised lower-case
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    photos: Mapped[list[Photo]] = relationship(secondary=photo_tags, lazy="raise", back_populates="tags")


__all__ = ["Photo", "Tag", "Visibility", "photo_tags"]
