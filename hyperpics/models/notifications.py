"""Notifications as typed rows; the text is rendered by templates, never stored."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum as SAEnum
from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .photos import Photo
    from .social import Comment
    from .users import User


class NotificationKind(enum.StrEnum):
    FOLLOW = "follow"
    COMMENT = "comment"
    REPLY = "reply"
    COLLECT = "collect"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The list, newest first, and the unread badge.
        Index("ix_notifications_receiver_id_desc", "receiver_id", "id"),
        Index("ix_notifications_receiver_unread", "receiver_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(
        SAEnum(NotificationKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    receiver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()

    receiver: Mapped[User] = relationship(foreign_keys=[receiver_id], lazy="raise")
    actor: Mapped[User] = relationship(foreign_keys=[actor_id], lazy="raise")
    photo: Mapped[Photo | None] = relationship(lazy="raise")
    comment: Mapped[Comment | None] = relationship(lazy="raise")

    # Set when shown (not stored): the photo is one the receiver may no longer see, so the
    # line names neither it nor the comment's words (services.notifications._in_sight).
    out_of_sight = False
