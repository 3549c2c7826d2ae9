"""Policy over the whole URL map: every route says who may use it, every unsafe method
checks CSRF, and no GET changes the database. New routes are covered automatically."""

from __future__ import annotations

import re

from hyperpics.auth import safe_next

from .conftest import Tab, make_user
from .databases import TestDatabase

ACCESS_LEVELS = {"public", "anonymous", "login", "confirmed", "permission", "fresh"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Framework routes with no view of ours.
EXEMPT = {"static"}


def fill(rule: str, username: str) -> str:
    """A concrete URL for a rule: ids 1, the test user's name, a bogus token."""

    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "", match.group(2)
        if "int" in converter:
            return "1"
        if name == "username":
            return username
        if name == "token":
            return "bogus.token.value"
        if "path" in converter or name == "filename":
            return "nothing.png"
        return "x"

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", value, rule)


def rules(app, methods: set[str]):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        if rule.methods & methods:
            yield rule


async def test_every_route_declares_who_may_use_it(app) -> None:
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access", None) not in ACCESS_LEVELS:
            undeclared.append(f"{rule.rule} ({rule.endpoint})")
    assert not undeclared, f"routes without an access declaration: {undeclared}"


async def test_every_unsafe_route_refuses_a_request_without_csrf_token(
    app, tab: Tab, database: TestDatabase
) -> None:
    await make_user(app, tab, "ana", role="Administrator")
    checked = 0
    for rule in rules(app, UNSAFE):
        url = fill(rule.rule, "ana")
        before = database.snapshot()
        for method in sorted(rule.methods & UNSAFE):
            response = await tab.client.open(url, method=method, form={"name": "x"})
            assert response.status_code == 400, f"{method} {url} answered {response.status_code}"
            checked += 1
        assert database.snapshot() == before, f"{rule.rule} changed the database without a CSRF token"
    assert checked >= 10
    # And the session is still alive: nothing logged it out.
    assert "Hello, Ana." in (await tab.get("/")).text


async def test_no_get_changes_the_database_and_none_fails(
    app, tab: Tab, new_tab, database: TestDatabase
) -> None:
    await make_user(app, tab, "ana")
    anonymous = new_tab()
    visited = 0
    for rule in rules(app, {"GET"}):
        url = fill(rule.rule, "ana")
        streams = getattr(app.view_functions[rule.endpoint], "streams", False)
        for client in (anonymous, tab):
            before = database.snapshot()
            if streams:
                status = await _open_stream(client, url)
            else:
                status = (await client.get(url)).status
            assert status < 500, f"GET {url} answered {status}"
            assert database.snapshot() == before, f"GET {url} changed the database"
            visited += 1
    assert visited >= 20


async def _open_stream(tab: Tab, url: str) -> int:
    """Open a never-ending response, read its first bytes, and hang up."""
    import asyncio

    async with tab.client.request(url) as connection:
        await connection.send_complete()
        try:
            await asyncio.wait_for(connection.receive(), timeout=2)
        except TimeoutError:
            pass
        status = connection.status_code or 200
        await connection.disconnect()
    return status


def test_next_parameter_stays_on_this_site() -> None:
    assert safe_next("/settings/password?x=1") == "/settings/password?x=1"
    hostile = ("https://evil.example/", "//evil.example", "javascript:alert(1)", "evil", "/\\evil.example", "/\tevil")
    for target in hostile:
        assert safe_next(target) == "/", target
