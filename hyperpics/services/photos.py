"""Photos as everyone sees them: the rule of who sees what, the cards listings show, and the
photo page. Every listing is one query (plus one for the tags of the page when they are
shown): the counts come from correlated subqueries, the author from a join, so the number of
SQL statements per page never grows with the page size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from ..infra import engines
from ..models import Collect, Comment, Follow, Permission, Photo, User, Visibility
from . import authority
from .refusals import NotFound

PER_PAGE = 12


@dataclass(frozen=True)
class Card:
    """A photo as listings show it."""

    photo: Photo
    collects: int
    comments: int


CARD_TABLES = ("photos", "users", "roles", "collects", "comments")  # what a card is made from


@dataclass(frozen=True)
class FeedPage:
    cards: list[Card]
    next_cursor: str | None


@dataclass(frozen=True)
class NumberedPage:
    cards: list[Card]
    page: int
    pages: int
    total: int
    more: bool = False  # there are more than ``total`` (a capped count), and maybe more pages


EDIT_REFUSAL = "Only the photo's author can change its description, tags or who sees it."


# --- who sees what ------------------------------------------------------------------------


ANONYMOUS, MODERATOR, MEMBER = "anonymous", "moderator", "member"  # what a viewer may see
# Within one author's photos, what a follower of that author sees (public and followers-only):
# the same for all of them, so such a listing is shared (see author_sight).
FOLLOWER = "follower"
VIEWER_ID = "viewer_id"  # the bound parameter naming the viewer in prebuilt statements


def sight(viewer: User | None) -> str:
    """Which rule of :func:`visible_to` applies to ``viewer``: statements are prebuilt per rule."""
    if viewer is None:
        return ANONYMOUS
    return MODERATOR if viewer.can(Permission.MODERATE) else MEMBER


def author_sight(viewer: User | None, author_id: int, follows_author: bool) -> str:
    """The rule for which of one author's photos ``viewer`` may see, as a rule that needs no
    viewer: all of them (the author, moderators), public and followers-only ones (a follower),
    public ones (anyone else). What it shows is then the same for everyone under that rule."""
    if viewer is not None and (viewer.id == author_id or viewer.can(Permission.MODERATE)):
        return MODERATOR
    return FOLLOWER if viewer is not None and follows_author else ANONYMOUS


def viewer_params(viewer: User | None) -> dict[str, int]:
    return {VIEWER_ID: viewer.id if viewer is not None else -1}


def visible_to(viewer: User | None, photo: type[Photo] = Photo, *, by_visibility: bool = False) -> ColumnElement[bool]:
    """The SQL condition for photos ``viewer`` may see (anonymous: public ones only).

    ``photo`` may be an alias of Photo, for subqueries over other photos.

    The condition filters the photos a query reaches another way (an author, a tag, a list
    of ids): with three values, visibility is the poorest way in, yet without statistics
    SQLite took its index whenever it was named, and read every public photo to find an
    author's dozen. Only a query with nothing better to go by (the newest public photos)
    passes ``by_visibility`` to let it walk that index.
    """
    viewer_id = viewer.id if viewer is not None else None
    return visible_for(sight(viewer), photo, by_visibility=by_visibility, viewer_id=viewer_id)


def visible_for(
    kind: str, photo: type[Photo] = Photo, *, by_visibility: bool = False, viewer_id: int | None = None
) -> ColumnElement[bool]:
    """:func:`visible_to` by rule; a member is the ``viewer_id`` parameter (given here, or
    when a prebuilt statement runs: :func:`viewer_params`)."""
    visibility = photo.visibility if by_visibility else engines.unindexed(photo.visibility)
    if kind == ANONYMOUS:
        return visibility == Visibility.PUBLIC.value
    if kind == MODERATOR:
        return true()
    if kind == FOLLOWER:
        return visibility.in_((Visibility.PUBLIC.value, Visibility.FOLLOWERS.value))
    me = bindparam(VIEWER_ID, viewer_id, type_=Integer)
    follows_author = exists().where(Follow.follower_id == me, Follow.followed_id == photo.author_id)
    return or_(
        visibility == Visibility.PUBLIC.value,
        photo.author_id == me,
        and_(visibility == Visibility.FOLLOWERS.value, follows_author),
    )


def can_edit(viewer: User | None, photo: Photo) -> bool:
    """Text, tags and visibility are the author's alone (moderators delete, they do not rewrite)."""
    return viewer is not None and viewer.active and viewer.id == photo.author_id


def can_delete(viewer: User | None, photo: Photo) -> bool:
    """Whether to offer the delete button (needs ``photo.author``); see authority.refusal."""
    return authority.may_show_delete(viewer, photo.author)


def _collect_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Collect)
        .where(Collect.photo_id == Photo.id)
        .correlate(Photo)  # only Photo: listings may join collects themselves
        .scalar_subquery()
    )


def _comment_count() -> ColumnElement[int]:
    return (
        select(func.count()).select_from(Comment).where(Comment.photo_id == Photo.id).correlate(Photo).scalar_subquery()
    )


