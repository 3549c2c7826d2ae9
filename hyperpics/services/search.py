"""Full-text search over photos, people and tags, behind one small interface.

``SearchIndex`` is what views call; ``index_for(session)`` picks the implementation for the
database, and both behave alike (the same tests run on each):

- ``Fts5Search``, SQLite FTS5: tables and triggers of the migration ``0002``; bm25 ranking,
  diacritics folded by the unicode61 tokenizer.
- ``PostgresSearch``: documents (weighted ``tsvector``, GIN-indexed) in ``search_photos``,
  ``search_users`` and ``search_tags``, kept by the triggers of the migration ``0003``; the
  ``hyperpics_search`` configuration folds accents (``unaccent``) and, like unicode61, does
  not stem. ``ts_rank`` ranks with the weights of the FTS5 columns; ``ts_headline`` marks
  the snippets, for the rows of the page only.

User input never reaches the query syntax: words are extracted (``\\w+``, at most
``MAX_TERMS``), each one quoted, all are required, and the last one becomes a prefix ("sun"
finds "sunset"). Quotes, ``*``, ``-``, ``NEAR``, ``AND``/``OR``, ``&|!():``, parentheses and
``column:`` filters are thereby plain text. Snippets come back with private markers, and
``highlight()`` escapes the text before turning the markers into ``<mark>``.

Both implementations share everything around their index (:class:`_IndexSearch`): the
visibility rules, counting, paging, ordering and the ``Results``; each only says which rows
match, how they rank and how a row's snippet is made (:class:`_Match`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from markupsafe import Markup, escape
from sqlalchemy import (
    REAL,
    Column,
    ColumnClause,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    SQLColumnExpression,
    String,
    Subquery,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.interfaces import LoaderOption

from ..infra import engines
from ..models import Photo, Tag, User, photo_tags
from .photos import sight, viewer_params, visible_for

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
_OPEN, _CLOSE = "\x02", "\x03"
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
    return Markup(escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))


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
class _Match:
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


class _IndexSearch:
    """Search over an index that says which rows match (``_match``); the rest is shared."""

    _built: dict[tuple[str, str], _Statements]  # by (category, visibility rule), per implementation

    def __init_subclass__(cls) -> None:
        cls._built = {}

    def _expression(self, query: str) -> str | None:
        raise NotImplementedError

    def _match(self, category: str) -> _Match:
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


# --- SQLite FTS5 --------------------------------------------------------------------------


def _fts5(table: str, rank: str, snippet: str) -> _Match:
    """The rows of an FTS5 table matching the ``MATCH`` parameter: rowid and rank; and a marked-up
    snippet for each row of the page alone (FTS5 makes one only in a query that matches: a
    match of the same words narrowed to that row). Made for every match, the snippets of
    the 14,814 photos of a common word took most of a 180 ms page.

    ``snippet`` names the markers as ``{open}`` and ``{close}``.
    """
    marked = snippet.format(open=f"'{_OPEN}'", close=f"'{_CLOSE}'")

    index = sql_table(table)  # a FROM that correlation understands (a text() one is not)

    def matching(*columns: Any) -> Select[Any]:
        return select(*columns).select_from(index).where(text(f"{table} MATCH :{MATCH}"))

    def newest(*columns: Any, limit: int = SEARCH_WINDOW) -> Select[Any]:  # FTS5 walks its matches by rowid
        return matching(*columns).order_by(literal_column("rowid").desc()).limit(limit)

    found = newest(literal_column("rowid").label("id"), literal_column(rank).label("rank")).subquery("matched")
    ids = newest(literal_column("rowid").label("id"), limit=SEARCH_WINDOW + 1).subquery("matched_ids")
    window = newest(literal_column("rowid").label("id")).subquery("window")

    def page_snippet(page: Any) -> ColumnElement[Any]:
        # One walk of the matches for the whole page, between its lowest and highest id, and a
        # snippet for the page's rows alone (the ``+`` keeps the ids a filter, not 20 separate
        # searches). A search per row rebuilt a prefix's list of matches every time: 1.2 ms
        # a row for a word on 15,000 photos.
        rowid: ColumnClause[int] = literal_column("rowid")
        snippets = (
            matching(rowid.label("id"), literal_column(marked).label("snippet"))
            .where(
                rowid.between(
                    select(func.min(page.c.id)).scalar_subquery(), select(func.max(page.c.id)).scalar_subquery()
                ),
                literal_column("+rowid").in_(select(page.c.id)),
            )
            .cte("snippets")
            .prefix_with("MATERIALIZED")  # once for the page, not a search per row
        )
        return select(snippets.c.snippet).where(snippets.c.id == page.c.id).scalar_subquery()

    return _Match(found, page_snippet, ids, window)


def _bm25(table: str, weights: Sequence[float] = ()) -> str:
    return f"bm25({', '.join([table, *map(str, weights)])})"


class Fts5Search(_IndexSearch):
    """SQLite FTS5: bm25 ranking, diacritics folded by the unicode61 tokenizer."""

    def _expression(self, query: str) -> str | None:
        return match_expression(query)

    def _match(self, category: str) -> _Match:
        if category == "photo":
            snippet = f"snippet(photos_fts, -1, {{open}}, {{close}}, '…', {PHOTO_SNIPPET_WORDS})"
            return _fts5("photos_fts", _bm25("photos_fts", PHOTO_WEIGHTS), snippet)
        if category == "user":
            snippet = f"snippet(users_fts, 2, {{open}}, {{close}}, '…', {USER_SNIPPET_WORDS})"  # column 2: the bio
            return _fts5("users_fts", _bm25("users_fts", USER_WEIGHTS), snippet)
        return _fts5("tags_fts", _bm25("tags_fts"), "highlight(tags_fts, 0, {open}, {close})")

    async def rebuild(self, session: AsyncSession) -> dict[str, int]:
        """Rebuild the three indexes from the tables (``hyperpics reindex``)."""
        await session.execute(text("INSERT INTO users_fts(users_fts) VALUES ('rebuild')"))
        await session.execute(text("INSERT INTO tags_fts(tags_fts) VALUES ('rebuild')"))
        await session.execute(text("DELETE FROM photos_fts"))
        await session.execute(
            text(
                "INSERT INTO photos_fts(rowid, description, alt_text, tags) "
                "SELECT p.id, p.description, p.alt_text, "
                "coalesce((SELECT group_concat(t.name, ' ') FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
                "WHERE pt.photo_id = p.id), '') FROM photos p"
            )
        )
        return {
            name: (await session.execute(text(f"SELECT count(*) FROM {name}_fts"))).scalar_one()
            for name in ("photos", "users", "tags")
        }


# --- PostgreSQL ---------------------------------------------------------------------------

# The documents (migration 0003): not models, so that autogenerate leaves them alone.
_documents = MetaData()
search_photos = Table(
    "search_photos", _documents, Column("photo_id", Integer, primary_key=True), Column("document", TSVECTOR)
)
search_users = Table(
    "search_users", _documents, Column("user_id", Integer, primary_key=True), Column("document", TSVECTOR)
)
search_tags = Table(
    "search_tags", _documents, Column("tag_id", Integer, primary_key=True), Column("document", TSVECTOR)
)

_CONFIG = literal_column("'hyperpics_search'::regconfig", REGCONFIG)
# Swapped for "<" around ts_headline, whose parser drops HTML tags: the snippet shows the
# text as typed (escaped later), "<b>" included, as FTS5's does.
_LT = "\x01"


def _pg_weights(weights: Sequence[float]) -> ColumnElement[Any]:
    """``ts_rank``'s weights ({D, C, B, A}, each at most 1) for columns weighted A, B, C."""
    top = max(weights)
    scaled = [0.1, *reversed([weight / top for weight in weights])]
    scaled += [1.0] * (4 - len(scaled))
    return literal_column(f"'{{{', '.join(f'{w:.4f}' for w in scaled)}}}'::real[]")


