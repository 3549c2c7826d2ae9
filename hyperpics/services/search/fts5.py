"""Search on SQLite: FTS5 tables and triggers (migration 0002), bm25 ranking, diacritics
folded by the unicode61 tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Select,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession

from .base import (
    MATCH,
    PHOTO_SNIPPET_WORDS,
    PHOTO_WEIGHTS,
    SEARCH_WINDOW,
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
    USER_SNIPPET_WORDS,
    USER_WEIGHTS,
    IndexSearch,
    Match,
    match_expression,
)


def _fts5(table: str, rank: str, snippet: str) -> Match:
    """The rows of an FTS5 table matching the ``MATCH`` parameter: rowid and rank; and a marked-up
    snippet for each row of the page alone (FTS5 makes one only in a query that matches: a
    match of the same words narrowed to that row). Made for every match, the snippets of
    the 14,814 photos of a common word took most of a 180 ms page.

    ``snippet`` names the markers as ``{open}`` and ``{close}``.
    """
    marked = snippet.format(open=f"'{SNIPPET_OPEN}'", close=f"'{SNIPPET_CLOSE}'")

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

    return Match(found, page_snippet, ids, window)


def _bm25(table: str, weights: Sequence[float] = ()) -> str:
    return f"bm25({', '.join([table, *map(str, weights)])})"


class Fts5Search(IndexSearch):
    """SQLite FTS5: bm25 ranking, diacritics folded by the unicode61 tokenizer."""

    def _expression(self, query: str) -> str | None:
        return match_expression(query)

    def _match(self, category: str) -> Match:
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