def cards_query(viewer: User | None, *, by_visibility: bool = False) -> Select[Photo, int, int]:
    """The cards ``viewer`` may see (photo, author, counts): a statement for a listing to narrow
    and order; :func:`cards_of` makes its rows cards."""
    return cards_select(visible_to(viewer, by_visibility=by_visibility))


def cards_select(visible: ColumnElement[bool]) -> Select[Photo, int, int]:
    """Cards (a photo, its collects, its comments) of the photos ``visible`` lets through."""
    return (
        select(Photo, _collect_count().label("collects"), _comment_count().label("comments"))
        .join(Photo.author)
        .options(contains_eager(Photo.author))  # the author from the join above: one users row each
        .where(visible)
    )


def cards_of(rows: Sequence[Row[Photo, int, int]]) -> list[Card]:
    return [Card(row[0], row[1], row[2]) for row in rows]


async def get_visible(session: AsyncSession, viewer: User | None, photo_id: int, *, with_tags: bool = True) -> Photo:
    """The photo (with its author, and its tags unless ``with_tags`` is False) if ``viewer``
    may see it; a 404 otherwise (never reveal that it exists)."""
    loads = [joinedload(Photo.author), selectinload(Photo.tags)] if with_tags else [joinedload(Photo.author)]
    photo = (
        await session.execute(select(Photo).options(*loads).where(Photo.id == photo_id, visible_to(viewer)))
    ).scalar_one_or_none()
    if photo is None:
        raise NotFound("This photo does not exist, or you cannot see it.")
    return photo


# --- pages --------------------------------------------------------------------------------


# What a photo page shows that is the same for every viewer is made from these tables: while
# they are unchanged, the view keeps it (page_cache.recall) and asks only what is the viewer's.
PHOTO_SHOWN_TABLES = (*CARD_TABLES, "tags", "photo_tags")


@dataclass(frozen=True)
class PhotoShown:
    """The part of a photo page that is the same for everyone: the photo (author and tags
    loaded) and its counts."""

    photo: Photo
    collects: int
    comments: int


@dataclass(frozen=True)
class PhotoPage:
    shown: PhotoShown
    collected: bool  # by the viewer
    newer_id: int | None
    older_id: int | None

    @property
    def photo(self) -> Photo:
        return self.shown.photo

    @property
    def collects(self) -> int:
        return self.shown.collects

    @property
    def comments(self) -> int:
        return self.shown.comments


def _viewers_columns(kind: str) -> tuple[Any, ...]:
    """Whether the viewer (parameter VIEWER_ID) collected the photo, and its neighbours within
    the author's photos that a viewer of rule ``kind`` may see."""
    other = aliased(Photo)
    same_author = and_(other.author_id == Photo.author_id, visible_for(kind, other))
    return (
        exists().where(Collect.photo_id == Photo.id, Collect.user_id == bindparam(VIEWER_ID, type_=Integer)),
        select(func.min(other.id)).where(same_author, other.id > Photo.id).scalar_subquery(),
        select(func.max(other.id)).where(same_author, other.id < Photo.id).scalar_subquery(),
    )


@cache
def _photo_page_statement(kind: str) -> Select[*tuple[Any, ...]]:
    """The photo page's one query for viewers of rule ``kind`` (parameters photo_id, viewer_id).
    Built once: building it took longer than running it."""
    return (
        cards_select(visible_for(kind))
        .add_columns(*_viewers_columns(kind))
        .options(selectinload(Photo.tags))
        .where(Photo.id == bindparam("photo_id", type_=Integer))
    )


@cache
def _viewers_part_statement(kind: str) -> Select[Any]:
    """What is the viewer's on a photo page whose shared part is known: a row only if a viewer
    of rule ``kind`` may see the photo."""
    return select(*_viewers_columns(kind)).where(Photo.id == bindparam("photo_id", type_=Integer), visible_for(kind))


async def photo_page(
    session: AsyncSession, viewer: User | None, photo_id: int, shown: PhotoShown | None = None
) -> PhotoPage:
    """The photo with its counts, the viewer's collect and its neighbours, in one query; with
    ``shown`` (this photo's shared part, kept from an earlier look), only the viewer's part,
    in one query of plain columns."""
    parameters = {"photo_id": photo_id, **viewer_params(viewer)}
    if shown is not None:
        mine = (await session.execute(_viewers_part_statement(sight(viewer)), parameters)).first()
        if mine is None:
            raise NotFound("This photo does not exist, or you cannot see it.")
        return PhotoPage(shown, bool(mine[0]), newer_id=mine[1], older_id=mine[2])
    row = (await session.execute(_photo_page_statement(sight(viewer)), parameters)).first()
    if row is None:
        raise NotFound("This photo does not exist, or you cannot see it.")
    return PhotoPage(PhotoShown(row[0], row[1], row[2]), bool(row[3]), newer_id=row[4], older_id=row[5])
