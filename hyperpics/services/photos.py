"""Photo rules: who sees what, the feeds and listings, editing, deleting, reporting.

Every listing is one query (plus one for the tags of the page when they are shown): the
counts come from correlated subqueries, the author from a join, so the number of SQL
statements per page never grows with the page size.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Row,
    Select,
    UnaryExpression,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from ..infra import db, numbers
from ..infra.media import StoredPhoto
from ..models import AuditAction, Collect, Comment, Follow, Permission, Photo, Tag, User, Visibility, photo_tags, utcnow
from . import authority
from .refusals import BadRequest, Invalid, NotFound, Refused

PER_PAGE = 12
_random = random.SystemRandom()  # explore's picks: not reproducible from outside
MAX_TAGS = 20
TAG_PATTERN = re.compile(r"^[\w-]+(?: [\w-]+)*$")  # words of letters, digits, - and _, one space between
TAG_MAX_LENGTH = 64


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
    visibility = photo.visibility if by_visibility else db.unindexed(photo.visibility)
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
    return _cards_select(visible_to(viewer, by_visibility=by_visibility))


def _cards_select(visible: ColumnElement[bool]) -> Select[Photo, int, int]:
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
        _cards_select(visible_for(kind))
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
    return _cards_select(visible_for(kind)).where(Photo.id.in_(chosen)).order_by(*newest)


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
    return _cards_select(visible_for(kind)).where(Photo.id.in_(chosen)).order_by(*ordering)


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
    db.unindexed(Photo.visibility) != Visibility.PUBLIC.value,
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


# --- creating and editing -----------------------------------------------------------------


@dataclass(frozen=True)
class NewDetails:
    """What an upload form says about every photo it sends (checked before any is decoded)."""

    description: str = ""
    tag_names: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PUBLIC


def new_details(*, description: str, tags: str, visibility: str | None) -> NewDetails:
    """Check the upload form's shared fields; :class:`Invalid` names the field at fault."""
    description = (description or "").strip()
    if len(description) > 500:
        raise Invalid("A description has at most 500 characters.", field="description")
    try:
        chosen = Visibility(visibility) if visibility else Visibility.PUBLIC
    except ValueError:
        raise Invalid("Choose who can see the photo.", field="visibility") from None
    return NewDetails(description, tuple(parse_tags(tags)), chosen)


async def tags_for_new_photos(session: AsyncSession, details: NewDetails) -> list[Tag]:
    """The tags of ``details``, created if new; resolved before the photos are added, so that a
    savepoint taken here never holds (and cannot roll back) a photo row."""
    return await _tags_named(session, list(details.tag_names))


def create_photo(
    session: AsyncSession,
    author: User,
    stored: StoredPhoto,
    details: NewDetails = NewDetails(),
    tags: Sequence[Tag] = (),
) -> Photo:
    photo = Photo(
        author_id=author.id,
        filename_original=stored.original,
        filename_medium=stored.medium,
        filename_small=stored.small,
        width=stored.width,
        height=stored.height,
        description=details.description,
        visibility=details.visibility,
        derivatives=stored.derivatives,
        colour=stored.colour,
        created_at=utcnow(),
        tags=list(tags),
    )
    session.add(photo)
    return photo


def parse_tags(text: str) -> list[str]:
    """Tag names from free text, lower-cased, '#' dropped, each once.

    With a comma anywhere, commas separate the tags and a tag may hold several words
    ("mountains, blue hour": two tags); without one, every word is a tag ("sunset beach").
    A word marked with "#" after another is always a tag of its own."""
    text = text or ""
    items = text.split(",") if "," in text else text.split()
    # "#" starts a tag wherever it is: "#sunset #beach, film" is three tags, not two.
    items = [word for item in items for word in (item.split() if " #" in item.strip() else [item])]
    names: list[str] = []
    for raw in items:
        name = " ".join(raw.split()).lstrip("#").strip().lower()
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH or not TAG_PATTERN.match(name):
            raise Invalid(
                f"“{raw.strip()[:30]}” is not a valid tag: use letters, digits, - and _ "
                f"(at most {TAG_MAX_LENGTH}), and commas between tags of several words.",
                field="tags",
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise Invalid(f"At most {MAX_TAGS} tags per photo.", field="tags")
    return names


async def _tags_named(session: AsyncSession, names: list[str]) -> list[Tag]:
    if not names:
        return []
    # Held until the commit, so that no one deletes them as unused meanwhile (delete_unused_tags).
    existing = {tag.name: tag for tag in await db.lock(session, Tag, Tag.name.in_(names), key_share=True)}
    tags: list[Tag] = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name, created_at=utcnow())
            try:
                # Another request may create the same tag at the same moment.
                async with session.begin_nested():
                    session.add(tag)
                    await session.flush()
            except IntegrityError:
                tag = (await session.execute(select(Tag).where(Tag.name == name))).scalar_one()
        tags.append(tag)
    return tags


