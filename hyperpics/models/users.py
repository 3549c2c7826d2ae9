"""People, their roles and their server-side login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Permission(enum.IntFlag):
    FOLLOW = 1
    COLLECT = 2
    COMMENT = 4
    UPLOAD = 8
    MODERATE = 16
    ADMINISTER = 32
    REPORT = 64  # flag a photo, comment or person for the moderators


class RoleName(enum.StrEnum):
    LOCKED = "Locked"
    USER = "User"
    MODERATOR = "Moderator"
    ADMINISTRATOR = "Administrator"


THEMES = ("light", "dark", "system")  # User.theme: the page's colours, or the device's choice


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    permissions: Mapped[int] = mapped_column(Integer, default=0)

    def grants(self, permission: Permission) -> bool:
        return bool(self.permissions & permission)


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (reports and links name people by id)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(255), deferred=True)
    bio: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(255), default="")
    location: Mapped[str] = mapped_column(String(50), default="")
    # Random file names (never derived from the username): 30, 100 and 200 px.
    avatar_small: Mapped[str | None] = mapped_column(String(64))
    avatar_medium: Mapped[str | None] = mapped_column(String(64))
    avatar_large: Mapped[str | None] = mapped_column(String(64))
    member_since: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    public_collections: Mapped[bool] = mapped_column(Boolean, default=True)
    receive_comment_notification: Mapped[bool] = mapped_column(Boolean, default=True)
    receive_follow_notification: Mapped[bool] = mapped_column(Boolean, default=True)
    receive_collect_notification: Mapped[bool] = mapped_column(Boolean, default=True)
    # The colour scheme the pages use for them: one of THEMES ("system" follows the device).
    theme: Mapped[str] = mapped_column(String(10), default="system", server_default=text("'system'"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    # The role held before a lock, restored by unlocking.
    role_before_lock_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id"), index=True)
    # The serial of the newest mailed link of each kind (tokens.Purpose value -> int): a link
    # that is not the newest of its kind no longer opens. Replaced, never mutated in place.
    link_serials: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))

    # A user is never shown without their role, and it is one small row: always joined.
    # "unnested": under an outer join (a photo's author) it chains another outer join; a
    # nested "(users JOIN roles)" made SQLite scan every user to build it for each query.
    # SQLAlchemy documents innerjoin="unnested"; its annotation says bool only.
    role: Mapped[Role] = relationship(foreign_keys=[role_id], lazy="joined", innerjoin="unnested")  # type: ignore[arg-type]
    # Only moderation needs it (who may unlock whom), and it loads it explicitly.
    role_before_lock: Mapped[Role | None] = relationship(foreign_keys=[role_before_lock_id], lazy="raise")
    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    def can(self, permission: Permission) -> bool:
        """Whether this user may do ``permission`` now: every permission needs an unblocked
        account with a confirmed email address, and a role that grants it."""
        return self.active and self.confirmed and self.role.grants(permission)

    @property
    def is_admin(self) -> bool:
        return self.role.name == RoleName.ADMINISTRATOR

    @property
    def is_moderator(self) -> bool:
        return self.role.grants(Permission.MODERATE)

    @property
    def has_moderator_rank(self) -> bool:
        """A moderator or administrator now, or one whose role a lock is keeping aside.

        Needs ``role_before_lock`` loaded.
        """
        before = self.role_before_lock
        return self.role.grants(Permission.MODERATE) or (before is not None and before.grants(Permission.MODERATE))

    def avatar_files(self) -> list[str]:
        return [f for f in (self.avatar_small, self.avatar_medium, self.avatar_large) if f]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


# Usernames are unique regardless of case ("Ana" and "ana" are the same person).
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class AuthSession(Base):
    """A login. The cookie names it by a random token; only the token's hash is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by a password login; sensitive changes need it to be recent.
    last_fresh_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(back_populates="sessions", lazy="raise")
