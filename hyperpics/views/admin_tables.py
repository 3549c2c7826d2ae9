"""How the admin tables are shown and addressed: their header rows and bulk actions, and
the query string that names one view of a table (sort, direction, filters, text, page).

What a table can be asked and how its page is loaded is the service's
(services/admin_tables.py); everything here is about the page and its URLs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..infra import numbers
from ..services import admin_tables as tables
from ..services import moderation_queue

Loader = Callable[..., Awaitable[tables.TablePage]]
Column = tuple[str | None, str]  # (the sort it asks for, or None; its label)


@dataclass(frozen=True)
class AdminTable:
    """One admin table: what it can be asked, how its page loads, and how it is shown."""

    spec: tables.TableSpec
    load: Loader
    columns: tuple[Column, ...]
    bulk: tuple[tuple[str, str], ...] = ()  # (action, label) for the checked rows

    def parse(self, args: Mapping[str, str]) -> tables.TableQuery:
        """The view a query string asks for; anything it cannot be falls back to the default."""
        spec = self.spec
        sort = args.get("sort", "")
        if sort not in spec.sorts:
            sort = spec.default_sort
        direction = args.get("dir", "")
        if direction not in ("asc", "desc"):
            direction = "asc" if sort in spec.ascending_first else "desc"
        filters = {}
        for name, allowed in spec.filters.items():
            value = args.get(name, "")
            filters[name] = value if value in allowed else ""
        page = numbers.page_number(args.get("page"))
        text = args.get("q", "").strip()[:100] if spec.searchable else ""
        return tables.TableQuery(spec, sort, direction == "desc", filters, text, page)


TABLES: dict[str, AdminTable] = {
    "users": AdminTable(
        tables.USERS,
        tables.users,
        columns=(
            ("username", "Member"),
            (None, "Role"),
            (None, "Status"),
            ("photos", "Photos"),
            ("reports", "Reports"),
            ("joined", "Joined"),
            (None, "Actions"),
        ),
        bulk=(
            ("confirm", "Confirm email"),
            ("lock", "Lock"),
            ("unlock", "Unlock"),
            ("block", "Block"),
            ("unblock", "Unblock"),
        ),
    ),
    "photos": AdminTable(
        tables.PHOTOS,
        tables.photos,
        columns=(
            (None, "Photo"),
            (None, "Description"),
            ("author", "Author"),
            (None, "Visible to"),
            ("collects", "Collects"),
            (None, "Comments"),
            ("reports", "Reports"),
            ("uploaded", "Uploaded"),
            (None, "Actions"),
        ),
        bulk=(("delete", "Delete"),),
    ),
    "comments": AdminTable(
        tables.COMMENTS,
        tables.comments,
        columns=(
            (None, "Comment"),
            ("author", "Author"),
            (None, "On"),
            ("reports", "Reports"),
            ("posted", "Posted"),
            (None, "Actions"),
        ),
        bulk=(("delete", "Delete"),),
    ),
    "tags": AdminTable(
        tables.TAGS,
        tables.tags,
        columns=(("name", "Tag"), ("photos", "Photos"), ("created", "Created"), (None, "Actions")),
        bulk=(("delete", "Delete"),),
    ),
    "reports": AdminTable(
        moderation_queue.REPORTS,
        moderation_queue.reports,
        columns=(
            (None, "Reported"),
            ("reports", "Reports"),
            (None, "Reasons"),
            (None, "Notes"),
            ("oldest", "First reported"),
            (None, "Actions"),
        ),
        bulk=(("dismiss", "Dismiss"), ("resolve", "Resolve (delete or block)")),
    ),
    "audit": AdminTable(
        moderation_queue.AUDIT,
        moderation_queue.audit_log,
        columns=(("time", "When"), (None, "Who"), (None, "Action"), (None, "Target"), (None, "Change")),
    ),
}


_FROM_QUERY = frozenset({"sort", "descending", "filters", "text", "page", "filtered", "spec"})


@dataclass(frozen=True)
class TableView:
    """One view of a table as its page shows it (``query`` in the templates): the query's
    values, the table's header and bulk actions, and the URLs and ARIA values built from them."""

    query: tables.TableQuery
    table: AdminTable

    def __getattr__(self, name: str) -> Any:
        if name in _FROM_QUERY:
            return getattr(self.query, name)
        raise AttributeError(name)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.table.columns

    @property
    def bulk(self) -> tuple[tuple[str, str], ...]:
        return self.table.bulk

    @property
    def searchable(self) -> bool:
        return self.query.spec.searchable

    def args(self, **changes: Any) -> dict[str, str]:
        """The query string for this view of the table with ``changes`` (defaults left out)."""
        query, spec = self.query, self.query.spec
        values: dict[str, Any] = {
            "sort": query.sort,
            "dir": "desc" if query.descending else "asc",
            **query.filters,
            "q": query.text,
            "page": query.page,
        }
        values.update(changes)
        if values["sort"] == spec.default_sort and values["dir"] == (
            "asc" if spec.default_sort in spec.ascending_first else "desc"
        ):
            values.pop("sort")
            values.pop("dir")
        if str(values.get("page")) == "1":
            values.pop("page")
        return {key: str(value) for key, value in values.items() if value not in ("", None)}

    def url(self, path: str, **changes: Any) -> str:
        query = urlencode(self.args(**changes))
        return f"{path}?{query}" if query else path

    def sorted_by(self, column: str) -> dict[str, str]:
        """Args for clicking a header: that column, flipping direction if it is the current one."""
        if column == self.query.sort:
            direction = "asc" if self.query.descending else "desc"
        else:
            direction = "asc" if column in self.query.spec.ascending_first else "desc"
        return self.args(sort=column, dir=direction, page=1)

    def aria_sort(self, column: str) -> str:
        if column != self.query.sort:
            return "none"
        return "descending" if self.query.descending else "ascending"