def _headline_options(**options: object) -> str:
    return ", ".join(f"{key}={value}" for key, value in {"StartSel": _OPEN, "StopSel": _CLOSE, **options}.items())


class PostgresSearch(_IndexSearch):
    """PostgreSQL: ``tsvector`` documents with GIN indexes, ``ts_rank``, ``ts_headline``."""

    def _expression(self, query: str) -> str | None:
        return tsquery_expression(query)

    def _match(self, category: str) -> _Match:
        query = func.to_tsquery(_CONFIG, bindparam(MATCH, type_=String))

        def found(table: Table, weights: Sequence[float]) -> Subquery:
            document = table.c.document
            rank = func.ts_rank(_pg_weights(weights), document, query, 1, type_=REAL)  # 1: / (1 + log length)
            matching = document.op("@@")(query)
            newest = select(table.c[0].label("id"), (-rank).label("rank")).where(matching)
            return newest.order_by(table.c[0].desc()).limit(SEARCH_WINDOW).subquery("found")

        def ids(table: Table, limit: int = SEARCH_WINDOW + 1) -> Subquery:
            newest = select(table.c[0].label("id")).where(table.c.document.op("@@")(query))
            return newest.order_by(table.c[0].desc()).limit(limit).subquery(f"found_{limit}")

        def match(table: Table, weights: Sequence[float], snippet: Callable[[Any], ColumnElement[Any]]) -> _Match:
            return _Match(found(table, weights), snippet, ids(table), ids(table, SEARCH_WINDOW))

        def headline(body: SQLColumnExpression[str], **options: object) -> Callable[[Subquery], ColumnElement[Any]]:
            """ts_headline over ``body`` (a column of the page's rows), "<" kept as typed."""
            marked = func.ts_headline(_CONFIG, func.replace(body, "<", _LT), query, _headline_options(**options))
            return lambda page: func.replace(marked, _LT, "<")

        if category == "photo":
            names = (
                select(func.string_agg(Tag.name, aggregate_order_by(literal(" "), Tag.name)))
                .join(photo_tags, photo_tags.c.tag_id == Tag.id)
                .where(photo_tags.c.photo_id == Photo.id)
                .correlate(Photo)
                .scalar_subquery()
            )
            # The text FTS5 indexes: description, alt text, tag names.
            body = func.concat_ws(" · ", func.nullif(Photo.description, ""), func.nullif(Photo.alt_text, ""), names)
            words = PHOTO_SNIPPET_WORDS
            snippet = headline(body, MaxWords=words, MinWords=words // 2, MaxFragments=1)
            return match(search_photos, PHOTO_WEIGHTS, snippet)
        if category == "user":
            words = USER_SNIPPET_WORDS
            snippet = headline(User.bio, MaxWords=words, MinWords=words // 2, MaxFragments=1)  # the bio, as FTS5's
            return match(search_users, USER_WEIGHTS, snippet)
        return match(search_tags, (1.0,), headline(Tag.name, HighlightAll="true"))

    async def rebuild(self, session: AsyncSession) -> dict[str, int]:
        """Rebuild the three tables of documents from the tables (``hyperpics reindex``)."""
        # The document functions are the triggers' own (migration 0003).
        sources = {
            "photos": (
                search_photos,
                Photo.id,
                func.search_photo_document(Photo.id, Photo.description, Photo.alt_text),
            ),
            "users": (search_users, User.id, func.search_user_document(User.username, User.name, User.bio)),
            "tags": (search_tags, Tag.id, func.search_tag_document(Tag.name)),
        }
        counts = {}
        for name, (table, key, document) in sources.items():
            await session.execute(delete(table))
            await session.execute(insert(table).from_select(list(table.c.keys()), select(key, document)))
            counts[name] = (await session.execute(select(func.count()).select_from(table))).scalar_one()
        return counts


def index_for(session: AsyncSession) -> SearchIndex:
    """The implementation for the database ``session`` reads."""
    assert session.bind is not None  # a session of Database.session: always bound
    return search_index(session.bind.dialect.name)


def search_index(dialect: str) -> SearchIndex:
    """The implementation for a database of ``dialect`` ("sqlite" or "postgresql")."""
    if dialect == "sqlite":
        return Fts5Search()
    if dialect == "postgresql":
        return PostgresSearch()
    raise ValueError(f"no search implementation for {dialect}")
