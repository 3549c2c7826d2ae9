"""The photo listings read by keyset or by draw: the home feed, the newest public photos,
explore's random picks and an author's photos. A keyset page reads from an index whatever
the site's size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..infra import numbers
from ..models import Follow, Photo, User, Visibility
from .photos import (
    PER_PAGE,
    VIEWER_ID,
    Card,
    FeedPage,
    cards_of,
    cards_query,
    cards_select,
    sight,
    viewer_params,
    visible_for,
)
from .refusals import BadRequest

_random = random.SystemRandom()  # explore's picks: not reproducible from outside
LATEST_CURSOR_SECONDS = 4_102_444_800  # 2100-01-01: later is no photo's time


def encode_cursor(photo: Photo) -> str:
    return f"{photo.created_at.timestamp():.6f}_{photo.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """``<seconds>.<microseconds>_<photo id>``, as encode_cursor writes it; 400 otherwise."""
    if not cursor:
        return None
    stamp, _, identifier = cursor.partition("_")
    seconds, _, micro = stamp.partition(".")
    when = numbers.whole_number(seconds, low=0, high=LATEST_CURSOR_SECONDS)
    fraction = numbers.whole_number(micro, low=0, high=999_999) if len(micro) == 6 else None
    photo_id = numbers.row_id(identifier)
    if when is None or fraction is None or photo_id is None:
        raise BadRequest("That page link is not valid.")
    return datetime.fromtimestamp(when, UTC) + timedelta(microseconds=fraction), photo_id


FEED, BY_AUTHOR = "feed", "by_author"  # what a keyset listing lists
EVER = datetime(1970, 1, 1, tzinfo=UTC)  # older than any photo


@cache
def _keyset_statement(listing: str, kind: str, after_cursor: bool) -> Select[Photo, int, int]:
    """A page of ``listing`` (the viewer's feed, or one author's photos: ``author_id``) for
    viewers of rule ``kind``, newest first, ``limit`` of them, after ``(before_time,
    before_id)`` when ``after_cursor``. Built once per shape: building took longer than running.

    The page's ids are chosen first, and only they get their counts: with the counts in the
    ordering query, SQLite counted collects and comments for every candidate before sorting.
    """
    me = bindparam(VIEWER_ID, type_=Integer)
    newest = (Photo.created_at.desc(), Photo.id.desc())
    position = tuple_(bindparam("before_time", type_=Photo.created_at.type), bindparam("before_id", type_=Integer))

    def newest_of(photo: Any, which: ColumnElement[bool]) -> Select[Any]:
        chosen = select(photo.id).where(which, visible_for(kind, photo))
        if after_cursor:
            # A row value: one range on the (created_at, id) indexes; the same test written with
            # OR let SQLite read every older photo of the site through the created_at index.
            chosen = chosen.where(tuple_(photo.created_at, photo.id) < position)
        return chosen.order_by(photo.created_at.desc(), photo.id.desc())

    if listing == FEED:
        # Through the authors' index (ix_photos_author_created), so the cost follows how many
        # people the viewer follows, never the site's size; and the newest page is read from
        # each author only after a bound: the time of the page-th newest of the authors' own
        # newest photos (each one a seek). That many photos are at least that new, so the page
        # is too. Reading each author's newest page in full cost 6 ms for 93 people followed.
        authors = (
            select(Follow.followed_id.label("author_id"))
            .where(Follow.follower_id == me)
            .union_all(select(me.label("author_id")))
            .cte("authors")
        )
        latest, theirs, candidate = (aliased(Photo, name=name) for name in ("latest", "theirs", "candidate"))
        their_latest = (
            newest_of(latest, latest.author_id == authors.c.author_id)
            .with_only_columns(latest.created_at)
            .limit(1)
            .correlate(authors)
            .scalar_subquery()
            .label("latest")
        )
        latest_times = select(their_latest).select_from(authors).subquery("latest_times")
        bound = (
            select(latest_times.c.latest)
            .where(latest_times.c.latest.is_not(None))
            .order_by(latest_times.c.latest.desc())
            .limit(1)
            .offset(bindparam("bound_offset", type_=Integer))
            .scalar_subquery()
        )
        since = func.coalesce(bound, bindparam("ever", EVER, type_=Photo.created_at.type))
        their_pages = (
            newest_of(theirs, and_(theirs.author_id == authors.c.author_id, theirs.created_at >= since))
            .limit(bindparam("limit"))
            .correlate(authors)
        )
        candidates = select(candidate.id).select_from(authors).join(candidate, candidate.id.in_(their_pages))
        chosen = (
            select(Photo.id).where(Photo.id.in_(candidates.correlate(None))).order_by(*newest).limit(bindparam("limit"))
        )
    else:
        chosen = newest_of(Photo, Photo.author_id == bindparam("author_id", type_=Integer)).limit(bindparam("limit"))
    return cards_select(visible_for(kind)).where(Photo.id.in_(chosen)).order_by(*newest)


async def _keyset(
    session: AsyncSession,
    viewer: User | None,
    listing: str,
    cursor: str | None,
    per_page: int,
    *,
    kind: str | None = None,
    **parameters: int | datetime,
) -> FeedPage:
    """A page of ``listing`` for ``viewer`` (under rule ``kind``, when given, instead of theirs)."""
    position = decode_cursor(cursor)
    statement = _keyset_statement(listing, kind or sight(viewer), position is not None)
    # The page and one more (is there a next page?); the feed's bound is the newest-but-that-many.
    parameters.update(viewer_params(viewer), limit=per_page + 1, bound_offset=per_page)
    if position is not None:
        parameters.update(before_time=position[0], before_id=position[1])
    rows = (await session.execute(statement, parameters)).all()
    cards = cards_of(rows[:per_page])
    next_cursor = encode_cursor(cards[-1].photo) if len(rows) > per_page and cards else None
    return FeedPage(cards, next_cursor)


async def home_feed(session: AsyncSession, viewer: User, cursor: str | None, per_page: int = PER_PAGE) -> FeedPage:
    """Photos of the people ``viewer`` follows, and their own, newest first."""
    return await _keyset(session, viewer, FEED, cursor, per_page)


async def recent_public(session: AsyncSession, limit: int = PER_PAGE) -> list[Card]:
    rows = (
        await session.execute(
            cards_query(None, by_visibility=True).order_by(Photo.created_at.desc(), Photo.id.desc()).limit(limit)
        )
    ).all()
    return cards_of(rows)


EXPLORE_PER_PAGE = 18


@dataclass(frozen=True)
class ExplorePage:
    """A page of explore's walk (see :func:`explore`); ``next_after`` continues it, or None at its end."""

    cards: list[Card]
    start: float
    next_after: float | None


