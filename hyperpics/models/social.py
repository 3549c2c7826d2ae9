"""Follows, collects and comments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .photos import Photo
    from .users import User


class Follow(Base):
    """``follower`` follows ``followed`` (a self-referential association object)."""

    __tablename__ = "follows"
    __table_args__ = (
        Index("ix_follows_followed_created", "followed_id", "created_at"),
        Index("ix_follows_follower_created", "follower_id", "created_at"),
    )

    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    followed_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    follower: Mapped[User] = relationship(foreign_keys=[follower_id], lazy="raise")
    followed: Mapped[User] = relationship(foreign_keys=[followed_id], lazy="raise")


class Collect(Base):
    """``user`` collected (favourited) ``photo``."""

    __tablename__ = "collects"
    __table_args__ = (
        Index("ix_collects_photo_created", "photo_id", "created_at"),
        Index("ix_collects_user_created", "user_id", "created_at"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
    photo: Mapped[Photo] = relationship(lazy="raise")


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_photo_created", "photo_id", "created_at", "id"),
        {"sqlite_autoincrement": True},  # ids never reused (reports name comments by id)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by ix_comments_photo_created, which leads with photo_id.
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Deleting a comment deletes the replies to it, as Albumy does.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    photo: Mapped[Photo] = relationship(lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")
    reply_to: Mapped[Comment | None] = relationship(remote_side=[id], lazy="raise")
