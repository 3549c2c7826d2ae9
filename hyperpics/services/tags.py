"""Tags as pages show them: a tag's photos a numbered page at a time, whether a tag may be
shown, and the hot tags. Counting stops at TAG_COUNT_CAP: no page reads the whole of a big
tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    UnaryExpression,
    bindparam,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra import engines
from ..models import Collect, Photo, Tag, User, Visibility, photo_tags
from .photos import ANONYMOUS, PER_PAGE, NumberedPage, cards_of, cards_select, sight, viewer_params, visible_for
from .refusals import NotFound

TAG_ORDERS = ("by_time", "by_collects")


TAG_COUNT_CAP = 1_000  # a tag's count stops there ("1,000+ photos"): counting is not free


def _tagged(kind: str) -> Select[Any]:
    return (
        select(photo_tags.c.photo_id)
        .join(Photo, Photo.id == photo_tags.c.photo_id)
        .where(photo_tags.c.tag_id == bindparam("tag_id", type_=Integer), visible_for(kind))
    )


@cache
def _tag_count_statement(kind: str) -> Select[Any]:
    return select(func.count()).select_from(_tagged(kind).limit(TAG_COUNT_CAP + 1).subquery())


@cache
def _tag_page_statement(kind: str, order: str) -> Select[Photo, int, int]:
    """A page (``limit``, ``offset``) of ``tag_id``'s photos in ``order`` for viewers of rule
    ``kind``. Built once per shape: building took longer than running."""
    tagged, newest = _tagged(kind), photo_tags.c.photo_id.desc()
    page = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    if order == "by_collects":
        # Ranked among the newest TAG_COUNT_CAP: ranking costs a count per photo ranked.
        window = tagged.order_by(newest).limit(TAG_COUNT_CAP).subquery("window")
        collects = select(func.count()).select_from(Collect).where(Collect.photo_id == window.c.photo_id)
        chosen = (
            select(window.c.photo_id)
            .order_by(collects.scalar_subquery().desc(), window.c.photo_id.desc())
            .limit(page[0])
            .offset(page[1])
        )
        ordering: tuple[UnaryExpression[Any], ...] = (literal_column("collects").desc(), Photo.id.desc())
    else:
        chosen = tagged.order_by(newest).limit(page[0]).offset(page[1])
        ordering = (Photo.id.desc(),)
    return cards_select(visible_for(kind)).where(Photo.id.in_(chosen)).order_by(*ordering)


async def tag_page(
    session: AsyncSession,
    viewer: User | None,
    tag: Tag,
    order: str,
    page: int,
    per_page: int = PER_PAGE,
    *,
    kind: str | None = None,
) -> NumberedPage:
    """A tag's photos, newest first or most collected first, a numbered page at a time.

    The page's ids come first, from the tag's index (newest first is highest id first: no
    sort); then their cards. Counting stops at TAG_COUNT_CAP, and "most collected" ranks the
    newest TAG_COUNT_CAP photos: no page reads the whole of a big tag.
    """
    if order not in TAG_ORDERS:
        raise NotFound("Unknown order.")
    kind, parameters = kind or sight(viewer), {"tag_id": tag.id, **viewer_params(viewer)}
    counted = (await session.execute(_tag_count_statement(kind), parameters)).scalar_one()
    more = counted > TAG_COUNT_CAP
    total = min(counted, TAG_COUNT_CAP)
    pages = max(1, -(-total // per_page))
    page = max(page, 1) if more else min(max(page, 1), pages)
    parameters.update(limit=per_page, offset=(page - 1) * per_page)
    rows = (await session.execute(_tag_page_statement(kind, order), parameters)).all()
    if more and order == "by_time":
        pages = max(pages, page + (1 if len(rows) == per_page else 0))
    return NumberedPage(cards_of(rows), page, pages, total, more)


def _on_a_photo(kind: str) -> ColumnElement[bool]:
    return exists().where(photo_tags.c.tag_id == Tag.id, photo_tags.c.photo_id == Photo.id, visible_for(kind))


@cache
def _tag_statement(kind: str) -> Select[Tag]:
    return select(Tag).where(Tag.id == bindparam("tag_id", type_=Integer), _on_a_photo(kind))


async def get_tag(session: AsyncSession, viewer: User | None, tag_id: int) -> Tag:
    """The tag, if it is on a photo ``viewer`` may see: a tag found only on private or
    followers-only photos names something the viewer may not know of (search hides it too)."""
    parameters = {"tag_id": tag_id, **viewer_params(viewer)}
    tag = (await session.execute(_tag_statement(sight(viewer)), parameters)).scalar_one_or_none()
    if tag is None:
        raise NotFound("There is no such tag.")
    return tag


TAG_TABLES = ("tags", "photo_tags", "photos")  # what a tag's existence and reach are made from


@dataclass(frozen=True)
class PublicTag:
    """A tag on at least one public photo: everyone may see it. ``only_public``: every photo
    carrying it is public, so every viewer sees the same photos under it (shared pages)."""

    tag: Tag
    only_public: bool


_NOT_ONLY_PUBLIC = exists().where(
    photo_tags.c.tag_id == Tag.id,
    photo_tags.c.photo_id == Photo.id,
    engines.unindexed(Photo.visibility) != Visibility.PUBLIC.value,
)
_PUBLIC_TAG = select(Tag, ~_NOT_ONLY_PUBLIC).where(Tag.id == bindparam("tag_id", type_=Integer), _on_a_photo(ANONYMOUS))


async def public_tag(session: AsyncSession, tag_id: int) -> PublicTag | None:
    """The tag if it is on a public photo (None: it is not, or there is no such tag), and
    whether all of its photos are public."""
    row = (await session.execute(_PUBLIC_TAG, {"tag_id": tag_id})).first()
    return None if row is None else PublicTag(row[0], bool(row[1]))


class TagCount(NamedTuple):
    """A tag and how many public photos carry it (plain values: shared by requests from a cache)."""

    id: int
    name: str
    photos: int


HOT_TAG_TABLES = ("photos", "tags", "photo_tags")  # what hot_tags reads (page_cache.remember)
HOT_TAG_WINDOW = 1_000  # the latest public photos hot tags are counted on


async def hot_tags(session: AsyncSession, limit: int = 10) -> list[TagCount]:
    """The tags on the most of the latest public photos: what is hot now, counted over a
    window that does not grow with the site (all photo tags took 290 ms at 100,000 photos)."""
    latest = (
        select(Photo.id)
        .where(Photo.visibility == Visibility.PUBLIC.value)
        .order_by(Photo.created_at.desc(), Photo.id.desc())
        .limit(HOT_TAG_WINDOW)
        .subquery("latest")
    )
    count = func.count(photo_tags.c.photo_id).label("photos")
    rows = (
        await session.execute(
            select(Tag.id, Tag.name, count)
            .join(photo_tags, photo_tags.c.tag_id == Tag.id)
            .join(latest, latest.c.id == photo_tags.c.photo_id)
            .group_by(Tag.id, Tag.name)
            .order_by(count.desc(), Tag.name)
            .limit(limit)
        )
    ).all()
    return [TagCount(*row) for row in rows]
