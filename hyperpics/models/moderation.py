"""Reports from users and the moderators' audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .users import User


def _values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


class ReportTarget(enum.StrEnum):
    PHOTO = "photo"
    COMMENT = "comment"
    USER = "user"


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    NUDITY = "nudity"
    HARASSMENT = "harassment"
    COPYRIGHT = "copyright"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_target", "target_type", "target_id", "status"),
        Index("ix_reports_status_created", "status", "created_at"),
        # One open report per reporter and target.
        Index(
            "uq_reports_open_per_reporter",
            "reporter_id",
            "target_type",
            "target_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Polymorphic target: the row may be gone when the report is read, so no foreign key.
    target_type: Mapped[ReportTarget] = mapped_column(
        SAEnum(ReportTarget, native_enum=False, length=10, values_callable=_values)
    )
    target_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[ReportReason] = mapped_column(
        SAEnum(ReportReason, native_enum=False, length=16, values_callable=_values)
    )
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[ReportStatus] = mapped_column(
        SAEnum(ReportStatus, native_enum=False, length=10, values_callable=_values),
        default=ReportStatus.OPEN,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column()

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id], lazy="raise")
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id], lazy="raise")


class AuditAction(enum.StrEnum):
    """What an audit row says was done: written by the services, offered by the audit log's filter."""

    USER_CONFIRM = "user.confirm"
    USER_LOCK = "user.lock"
    USER_UNLOCK = "user.unlock"
    USER_BLOCK = "user.block"
    USER_UNBLOCK = "user.unblock"
    USER_ROLE = "user.role"
    USER_EDIT = "user.edit"
    PHOTO_DELETE = "photo.delete"
    COMMENT_DELETE = "comment.delete"
    TAG_DELETE = "tag.delete"
    REPORT_RESOLVE = "report.resolve"
    REPORT_DISMISS = "report.dismiss"


class AuditEntry(Base):
    """One moderation action: who did what to which target, with the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(lazy="raise")
