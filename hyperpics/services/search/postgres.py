"""Search on PostgreSQL: weighted ``tsvector`` documents, GIN-indexed, kept by the triggers of
migration 0003; ``ts_rank`` with the FTS5 columns' weights, ``ts_headline`` for the page's
rows only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    REAL,
    Column,
    ColumnElement,
    Integer,
    MetaData,
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
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from ...models import Photo, Tag, User, photo_tags
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
    tsquery_expression,
)

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
    markers = {"StartSel": SNIPPET_OPEN, "StopSel": SNIPPET_CLOSE}
    return ", ".join(f"{key}={value}" for key, value in {**markers, **options}.items())


class PostgresSearch(IndexSearch):
    """PostgreSQL: ``tsvector`` documents with GIN indexes, ``ts_rank``, ``ts_headline``."""

    def _expression(self, query: str) -> str | None:
        return tsquery_expression(query)

    def _match(self, category: str) -> Match:
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

        def match(table: Table, weights: Sequence[float], snippet: Callable[[Any], ColumnElement[Any]]) -> Match:
            return Match(found(table, weights), snippet, ids(table), ids(table, SEARCH_WINDOW))

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