async def update_details(
    session: AsyncSession,
    actor: User,
    photo: Photo,
    *,
    description: str,
    alt_text: str,
    tags: str,
    visibility: str | None,
) -> Photo:
    """Change what the author says about a photo, and who sees it: the author alone."""
    if not can_edit(actor, photo):
        raise Refused(EDIT_REFUSAL)
    names = parse_tags(tags)
    # Two edits of one photo take turns, each from the tags the other left.
    await db.lock(session, Photo, Photo.id == photo.id, load=[selectinload(Photo.tags)])
    if visibility is not None:
        try:
            photo.visibility = Visibility(visibility)
        except ValueError:
            raise Invalid("Choose who can see the photo.", field="visibility") from None
    photo.description = description.strip()
    photo.alt_text = alt_text.strip()
    dropped = [tag.id for tag in photo.tags if tag.name not in names]
    photo.tags = await _tags_named(session, names)
    await session.flush()
    await delete_unused_tags(session, dropped)
    return photo


async def tag_ids_of_photos(session: AsyncSession, which: ColumnElement[bool]) -> list[int]:
    """The tags carried by the photos ``which`` selects (read before deleting those photos)."""
    found = await session.execute(
        select(photo_tags.c.tag_id).join(Photo, Photo.id == photo_tags.c.photo_id).where(which).distinct()
    )
    return list(found.scalars())


async def delete_unused_tags(session: AsyncSession, tag_ids: Sequence[int]) -> None:
    """Of these tags, those no photo carries any more go (so they are not found, or listed,
    with 0 photos).

    They are locked first. A request tagging a photo with one of them at this moment holds
    it (see _tags_named): it either commits first, and the tag is kept, or it waits and then
    makes the tag anew.
    """
    ids = sorted(set(tag_ids))
    if not ids:
        return
    await db.lock(session, Tag, Tag.id.in_(ids))
    await session.execute(delete(Tag).where(Tag.id.in_(ids), ~exists().where(photo_tags.c.tag_id == Tag.id)))


async def delete_photo(session: AsyncSession, actor: User, photo: Photo, *, reason: str = "") -> list[str]:
    """Delete the photo (its author, or a moderator by authority's rule, which is audited with
    the reason given); returns its files for removal after commit."""
    if refused := await authority.refusal(session, actor, photo.author_id):
        raise Refused(refused)
    files = [f"photos/{name}" for name in photo.files()]
    tag_ids = await tag_ids_of_photos(session, Photo.id == photo.id)
    await session.execute(delete(Photo).where(Photo.id == photo.id))
    await delete_unused_tags(session, tag_ids)
    if actor.id != photo.author_id:
        before = {"author_id": photo.author_id, "description": photo.description, "visibility": photo.visibility.value}
        authority.audit(
            session, actor, AuditAction.PHOTO_DELETE, "photo", photo.id, before, {"reason": reason.strip()[:500]}
        )
    return files


async def photo_by_file(session: AsyncSession, filename: str) -> Photo | None:
    """The photo ``filename`` (one of its copies, or its original) belongs to, if any.

    Copies share the original's stem; the original is a JPEG or a PNG (a WebP copy does not say
    which), so both are asked for, by the unique index."""
    stem = re.sub(r"_[a-z0-9]+$", "", filename.rpartition(".")[0])
    photo = (
        await session.execute(select(Photo).where(Photo.filename_original.in_([f"{stem}.jpg", f"{stem}.png"])))
    ).scalar_one_or_none()
    return photo if photo is not None and filename in photo.files() else None