def _explore_statement() -> Select[Photo, int, int]:
    """The next ``limit`` public photos of the walk, in one statement: a seek in
    ``ix_photos_visibility_shuffle`` after ``after`` up to ``upto``, then, if the walk has not
    wrapped yet, from 0 up to ``start`` (``wrap_upto``; -1 once it has)."""
    public = Photo.visibility == Visibility.PUBLIC.value

    def run(low: Any, high: Any) -> Select[Any]:
        return (
            select(Photo.id)
            .where(public, Photo.shuffle_key > low, Photo.shuffle_key < high)
            .order_by(Photo.shuffle_key)
            .limit(bindparam("limit", type_=Integer))
        )

    key = bindparam
    ahead = run(key("after", type_=Float), key("upto", type_=Float)).subquery("ahead")
    wrapped = run(literal(-1.0), key("wrap_upto", type_=Float)).subquery("wrapped")
    chosen = union_all(select(ahead.c.id), select(wrapped.c.id))
    return cards_query(None).where(Photo.id.in_(chosen))


_EXPLORE = _explore_statement()  # built once: building costs more than running


async def explore(
    session: AsyncSession, start: float | None = None, after: float | None = None, per_page: int = EXPLORE_PER_PAGE
) -> ExplorePage:
    """A page of public photos in a random order that pages like any listing.

    Each photo draws a ``shuffle_key`` in [0, 1) when it is made; explore walks the keys from
    a random ``start`` up to 1, then from 0 back to ``start``: every public photo once, in an
    order nobody chose, each page an index seek (``ORDER BY random()`` read every public
    photo, and a new draw per page repeats photos). ``after`` is the last key shown.
    """
    if start is None:
        start = _random.random()
    if after is not None and after < start:  # past 1 and back from 0: up to ``start``, the end
        low, parameters = after, {"after": after, "upto": start, "wrap_upto": -1.0}
    else:  # up to 1 first, then from 0 up to ``start``; the first page includes ``start`` itself
        low = start - 1e-12 if after is None else after
        parameters = {"after": low, "upto": 2.0, "wrap_upto": start}
    parameters["limit"] = per_page + 1
    rows = (await session.execute(_EXPLORE, parameters)).all()
    cards = cards_of(rows)
    # Ahead of ``low`` first (up to 1), then the part after wrapping to 0.
    cards.sort(key=lambda card: (card.photo.shuffle_key <= low, card.photo.shuffle_key))
    more = len(cards) > per_page
    cards = cards[:per_page]
    return ExplorePage(cards, start, cards[-1].photo.shuffle_key if more and cards else None)


async def author_photos(
    session: AsyncSession, kind: str, author_id: int, cursor: str | None, per_page: int = PER_PAGE
) -> FeedPage:
    """One author's photos under an :func:`author_sight` rule: no viewer in it, so the page
    can be shared by everyone the rule covers."""
    return await _keyset(session, None, BY_AUTHOR, cursor, per_page, kind=kind, author_id=author_id)
