"""Writing notification rows. Rows are typed (kind, actor, target ids); templates word them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Integer, Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..models import Notification, NotificationKind, Photo, User, utcnow
from .photos import sight, viewer_params, visible_for

# Which setting switches each kind off.
OPT_OUT: dict[NotificationKind, str] = {
    NotificationKind.FOLLOW: "receive_follow_notification",
    NotificationKind.COMMENT: "receive_comment_notification",
    NotificationKind.REPLY: "receive_comment_notification",
    NotificationKind.COLLECT: "receive_collect_notification",
}


def notify(
    session: AsyncSession,
    kind: NotificationKind,
    *,
    receiver: User,
    actor: User,
    photo_id: int | None = None,
    comment_id: int | None = None,
) -> Notification | None:
    """Add a notification unless it is about one's own action or the receiver opted out."""
    if receiver.id == actor.id or not getattr(receiver, OPT_OUT[kind]):
        return None
    notification = Notification(
        kind=kind,
        receiver_id=receiver.id,
        actor_id=actor.id,
        photo_id=photo_id,
        comment_id=comment_id,
        created_at=utcnow(),
    )
    session.add(notification)
    return notification


# --- reading --------------------------------------------------------------------------------

PER_PAGE = 20
# Notifications of one kind about one target within this window are shown as one line.
GROUP_WINDOW = timedelta(hours=24)


@dataclass
class Group:
    """One line of the list: "Ana and 3 others collected your photo"."""

    kind: NotificationKind
    latest: Notification
    actors: list[User] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    unread: bool = False

    @property
    def others(self) -> int:
        return len(self.actors) - 1


@dataclass(frozen=True)
class NotificationsPage:
    groups: list[Group]
    page: int
    pages: int
    total: int
    unread: int


def _loaded(viewer: User) -> Select[Notification, bool]:
    """Notifications with their actor, photo and comment, and whether the viewer may still see
    the photo, all in one statement."""
    return _loaded_for(sight(viewer))


def _loaded_for(sees: str) -> Select[Notification, bool]:
    """:func:`_loaded` by visibility rule; the viewer is a parameter (photos.viewer_params)."""
    return select(Notification, _in_sight(sees)).options(
        joinedload(Notification.actor), joinedload(Notification.photo), joinedload(Notification.comment)
    )


def _in_sight(sees: str) -> ColumnElement[bool]:
    """Visibility is checked when a notification is shown, not only when it was made: a reply
    under a photo that went private since must not show that photo or the reply's words."""
    seen = exists().where(Photo.id == Notification.photo_id, visible_for(sees))
    return or_(Notification.photo_id.is_(None), seen).label("in_sight")


async def _sighted(
    session: AsyncSession, statement: Select[Notification, bool], params: dict[str, Any] | None = None
) -> list[Notification]:
    """The rows of ``statement``, each marked with whether its photo is out of the viewer's sight."""
    rows = []
    for row, in_sight in (await session.execute(statement, params)).all():
        row.out_of_sight = not in_sight
        rows.append(row)
    return rows


def group(rows: list[Notification]) -> list[Group]:
    """Group a newest-first list: same kind and target, close in time (replies stay single)."""
    groups: list[Group] = []
    open_groups: dict[tuple[NotificationKind, int | None], Group] = {}
    for row in rows:
        key = (row.kind, row.photo_id)
        current = open_groups.get(key) if row.kind is not NotificationKind.REPLY else None
        if current is None or current.latest.created_at - row.created_at > GROUP_WINDOW:
            current = Group(kind=row.kind, latest=row)
            groups.append(current)
            open_groups[key] = current
        if all(actor.id != row.actor_id for actor in current.actors):
            current.actors.append(row.actor)
        current.ids.append(row.id)
        current.unread = current.unread or row.read_at is None
    return groups


async def unread_count(session: AsyncSession, user_id: int) -> int:
    return (
        await session.execute(
            select(func.count())
            .select_from(Notification)
            .where(Notification.receiver_id == user_id, Notification.read_at.is_(None))
        )
    ).scalar_one()


_RECEIVER, _LIMIT, _OFFSET = "receiver_id", "page_limit", "page_offset"


@cache
def _listing_statements(unread_only: bool, sees: str) -> tuple[Select[int, int], Select[Notification, bool]]:
    """The list's two statements (its counts, then a page of rows), built once per filter and
    visibility rule: building them cost more than running them. The receiver, the viewer and
    the page are parameters."""
    mine = Notification.receiver_id == bindparam(_RECEIVER, type_=Integer)
    unread = and_(mine, Notification.read_at.is_(None))
    condition = unread if unread_only else mine
    counts = select(
        select(func.count()).select_from(Notification).where(condition).scalar_subquery(),
        select(func.count()).select_from(Notification).where(unread).scalar_subquery(),
    )
    page = bindparam(_LIMIT, type_=Integer), bindparam(_OFFSET, type_=Integer)
    rows = _loaded_for(sees).where(condition).order_by(Notification.id.desc()).limit(page[0]).offset(page[1])
    return counts, rows


async def listing(session: AsyncSession, user: User, *, unread_only: bool, page: int) -> NotificationsPage:
    counts, rows_statement = _listing_statements(unread_only, sight(user))
    params = {_RECEIVER: user.id, **viewer_params(user)}
    total, unread = (await session.execute(counts, params)).one()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = await _sighted(session, rows_statement, {**params, _LIMIT: PER_PAGE, _OFFSET: (page - 1) * PER_PAGE})
    return NotificationsPage(group(rows), page, pages, total, unread)


async def mark_read(session: AsyncSession, user: User, notification_ids: list[int]) -> int:
    """Mark the user's own notifications read; others' ids are ignored (never revealed)."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.id.in_(notification_ids), Notification.receiver_id == user.id, Notification.read_at.is_(None)
        )
        .values(read_at=utcnow())
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def mark_all_read(session: AsyncSession, user: User) -> int:
    """One UPDATE, however many there are."""
    result = await session.execute(
        update(Notification)
        .where(Notification.receiver_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def newest_id(session: AsyncSession, user_id: int) -> int:
    return (
        await session.execute(
            select(func.coalesce(func.max(Notification.id), 0)).where(Notification.receiver_id == user_id)
        )
    ).scalar_one()


async def since(session: AsyncSession, user: User, last_id: int, limit: int = 50) -> list[Notification]:
    """What a stream has not sent yet, oldest first (bounded: a long absence replays the latest)."""
    rows = await _sighted(
        session,
        _loaded(user)
        .where(Notification.receiver_id == user.id, Notification.id > last_id)
        .order_by(Notification.id.desc())
        .limit(limit),
        viewer_params(user),
    )
    return list(reversed(rows))


async def group_of(session: AsyncSession, user: User, ids: list[int]) -> Group | None:
    """The user's notifications with these ids, as one line again (after marking them read)."""
    rows = await _sighted(
        session,
        _loaded(user)
        .where(Notification.id.in_(ids), Notification.receiver_id == user.id)
        .order_by(Notification.id.desc()),
        viewer_params(user),
    )
    groups = group(rows)
    return groups[0] if groups else None
