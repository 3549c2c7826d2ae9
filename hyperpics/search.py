"""Full-text search over photos, people and tags, behind one small interface.

``SearchIndex`` is what views call; ``Fts5Search`` implements it on SQLite's FTS5 (tables and
triggers created by the migration ``0002``). A PostgreSQL implementation (generated
tsvector + GIN + websearch_to_tsquery) can sit beside it, chosen by ``search_index()``,
without touching callers.

User input never reaches MATCH as syntax: words are extracted, each one quoted, and the
last one becomes a prefix ("sun" finds "sunset"). Quotes, ``*``, ``-``, ``NEAR``,
``AND``/``OR``, parentheses and ``column:`` filters are thereby plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from markupsafe import Markup, escape
from sqlalchemy import and_, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from .models import Photo, Tag, User, photo_tags
from .services.photos import visible_to

PER_PAGE = 20
MAX_TERMS = 12
MAX_TERM_LENGTH = 64
MAX_QUERY_LENGTH = 200
CATEGORIES = ("photo", "user", "tag")

# Snippet markers: control characters no one types, swapped for <mark> after escaping.
_OPEN, _CLOSE = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def match_expression(query: str) -> str | None:
    """A safe FTS5 MATCH string for free text, or None when it holds no word."""
    words = [word[:MAX_TERM_LENGTH] for word in _WORD.findall(query[:MAX_QUERY_LENGTH])]
    words = [word for word in words if word.strip("_")][:MAX_TERMS]
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"  # prefix on the last word: results while typing
    return " ".join(quoted)


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


class SearchIndex(Protocol):
    async def search(
        self, session: AsyncSession, viewer: User | None, query: str, category: str, page: int, per_page: int = PER_PAGE
    ) -> Results: ...

    async def rebuild(self, session: AsyncSession) -> dict[str, int]: ...


def _matches(table: str, rank: str, snippet: str):  # type: ignore[no-untyped-def]
    """The rows of an FTS5 table matching ``:match``: rowid, rank and a marked-up snippet.

    ``snippet`` names the markers as ``{open}`` and ``{close}``.
    """
    marked = snippet.format(open=f"'{_OPEN}'", close=f"'{_CLOSE}'")
    return (
        select(
            literal_column("rowid").label("id"),
            literal_column(rank).label("rank"),
            literal_column(marked).label("snippet"),
        )
        .select_from(text(table))
        .where(text(f"{table} MATCH :match"))
        .subquery("matched")
    )


class Fts5Search:
    """SQLite FTS5: bm25 ranking, diacritics folded by the unicode61 tokenizer."""

    async def search(
        self, session: AsyncSession, viewer: User | None, query: str, category: str, page: int, per_page: int = PER_PAGE
    ) -> Results:
        if category not in CATEGORIES:
            category = "photo"
        expression = match_expression(query)
        if expression is None:
            return Results(category, [], 0, 1, 1)
        page = max(page, 1)
        if category == "photo":
            return await self._photos(session, viewer, expression, page, per_page)
        if category == "user":
            return await self._users(session, expression, page, per_page)
        return await self._tags(session, viewer, expression, page, per_page)

    async def _page(self, session, count_query, rows_query, page: int, per_page: int):  # type: ignore[no-untyped-def]
        total = (await session.execute(count_query)).scalar_one()
        pages = max(1, -(-total // per_page))
        page = min(page, pages)
        rows = (await session.execute(rows_query.limit(per_page).offset((page - 1) * per_page))).all()
        return total, page, pages, rows

    async def _photos(self, session, viewer, expression, page, per_page) -> Results:  # type: ignore[no-untyped-def]
        matched = _matches(
            "photos_fts", "bm25(photos_fts, 2.0, 1.0, 1.5)", "snippet(photos_fts, -1, {open}, {close}, '…', 16)"
        )
        visible = and_(visible_to(viewer), User.active.is_(True))
        base = (
            select(Photo, matched.c.snippet).join(matched, matched.c.id == Photo.id).join(Photo.author).where(visible)
        )
        count = (
            select(func.count())
            .select_from(Photo)
            .join(matched, matched.c.id == Photo.id)
            .join(Photo.author)
            .where(visible)
        )
        rows_query = base.options(joinedload(Photo.author)).order_by(matched.c.rank, Photo.id.desc())
        total, page, pages, rows = await self._page(
            session, count.params(match=expression), rows_query.params(match=expression), page, per_page
        )
        return Results("photo", [Hit(row[0], highlight(row[1])) for row in rows], total, page, pages)

    async def _users(self, session, expression, page, per_page) -> Results:  # type: ignore[no-untyped-def]
        matched = _matches(
            "users_fts", "bm25(users_fts, 3.0, 2.0, 1.0)", "snippet(users_fts, 2, {open}, {close}, '…', 12)"
        )
        active = User.active.is_(True)  # blocked people are not found
        base = select(User, matched.c.snippet).join(matched, matched.c.id == User.id).where(active)
        count = select(func.count()).select_from(User).join(matched, matched.c.id == User.id).where(active)
        total, page, pages, rows = await self._page(
            session,
            count.params(match=expression),
            base.order_by(matched.c.rank, User.id).params(match=expression),
            page,
            per_page,
        )
        return Results("user", [Hit(row[0], highlight(row[1])) for row in rows], total, page, pages)

    async def _tags(self, session, viewer, expression, page, per_page) -> Results:  # type: ignore[no-untyped-def]
        matched = _matches("tags_fts", "bm25(tags_fts)", "highlight(tags_fts, 0, {open}, {close})")
        photos = (
            select(func.count())
            .select_from(photo_tags)
            .join(Photo, Photo.id == photo_tags.c.photo_id)
            .where(photo_tags.c.tag_id == Tag.id, visible_to(viewer))
            .correlate(Tag)
            .scalar_subquery()
        )
        # A tag is found only when the viewer can see at least one photo carrying it:
        # its name alone would tell of someone's private photos.
        seen = photos > 0
        base = select(Tag, matched.c.snippet, photos.label("photos")).join(matched, matched.c.id == Tag.id).where(seen)
        count = select(func.count()).select_from(Tag).join(matched, matched.c.id == Tag.id).where(seen)
        total, page, pages, rows = await self._page(
            session,
            count.params(match=expression),
            base.order_by(matched.c.rank, Tag.name).params(match=expression),
            page,
            per_page,
        )
        return Results("tag", [Hit((row[0], row[2]), highlight(row[1])) for row in rows], total, page, pages)

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
        counts = {}
        for table in ("photos_fts", "users_fts", "tags_fts"):
            counts[table] = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        return counts


def search_index(dialect: str | None = None) -> SearchIndex:
    """The implementation for the configured database."""
    if dialect is None:
        from quart import current_app

        dialect = "sqlite" if current_app.config["DATABASE_URL"].startswith("sqlite") else "postgresql"
    if dialect == "sqlite":
        return Fts5Search()
    raise SearchError(f"no search implementation for {dialect} yet")
