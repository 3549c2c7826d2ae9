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

Both implementations share everything around their index (:class:`base.IndexSearch`): the
visibility rules, counting, paging, ordering and the ``Results``; each only says which rows
match, how they rank and how a row's snippet is made (:class:`base.Match`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from .base import (
    CATEGORIES,
    MAX_QUERY_LENGTH,
    PER_PAGE,
    SEARCH_WINDOW,
    TAG_COUNT_SHOWN,
    Hit,
    Results,
    SearchIndex,
    highlight,
    match_expression,
    search_words,
    tsquery_expression,
)
from .fts5 import Fts5Search
from .postgres import PostgresSearch

__all__ = [
    "CATEGORIES", "MAX_QUERY_LENGTH", "PER_PAGE", "SEARCH_WINDOW", "TAG_COUNT_SHOWN", "Fts5Search", "Hit",
    "PostgresSearch", "Results", "SearchIndex", "highlight", "index_for", "match_expression", "search_index",
    "search_words", "tsquery_expression",
]  # fmt: skip


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
