"""CSRF: every unsafe request needs the session's token and must come from this site."""

from __future__ import annotations

from .conftest import PASSWORD, Tab, fetch_user, register
from .html import elements


async def test_missing_or_wrong_token_is_400_and_changes_nothing(app, tab: Tab) -> None:
    await tab.get("/auth/register")
    data = {"name": "Ana", "email": "ana@example.com", "username": "ana", "password": PASSWORD, "password2": PASSWORD}

    missing = await tab.post("/auth/register", data, csrf=False)
    assert missing.status == 400
    assert "The form has expired or did not come from this site" in missing.text
    assert "<html" in missing.text  # a real error page, not a 500

    wrong = await tab.post("/auth/register", data, csrf="forged-token")
    assert wrong.status == 400
    assert await fetch_user(app, "ana") is None


async def test_htmx_sends_the_token_in_a_header(app, tab: Tab) -> None:
    await tab.get("/auth/register")
    page = await tab.post(
        "/auth/register",
        {"name": "Ana", "email": "ana@example.com", "username": "ana", "password": PASSWORD, "password2": PASSWORD},
        csrf=False,
        htmx=True,
        headers={"X-CSRF-Token": tab.csrf},
    )
    assert page.status == 200 and page.headers["HX-Redirect"] == "/auth/login"
    assert await fetch_user(app, "ana") is not None


async def test_htmx_request_without_token_gets_an_error_fragment(app, tab: Tab) -> None:
    await tab.get("/")
    page = await tab.post("/auth/logout", csrf=False, htmx=True)
    assert page.status == 400 and page.is_fragment()
    assert page.headers["HX-Retarget"] == "#flashes"
    assert elements(page.text, '[data-status="400"]')


async def test_a_token_from_another_session_is_refused(app, tab: Tab, new_tab) -> None:
    other = new_tab()
    await other.get("/")
    await tab.get("/auth/register")
    page = await tab.post(
        "/auth/register",
        {"name": "Ana", "email": "ana@example.com", "username": "ana", "password": PASSWORD, "password2": PASSWORD},
        csrf=other.csrf,
    )
    assert page.status == 400
    assert await fetch_user(app, "ana") is None


async def test_cross_site_requests_are_refused_even_with_a_token(app, tab: Tab) -> None:
    await register(tab, "ana")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        page = await tab.post("/auth/logout", headers=headers)
        assert page.status == 400, headers
        assert "another site" in page.text
    # Still logged in.
    assert "Hello, Ana." in (await tab.get("/")).text
    same = await tab.post("/auth/logout", headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert same.status == 303


async def test_logout_rotates_the_token(app, tab: Tab) -> None:
    await register(tab, "ana")
    await tab.get("/")
    before = tab.csrf
    assert before
    await tab.post("/auth/logout")
    await tab.get("/")
    assert tab.csrf and tab.csrf != before


async def test_a_token_with_non_ascii_characters_is_refused_not_an_error(app, tab) -> None:  # type: ignore[no-untyped-def]
    """Found by the fuzz pass: hmac.compare_digest raised on such a str, and the answer was 500."""
    await tab.get("/")
    for sent in ("²", "café", "🙂" * 10):
        page = await tab.post("/auth/login", {"email": "a@example.com", "password": "x"}, csrf=sent)
        assert page.status == 400
        page = await tab.post(
            "/auth/login", {"email": "a@example.com", "password": "x"}, csrf=False, headers={"X-CSRF-Token": sent}
        )
        assert page.status == 400
