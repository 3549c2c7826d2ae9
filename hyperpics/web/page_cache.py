"""Pages as every anonymous visitor sees them, rendered once and served from memory.

An anonymous visitor's page differs from another's only by what their session carries:
messages waiting to be shown (flash) and the CSRF token. A view marked
:func:`shared_for_anonymous` is answered from the cache for a visitor with no login and no
pending message, and its page is rendered without the layout's token (``g.shared_page``;
no form there needs one: anonymous visitors get links to log in). A page that asked for a
token anyway (a form), changed the session or answered anything but 200 is not kept.

Freshness: every table has a version, moved on by each commit that wrote to it (a commit
hook). An entry is stored with the versions of the tables it was made from, read *before* the
view read the database, and is served only while they are the same: a page rendered before a
change is never served after it. :func:`remember` keeps values the same way (the hot tags,
made from three tables, survive a comment), and :func:`kept_read` what members' pages read
that is the same for everyone (a photo, its comments, a tag's or an author's photos). The
versions live in the shared store (Redis with several workers, so a comment posted through one
worker retires every worker's copies); what they guard lives in each worker's memory, at most
``PAGE_CACHE_SECONDS`` old, which bounds what a change made outside any request (a command run
on the database) leaves visible. If the versions cannot be read (Redis away), nothing is served
from the cache or stored in it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

from quart import Quart, Response, current_app, g, has_request_context, request, session
from quart.wrappers.response import DataBody
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra import db, shared
from ..models import Base
from . import htmx

P = ParamSpec("P")
T = TypeVar("T")
View = Callable[P, Awaitable[Response]]

# What anonymous pages are made from (notifications, reports, the audit log and login
# sessions are never shown to them): writing to any other table keeps their copies.
PAGE_TABLES = ("users", "roles", "photos", "tags", "photo_tags", "follows", "collects", "comments")
ANY_TABLE = "*"  # a statement whose table could not be told (engines.WRITTEN_TABLES_KEY)
ALL_TABLES = tuple(sorted(Base.metadata.tables))
MAX_ENTRIES = 2_000
MAX_BYTES = 64 * 1024 * 1024


Versions = tuple[int, ...]
_VERSIONS_READ = "_table_versions"  # on g: the versions this request has read


@dataclass(frozen=True)
class Entry:
    versions: Versions
    stored_at: float
    value: Any
    size: int


class PageCache:
    """Entries by key (a page: its URL and htmx headers), newest last, bounded in count and size."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Any, ...], versions: Versions, seconds: float | None = None) -> Entry | None:
        """The entry for ``key`` while it was made from ``versions``, and at most ``seconds``
        old (the cache's own limit unless given)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = time.monotonic() - entry.stored_at
        if entry.versions != versions or age > (self.seconds if seconds is None else seconds):
            self._drop(key)
            return None
        return entry

    def put(self, key: tuple[Any, ...], versions: Versions, value: Any, size: int) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = Entry(versions, time.monotonic(), value, size)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        self._bytes -= self._entries.pop(key).size

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


def page_cache(app: Quart | None = None) -> PageCache:
    return cast(PageCache, (app or current_app).extensions["hyperpics_page_cache"])


def value_cache(app: Quart | None = None) -> PageCache:
    """Values kept between requests: each member's viewer (viewer.py) and reads shared by all
    (:func:`recall`): apart from the pages, so that many of them cannot push the pages out."""
    return cast(PageCache, (app or current_app).extensions["hyperpics_value_cache"])


def forget_all(app: Quart | None = None) -> None:
    """Drop every kept page and value (tests count a page's own statements)."""
    page_cache(app).clear()
    value_cache(app).clear()


def _table_key(table: str) -> str:
    return f"table:{table}"


async def announce_changes(app: Quart) -> None:
    """New versions for the tables the commits since the last call wrote to: each request's
    own right after its commit (so its next page shows the change), and any other commit
    (background work, a test writing around the app) before versions are next read."""
    # Held while a bump is on its way: a reader arriving meanwhile waits for it, and so does
    # the request whose commit it announces, before that request answers.
    async with app.extensions["hyperpics_page_versions_lock"]:
        written = db.database(app).take_committed_tables()
        if ANY_TABLE in written:
            written = (written - {ANY_TABLE}) | set(ALL_TABLES)
        if written:
            await shared.store(app).bump([_table_key(table) for table in sorted(written)])
            if has_request_context():
                g.pop(_VERSIONS_READ, None)  # this request reads the new ones from now on


async def table_versions(tables: tuple[str, ...]) -> Versions | None:
    """The current versions of ``tables`` (None: they cannot be read just now).

    A request reads every table's version at its first call, in one read of the store (with
    Redis, a round trip and a sixth of a millisecond of the worker's CPU each), and goes on with
    those: an entry stored with versions older than what it was made from is only retired
    sooner. A commit of the request's own reads them again (announce_changes)."""
    app = current_app._get_current_object()
    await announce_changes(app)
    in_request = has_request_context()
    known: dict[str, int | None] | None = g.get(_VERSIONS_READ) if in_request else None
    if known is None or any(table not in known for table in tables):
        names = sorted({*tables, *ALL_TABLES})
        known = dict(zip(names, await shared.store().versions([_table_key(name) for name in names]), strict=True))
        if in_request:
            setattr(g, _VERSIONS_READ, known)
    found = [known[table] for table in tables]
    return None if any(version is None for version in found) else tuple(cast(list[int], found))


async def recall(name: Hashable, tables: tuple[str, ...]) -> tuple[Any, Versions | None]:
    """The value kept under ``name`` while ``tables`` are unchanged (None if there is none),
    and the versions to :func:`keep` a new one with: read before the caller reads the database.
    Nothing is kept or recalled in a request that has written: it would read its own changes,
    not yet committed, and an old value would miss them."""
    cache, key = value_cache(), ("value", name)
    current = db.request_session()
    writing = current is not None and db.is_writing(current)
    versions = await table_versions(tables) if cache.seconds > 0 and not writing else None
    entry = cache.get(key, versions) if versions is not None else None
    return (entry.value if entry is not None else None), versions


def keep(name: Hashable, versions: Versions | None, value: Any, size: int = 1) -> None:
    """Keep ``value`` under ``name``, made from tables at ``versions`` (from :func:`recall`).
    It is shared by every request: the same for everyone, and never mutated."""
    if versions is not None:
        value_cache().put(("value", name), versions, value, size)


async def kept_read[T](name: Hashable, tables: tuple[str, ...], read: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``read(session)``'s value, kept for every request while ``tables`` are unchanged.
    It reads on a session of its own (db.detached_reads), so what it loads is detached and
    never one of the request's own objects; it must be the same whoever asks. (None is never
    kept: it is read again each time.)"""
    value, versions = await recall(name, tables)
    if value is None:
        async with db.detached_reads(await db.session()) as reader:
            value = await read(reader)
        keep(name, versions, value)
    return cast(T, value)


async def remember(name: Hashable, tables: tuple[str, ...], make: Callable[[], Awaitable[Any]], size: int = 1) -> Any:
    """``make()``'s value, kept while ``tables`` are unchanged (and PAGE_CACHE_SECONDS at most).
    The value is shared by every request: it must be the same for everyone, and not mutated."""
    value, versions = await recall(name, tables)
    if value is None:
        value = await make()
        keep(name, versions, value, size)
    return value


def _key() -> tuple[Any, ...]:
    return ("page", request.path, request.query_string, *htmx.rendering_headers())


def _eligible() -> bool:
    return (
        request.method in {"GET", "HEAD"}
        and g.get("user") is None  # viewer.current_user(), without importing the login layer
        and "_flashes" not in session
        and page_cache().seconds > 0
    )


def shared_for_anonymous[**P](view: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Serve this view's page to anonymous visitors from the cache (see the module's notes)."""
    return _shared(view, samples=1)


def sampled_for_anonymous(samples: int) -> Callable[[View[P]], View[P]]:
    """For a page drawn at random (explore): anonymous visitors get one of ``samples`` kept
    drawings, picked at random each time, so that a reload most often shows another one;
    each is drawn again as the pages of :func:`shared_for_anonymous` are made again."""
    return lambda view: _shared(view, samples=samples)


def _shared[**P](view: Callable[P, Awaitable[Response]], samples: int) -> Callable[P, Awaitable[Response]]:
    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        if not _eligible():
            return await view(*args, **kwargs)
        cache, key = page_cache(), _key()
        if samples > 1 and not request.query_string:  # a page further on is the same for all
            key = (*key, _sample.randrange(samples))
        versions = await table_versions(PAGE_TABLES)
        if versions is not None and (entry := cache.get(key, versions)) is not None:
            body, headers = entry.value
            response = cast(Response, await current_app.make_response((body, 200, headers)))
            response.headers["X-Page-Cache"] = "hit"
            return response
        g.shared_page = True  # the layout leaves out the session's token
        response = cast(Response, await current_app.make_response(await view(*args, **kwargs)))
        if versions is not None and _keepable(response):
            body = await response.get_data()
            headers = [(name, value) for name, value in response.headers.items() if name.lower() != "set-cookie"]
            cache.put(key, versions, (body, headers), len(body))
        response.headers["X-Page-Cache"] = "miss"
        return response

    return wrapper


_sample = random.Random()  # which kept drawing of a sampled page a visitor gets: not a secret


def _keepable(response: Response) -> bool:
    return (
        response.status_code == 200
        and request.method == "GET"
        and not g.get("session_token_used")
        and not session.modified
        and "Set-Cookie" not in response.headers
        and isinstance(response.response, DataBody)  # a rendered page, not a stream or a file
    )


def init_app(app: Quart) -> None:
    app.extensions["hyperpics_page_cache"] = PageCache(float(app.config["PAGE_CACHE_SECONDS"]))
    app.extensions["hyperpics_value_cache"] = PageCache(float(app.config["PAGE_CACHE_SECONDS"]), max_entries=20_000)
    app.extensions["hyperpics_page_versions_lock"] = asyncio.Lock()

    async def _after_commit(_info: dict[str, Any]) -> None:
        await announce_changes(app)

    db.on_commit(app, _after_commit)
