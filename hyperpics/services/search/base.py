"""What both search implementations share: the words of a query, the snippets' markup, the
results, the visibility rules, and the counting, paging and ordering around an index
(:class:`IndexSearch`); each implementation only says which rows match, how they rank and
how a row's snippet is made (:class:`Match`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    Subquery,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.interfaces import LoaderOption

from ...infra import engines
from ...models import Photo, Tag, User, photo_tags
from ..photos import sight, viewer_params, visible_for

PER_PAGE = 20
MAX_TERMS = 12
MAX_TERM_LENGTH = 64
MAX_QUERY_LENGTH = 200
CATEGORIES = ("photo", "user", "tag")

# Column weights, as FTS5's bm25 takes them: photos (description, alt text, tag names) and
# people (username, name, bio). PostgreSQL scales them into its A, B, C weights.
PHOTO_WEIGHTS = (2.0, 1.0, 1.5)
USER_WEIGHTS = (3.0, 2.0, 1.0)
# A search ranks and counts the newest SEARCH_WINDOW matches (by id), whatever the index holds:
# ranking costs a score per match, and a common word matches a tenth of a large site. Past
# it the count says "1,000+", the window is listed unranked, and no page beyond it is offered. A found tag's photos are
# counted up to TAG_COUNT_SHOWN ("100+"): a page of twenty tags counts twenty times.
SEARCH_WINDOW = 1_000
TAG_COUNT_SHOWN = 100
# Snippet length in words (FTS5 tokens).
PHOTO_SNIPPET_WORDS = 16
USER_SNIPPET_WORDS = 12

# Snippet markers: control characters no one types, swapped for <mark> after escaping.
SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(query: str) -> list[str]:
    """The words searched for: runs of word characters (never a quote, an operator or NUL),
    at most ``MAX_TERMS`` of them, each cut to ``MAX_TERM_LENGTH``."""
    words = [word[:MAX_TERM_LENGTH] for word in _WORD.findall(query[:MAX_QUERY_LENGTH])]
    return [word for word in words if word.strip("_")][:MAX_TERMS]


def match_expression(query: str) -> str | None:
    """A safe FTS5 MATCH string for free text, or None when it holds no word."""
    words = search_words(query)
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"  # prefix on the last word: results while typing
    return " ".join(quoted)


def tsquery_expression(query: str) -> str | None:
    """A safe ``to_tsquery`` string for free text (every word required, the last one a
    prefix), or None when it holds no word.

    Each word is one quoted lexeme; quotes and backslashes are escaped and NUL dropped
    (PostgreSQL rejects it in text), though ``search_words`` lets none of them through.
    """
    words = search_words(query)
    if not words:
        return None
    quoted = ["'" + word.replace("\x00", "").replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


def highlight(snippet: str | None) -> Markup:
    """Escape everything, then mark the matched words."""
    if not snippet:
        return Markup("")
    escaped = str(escape(snippet))
    return Markup(escaped.replace(SNIPPET_OPEN, "<mark>").replace(SNIPPET_CLOSE, "</mark>"))


@dataclass(frozen=True)
class Hit:
    item: object  # Photo, User or (Tag, photo count)
    snippet: Markup


@dataclass(frozen=True)
class Results:
    category: str
    hits: list[Hit]
    total: int
    page: int
    pages: int
    more: bool = False  # more matches than the window: ``total`` counts the newest SEARCH_WINDOW


class SearchIndex(Protocol):
    async def search(
        self, session: AsyncSession, viewer: User | None, query: str, category: str, page: int, per_page: int = PER_PAGE
    ) -> Results: ...

    async def rebuild(self, session: AsyncSession) -> dict[str, int]: ...


@dataclass(frozen=True)
class Match:
    """The rows of one index that match, newest first: ``found`` has the ``id`` and ``rank``
    (lower first, as bm25) of the newest ``SEARCH_WINDOW``; ``snippet`` makes a row's snippet
    in the query over the page's rows, given that page (a CTE of ``found``'s columns).

    For counting, ids alone: ``ids`` the newest ``SEARCH_WINDOW + 1`` (one past the window
    means "more"), ``window`` those of ``found``. With the rank and snippet columns in the
    count, SQLite drove it from the table (every public photo) and ran the match, bm25 and
    snippet once per row (1.1 s at 20,000 photos, against 2 ms)."""

    found: Subquery
    snippet: Callable[[Any], ColumnElement[Any]]
    ids: Subquery
    window: Subquery  # the ids of ``found`` (the newest SEARCH_WINDOW), without their rank


@dataclass(frozen=True)
class _Kind:
    """One tab: its rows, the filters every viewer gets, ties, and what a hit holds."""

    category: str
    entity: type[Photo] | type[User] | type[Tag]
    where: Sequence[ColumnElement[bool]]
    tie: SQLColumnExpression[Any]
    joins: Sequence[Any] = ()
    extra: Sequence[ColumnElement[Any]] = ()
    options: Sequence[LoaderOption] = ()


def _tag_photos(sees: str, *columns: ColumnElement[Any]) -> Select[Any]:
    """``columns`` over the photos carrying the tag (correlated to ``Tag``) that a viewer who
    ``sees`` by that rule may see (services.photos.sight)."""
    return (
        select(*columns)
        .select_from(photo_tags)
        .join(Photo, Photo.id == photo_tags.c.photo_id)
        .where(photo_tags.c.tag_id == Tag.id, visible_for(sees))
        .correlate(Tag)
    )


def _kind(category: str, sees: str) -> _Kind:
    if category == "photo":
        return _Kind(
            # Filters: the matches lead (with the active-users index in reach, SQLite went
            # through every active user's photos to count a common word's).
            "photo",
            Photo,
            [visible_for(sees), engines.unindexed(User.active).is_(True)],
            Photo.id.desc(),
            joins=[Photo.author],
            options=[joinedload(Photo.author)],
        )
    if category == "user":
        return _Kind("user", User, [User.active.is_(True)], User.id)  # blocked people are not found
    # A tag is found only when the viewer can see at least one photo carrying it: its name
    # alone would tell of someone's private photos. (Found by the first such photo; only the
    # page's tags are counted in full.)
    seen = _tag_photos(sees, photo_tags.c.photo_id).exists()
    capped = _tag_photos(sees, photo_tags.c.photo_id).limit(TAG_COUNT_SHOWN + 1).subquery("tagged")
    counted = select(func.count()).select_from(capped).scalar_subquery().label("photos")
    return _Kind("tag", Tag, [seen], Tag.name, extra=[counted])


@dataclass(frozen=True)
class _Statements:
    """One tab's queries for one visibility rule, built once: building them cost more than
    running them. The words (``MATCH``), the viewer (services.photos.VIEWER_ID) and the page
    (``LIMIT``, ``OFFSET``) are parameters."""

    counts: Select[Any]  # (matches in the window and one past it, visible ones among them)
    ranked: Select[Any]  # a page of the window's matches by relevance
    newest: Select[Any]  # a page of the window in the tab's plain order (more matches than it)


MATCH, LIMIT, OFFSET = "search_match", "search_limit", "search_offset"


class IndexSearch:
    """Search over an index that says which rows match (``_match``); the rest is shared."""

    _built: dict[tuple[str, str], _Statements]  # by (category, visibility rule), per implementation

    def __init_subclass__(cls) -> None:
        cls._built = {}

    def _expression(self, query: str) -> str | None:
        raise NotImplementedError

    def _match(self, category: str) -> Match:
        """The rows matching the ``MATCH`` parameter (the implementation's expression)."""
        raise NotImplementedError

    async def search(
        self, session: AsyncSession, viewer: User | None, query: str, category: str, page: int, per_page: int = PER_PAGE
    ) -> Results:
        """Count, clamp the page to the last one, then read that page: its rows are chosen
        first (ranked, filtered, limited), and only they get a snippet. Up to SEARCH_WINDOW
        matches are ranked by relevance; past it (a common word), the window is listed in the
        tab's plain order (photos newest first) without scores: scoring every match is what
        made a common word's page cost tens of milliseconds."""
        if category not in CATEGORIES:
            category = "photo"
        expression = self._expression(query)
        if expression is None:
            return Results(category, [], 0, 1, 1)
        sees = sight(viewer)
        statements = self._built.get((category, sees)) or self._build(category, sees)
        params: dict[str, Any] = {MATCH: expression, **viewer_params(viewer)}
        matched, total = (await session.execute(statements.counts, params)).one()
        more = matched > SEARCH_WINDOW
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        params.update({LIMIT: per_page, OFFSET: (page - 1) * per_page})
        rows = (await session.execute(statements.newest if more else statements.ranked, params)).all()
        with_count = category == "tag"  # a tag comes with its photo count
        hits = [Hit((row[0], row[2]) if with_count else row[0], highlight(row[1])) for row in rows]
        return Results(category, hits, total, page, pages, more)

    def _build(self, category: str, sees: str) -> _Statements:
        kind, match = _kind(category, sees), self._match(category)
        entity = kind.entity

        visible = select(func.count()).select_from(entity)
        for target in kind.joins:
            visible = visible.join(target)
        counts = select(
            select(func.count()).select_from(match.ids).scalar_subquery(),
            visible.where(entity.id.in_(select(match.window.c.id)), *kind.where).scalar_subquery(),
        )

        def page_of(found: Subquery, columns: Sequence[Any], order: Sequence[Any]) -> Select[Any]:
            query = select(*columns).select_from(entity).join(found, found.c.id == entity.id)
            for target in kind.joins:
                query = query.join(target)
            limit, offset = bindparam(LIMIT, type_=Integer), bindparam(OFFSET, type_=Integer)
            # A CTE: the snippets (FTS5's) read the page's ids too.
            chosen = query.where(*kind.where).order_by(*order).limit(limit).offset(offset).cte("page")
            return engines.long_read(
                select(entity, match.snippet(chosen), *kind.extra)
                .select_from(entity)
                .join(chosen, chosen.c.id == entity.id)
                .options(*kind.options)
                .order_by(chosen.c.rank, kind.tie)
            )

        built = _Statements(
            counts=engines.long_read(counts),
            ranked=page_of(match.found, list(match.found.c), [match.found.c.rank, kind.tie]),
            newest=page_of(match.window, [match.window.c.id, literal(0).label("rank")], [kind.tie]),
        )
        self._built[(category, sees)] = built
        return built
