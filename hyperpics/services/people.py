"""People: finding a member, their profile as a viewer sees it, following, and the lists of
followers and followed. Each rule takes the session and the acting member, writes the
notification its action causes, and never commits; a listing is one query whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Select,
    SQLColumnExpression,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra import db
from ..infra.wakeups import cards_change_after_commit
from ..models import Collect, Follow, NotificationKind, Photo, User, utcnow
from . import notifications
from .photos import VIEWER_ID, sight, viewer_params, visible_for
from .refusals import Invalid, NotFound

USERS_PER_PAGE = 20


USER_TABLES = ("users", "roles")  # what a user row (with its role) is made from


async def user_named(session: AsyncSession, username: str) -> User:
    user = (
        await session.execute(select(User).where(func.lower(User.username) == username.strip().lower()))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("There is nobody with that username.")
    return user


async def user_with_id(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("There is nobody with that id.")
    return user


def _follows(follower: SQLColumnExpression[int] | int, followed: SQLColumnExpression[int] | int) -> ColumnElement[bool]:
    # Never correlate the follows table itself: listings of followers join it too.
    return (
        select(Follow.follower_id)
        .where(Follow.follower_id == follower, Follow.followed_id == followed)
        .correlate_except(Follow)
        .exists()
    )


@dataclass(frozen=True)
class Relationship:
    """How the viewer and another user relate (both False for anonymous or oneself)."""

    following: bool = False
    followed_by: bool = False

    @property
    def badge(self) -> str:
        if self.following and self.followed_by:
            return "Follow each other"
        if self.followed_by:
            return "Follows you"
        return ""


@dataclass(frozen=True)
class Profile:
    user: User
    photos: int
    collections: int | None  # None: hidden from this viewer
    followers: int
    following: int
    relationship: Relationship


def collections_visible(viewer: User | None, owner: User) -> bool:
    return owner.public_collections or (viewer is not None and viewer.id == owner.id)


@cache
def _profile_statement(kind: str) -> Select[Any]:
    """The numbers of ``user_id``'s profile as viewers of rule ``kind`` (and ``viewer_id``)
    see them, in one query. Built once per rule: building took longer than running."""
    user_id, viewer_id = bindparam("user_id", type_=Integer), bindparam(VIEWER_ID, type_=Integer)
    photos_visible = select(func.count()).select_from(Photo).where(Photo.author_id == user_id, visible_for(kind))
    collected = (
        select(func.count())
        .select_from(Collect)
        .join(Photo, Photo.id == Collect.photo_id)
        .where(Collect.user_id == user_id, visible_for(kind))
    )
    return select(
        photos_visible.scalar_subquery(),
        collected.scalar_subquery(),
        select(func.count()).select_from(Follow).where(Follow.followed_id == user_id).scalar_subquery(),
        select(func.count()).select_from(Follow).where(Follow.follower_id == user_id).scalar_subquery(),
        _follows(viewer_id, user_id),
        _follows(user_id, viewer_id),
    )


async def profile(session: AsyncSession, viewer: User | None, user: User) -> Profile:
    """The numbers in a profile header or a user card, in one query."""
    parameters = {"user_id": user.id, **viewer_params(viewer)}
    row = (await session.execute(_profile_statement(sight(viewer)), parameters)).one()
    own = viewer is not None and viewer.id == user.id
    return Profile(
        user=user,
        photos=row[0],
        collections=row[1] if collections_visible(viewer, user) else None,
        followers=row[2],
        following=row[3],
        relationship=Relationship() if own else Relationship(bool(row[4]), bool(row[5])),
    )


# --- following ----------------------------------------------------------------------------


async def follow(session: AsyncSession, actor: User, target: User) -> bool:
    """Follow ``target``; following twice is harmless. True when a new follow was made."""
    if actor.id == target.id:
        raise Invalid("You cannot follow yourself.")
    if not target.active:
        raise NotFound("This account is blocked.")
    added = await session.execute(
        db.insert_unless_present(session, Follow, follower_id=actor.id, followed_id=target.id, created_at=utcnow())
    )
    if not cast(CursorResult[Any], added).rowcount:
        return False  # already following (or a double click racing itself)
    cards_change_after_commit(session, actor.id, target.id)
    notifications.notify(session, NotificationKind.FOLLOW, receiver=target, actor=actor)
    return True


async def unfollow(session: AsyncSession, actor: User, target: User) -> bool:
    result = await session.execute(
        delete(Follow).where(Follow.follower_id == actor.id, Follow.followed_id == target.id)
    )
    if cast(CursorResult[Any], result).rowcount:
        cards_change_after_commit(session, actor.id, target.id)
    return bool(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True)
class PersonRow:
    user: User
    since: datetime
    relationship: Relationship
    is_viewer: bool


@dataclass(frozen=True)
class PeoplePage:
    rows: list[PersonRow]
    page: int
    pages: int
    total: int


async def people_page(
    session: AsyncSession,
    viewer: User | None,
    query: Select[User, datetime],
    total_query: Select[int],
    page: int,
    per_page: int,
) -> PeoplePage:
    viewer_id = viewer.id if viewer is not None else -1
    total = (await session.execute(total_query)).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = (
        await session.execute(
            query.add_columns(_follows(viewer_id, User.id), _follows(User.id, viewer_id))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    return PeoplePage(
        rows=[
            PersonRow(
                user=row[0],
                since=row[1],
                relationship=Relationship(bool(row[2]), bool(row[3])) if row[0].id != viewer_id else Relationship(),
                is_viewer=row[0].id == viewer_id,
            )
            for row in rows
        ],
        page=page,
        pages=pages,
        total=total,
    )


async def followers(session: AsyncSession, viewer: User | None, user: User, page: int) -> PeoplePage:
    """Who follows ``user``, newest first."""
    query = (
        select(User, Follow.created_at)
        .join(Follow, Follow.follower_id == User.id)
        .where(Follow.followed_id == user.id)
        .order_by(Follow.created_at.desc(), User.id.desc())
    )
    total = select(func.count()).select_from(Follow).where(Follow.followed_id == user.id)
    return await people_page(session, viewer, query, total, page, USERS_PER_PAGE)


async def following(session: AsyncSession, viewer: User | None, user: User, page: int) -> PeoplePage:
    """Whom ``user`` follows, newest first."""
    query = (
        select(User, Follow.created_at)
        .join(Follow, Follow.followed_id == User.id)
        .where(Follow.follower_id == user.id)
        .order_by(Follow.created_at.desc(), User.id.desc())
    )
    total = select(func.count()).select_from(Follow).where(Follow.follower_id == user.id)
    return await people_page(session, viewer, query, total, page, USERS_PER_PAGE)
