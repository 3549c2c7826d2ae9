"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from quart import Quart
from sqlalchemy import event, select

from hyperpics.infra.db import database
from hyperpics.models import Photo, User
from hyperpics.web.page_cache import forget_all

from .conftest import Page, Tab, make_user
from .html import by_id, element, elements

# Who is asking, and the columns that make them so (None: not logged in).
VISITORS: dict[str, dict[str, object] | None] = {
    "anonymous": None,
    "unconfirmed": {"confirmed": False},
    "locked": {"role": "Locked", "locked": True},
    "blocked": {"active": False},
    "user": {},
    "moderator": {"role": "Moderator"},
    "administrator": {"role": "Administrator"},
}


# Whose session is gone by the time they act (a blocked member's ends on the next request).
LOGGED_OUT = {"anonymous", "blocked"}


async def assert_turned_away(
    tab: Tab,
    kind: str,
    path: str,
    plain: Page,
    *,
    from_page: str,
    data: dict[str, str] | None = None,
    message: str = "Please confirm your email address first.",
) -> None:
    """How a visitor of ``kind`` who may not post to ``path`` is answered, with and without
    htmx (``plain`` is the answer to the plain form post): logged-out visitors are sent to
    log in (htmx: back to ``from_page`` afterwards); the others get a 403 saying ``message``,
    shown in the message region."""
    if kind in LOGGED_OUT:
        assert plain.status == 302, (kind, plain.status)
        assert plain.location == f"/auth/login?next={path}"
        htmx = await tab.post(path, data, htmx=True, headers={"HX-Current-URL": f"http://localhost{from_page}"})
        assert htmx.headers.get("HX-Redirect") == f"/auth/login?next={from_page}", htmx.headers
        assert htmx.status < 400 and "<html" not in htmx.text
    else:
        assert plain.status == 403, (kind, plain.status)
        assert message in plain.text
        htmx = await tab.post(path, data, htmx=True)
        assert htmx.status == 403 and htmx.is_fragment()
        assert htmx.headers["HX-Retarget"] == "#flashes"  # errors show in the message region


async def visitor(app: Quart, kind: str) -> Tab:
    """A tab for one kind of VISITORS, registered (and logged in) under the kind's name."""
    tab = Tab(app)
    values = VISITORS[kind]
    if values is None:
        return tab
    values = dict(values)
    confirmed = bool(values.pop("confirmed", True))
    await make_user(app, tab, kind, confirmed=confirmed, **values)
    return tab


async def logged_in(app: Quart, *names: str, roles: dict[str, str] | None = None) -> dict[str, Tab]:
    """Members ``names``, each logged in on a tab of their own (``roles``: by name, for the
    few who are not plain members): the cast most social tests start from."""
    tabs: dict[str, Tab] = {}
    for name in names:
        tabs[name] = Tab(app)
        role = (roles or {}).get(name)
        await make_user(app, tabs[name], name, **({"role": role} if role else {}))
    return tabs


async def fetch_photo(app: Quart, photo_id: int) -> Photo:
    """A photo row as the database has it now."""
    async with database(app).session(write=False) as session:
        photo = await session.get(Photo, photo_id)
        assert photo is not None, photo_id
        return photo


async def user_ids(app: Quart) -> dict[str, int]:
    async with database(app).session(write=False) as session:
        return {u.username: u.id for u in (await session.execute(select(User))).scalars()}


def people_on(html: str) -> list[int]:
    """The user ids of a people list, in order."""
    return [
        int(li["id"].removeprefix("person-")) for li in elements(html, "li[id^=person-]") if li.get("class") == "person"
    ]


def follow_buttons(page: str) -> list[tuple[str, str]]:
    """Each follow button on the page as (aria-pressed, label), e.g. ("true", "Following")."""
    return [(button["aria-pressed"], button.text) for button in elements(page, "button.follow-button")]


def relationship(page: str) -> str | None:
    """The badge saying how the viewer and the person are related ("Follows you"), if any."""
    badges = elements(page, "span.badge.relationship")
    assert len(badges) <= 1, badges
    return badges[0].text if badges else None


def text_of(html: str) -> str:
    """What a reader sees: the tags dropped, the spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def comment_count(page: str, *, swapped: bool = False) -> str:
    """The comment count a photo page shows, or that an htmx answer or a stream event swaps
    into it (``swapped``: out of band, by its id)."""
    count = by_id(page, "comment-count")
    expected = {"id": "comment-count", **({"hx-swap-oob": "true"} if swapped else {})}
    assert count.tag == "span" and count.attrs == expected, count.attrs
    return count.text


def swapped_out(page: str) -> list[str]:
    """The ids of what an answer tells htmx to remove, in order (each an empty <li>)."""
    found = elements(page, "[hx-swap-oob=delete]")
    assert all(item.tag == "li" and item.children == [] and item.attrs["hx-swap-oob"] == "delete" for item in found), (
        page
    )
    return [item["id"] for item in found]


def bell(page: str, *, swapped: bool = False) -> tuple[bool, int]:
    """(hidden, count) of the notification bell: the nav's, or the one an answer or a stream
    event swaps in (``swapped``: out of band, by its id)."""
    found = by_id(page, "bell-count")
    expected = {"class": "badge", "id": "bell-count", **({"hx-swap-oob": "true"} if swapped else {})}
    shown = {name: value for name, value in found.attrs.items() if name != "hidden"}
    assert found.tag == "span" and shown == expected and found.get("hidden", "") == "", found.attrs
    assert found.text.isdigit(), found.text
    return found.has("hidden"), int(found.text)


def current_page(page: str) -> str:
    """The number the pagination marks as the page shown."""
    return element(page, "span[aria-current=page]").text


def near(pixel: tuple, color: tuple, tolerance: int = 45) -> bool:
    """Two colours are the same to the eye (JPEG moves them a little)."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color[:3], strict=True))


@contextmanager
def counting(app: Quart, *, forget_pages: bool = True) -> Iterator[list[str]]:
    """Collect the SQL statements the app's engine runs inside the block (not BEGIN/COMMIT...).

    Pages kept for anonymous visitors are forgotten first: the count is of the page's real
    work, not of a copy served from memory (tests/test_page_cache.py counts those)."""
    statements: list[str] = []
    engine = database(app).engine.sync_engine
    if forget_pages:
        forget_all(app)

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
