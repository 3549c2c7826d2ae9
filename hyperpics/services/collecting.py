"""Collecting photos: collect and uncollect, a photo's collectors, a member's collection, and
which photos of a grid the viewer has collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra import db
from ..models import Collect, NotificationKind, Photo, User, utcnow
from . import notifications
from .listings import decode_cursor
from .people import USERS_PER_PAGE, PeoplePage, collections_visible, people_page
from .photos import Card, FeedPage, cards_of, cards_query
from .refusals import Refused


@dataclass(frozen=True)
class CollectState:
    photo_id: int
    collected: bool
    count: int


async def collect(session: AsyncSession, actor: User, photo: Photo) -> bool:
    """Collect a photo the actor can see; collecting twice is harmless."""
    added = await session.execute(
        db.insert_unless_present(session, Collect, user_id=actor.id, photo_id=photo.id, created_at=utcnow())
    )
    if not cast(CursorResult[Any], added).rowcount:
        return False
    notifications.notify(session, NotificationKind.COLLECT, receiver=photo.author, actor=actor, photo_id=photo.id)
    return True


async def uncollect(session: AsyncSession, actor: User, photo: Photo) -> bool:
    result = await session.execute(delete(Collect).where(Collect.user_id == actor.id, Collect.photo_id == photo.id))
    return bool(cast(CursorResult[Any], result).rowcount)


async def collect_state(session: AsyncSession, viewer: User | None, photo_id: int) -> CollectState:
    viewer_id = viewer.id if viewer is not None else -1
    row = (
        await session.execute(
            select(
                exists().where(Collect.user_id == viewer_id, Collect.photo_id == photo_id),
                select(func.count()).select_from(Collect).where(Collect.photo_id == photo_id).scalar_subquery(),
            )
        )
    ).one()
    return CollectState(photo_id, bool(row[0]), row[1])


def _shows_collections(viewer: User | None) -> ColumnElement[bool]:
    """Collectors whose collections are private stay hidden, except from themselves."""
    if viewer is None:
        return User.public_collections.is_(True)
    return or_(User.public_collections.is_(True), User.id == viewer.id)


async def collectors(session: AsyncSession, viewer: User | None, photo: Photo, page: int) -> PeoplePage:
    """Who collected the photo, oldest first, without those who keep collections private."""
    shown = and_(Collect.photo_id == photo.id, _shows_collections(viewer))
    query = (
        select(User, Collect.created_at)
        .join(Collect, Collect.user_id == User.id)
        .where(shown)
        .order_by(Collect.created_at, User.id)
    )
    total = select(func.count()).select_from(Collect).join(User, User.id == Collect.user_id).where(shown)
    return await people_page(session, viewer, query, total, page, USERS_PER_PAGE)


async def collections(
    session: AsyncSession, viewer: User | None, owner: User, cursor: str | None, per_page: int = 12
) -> FeedPage:
    """The photos ``owner`` collected, most recently collected first (a keyset on collect time)."""
    if not collections_visible(viewer, owner):
        raise Refused(f"{owner.name} keeps their collections private.")
    position = decode_cursor(cursor)
    query = cards_query(viewer).join(Collect, and_(Collect.photo_id == Photo.id, Collect.user_id == owner.id))
    if position is not None:
        created, photo_id = position
        query = query.where(or_(Collect.created_at < created, and_(Collect.created_at == created, Photo.id < photo_id)))
    rows = (
        await session.execute(
            query.add_columns(Collect.created_at)
            .order_by(Collect.created_at.desc(), Photo.id.desc())
            .limit(per_page + 1)
        )
    ).all()
    cards = cards_of(rows[:per_page])
    next_cursor = None
    if len(rows) > per_page and cards:
        last = rows[per_page - 1]
        next_cursor = f"{last[3].timestamp():.6f}_{last[0].id}"
    return FeedPage(cards, next_cursor)


# --- collects of a list of photos (for buttons on cards) ----------------------------------


async def collected_ids(session: AsyncSession, viewer: User | None, cards: list[Card]) -> set[int]:
    """Which of these photos the viewer has collected (one query for a whole grid)."""
    if viewer is None or not cards:
        return set()
    ids = [card.photo.id for card in cards]
    rows = await session.execute(
        select(Collect.photo_id).where(Collect.user_id == viewer.id, Collect.photo_id.in_(ids))
    )
    return set(rows.scalars())
