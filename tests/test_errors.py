"""Error pages: full pages for browsers, small fragments (into #flashes) for htmx."""

from __future__ import annotations

import pytest
from quart import Blueprint, abort

from hyperpics import create_app
from hyperpics.models import Permission
from hyperpics.web.auth import permission_required, public

from .conftest import Tab, register
from .html import element, elements


def _broken_blueprint() -> Blueprint:
    bp = Blueprint("broken", __name__)

    @bp.route("/_test/boom")
    @public
    async def boom() -> str:
        raise RuntimeError("kaboom")

    @bp.route("/_test/unprocessable")
    @public
    async def unprocessable() -> str:
        abort(422)

    @bp.route("/_test/moderate")
    @permission_required(Permission.MODERATE)
    async def moderate() -> str:
        return "ok"

    return bp


@pytest.fixture
async def error_app(app_config, tmp_path):  # type: ignore[no-untyped-def]
    app_config.update(RATE_LIMITS_ENABLED=True, MAX_UPLOAD_MB=1, MAX_UPLOAD_FILES=1)
    application = create_app(app_config, instance_path=tmp_path / "instance")
    application.register_blueprint(_broken_blueprint())
    async with application.test_app():
        yield application


async def _trigger(app, tab: Tab, code: int, *, htmx: bool):  # type: ignore[no-untyped-def]
    if code == 400:
        return await tab.post("/auth/logout", csrf=False, htmx=htmx)
    if code == 403:
        return await tab.get("/_test/moderate", htmx=htmx)
    if code == 404:
        return await tab.get("/no/such/page", htmx=htmx)
    if code == 405:
        return await tab.get("/auth/logout", htmx=htmx)
    if code == 413:
        await tab.get("/")
        # The token travels in the form, so the (too large) body has to be read.
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if htmx:
            headers["HX-Request"] = "true"
        body = f"csrf_token={tab.csrf}&padding=".encode() + b"x" * (3 * 1024 * 1024)
        response = await tab.client.post("/auth/logout", data=body, headers=headers)
        from .conftest import Page

        return await Page.of(response)
    if code == 422:
        return await tab.get("/_test/unprocessable", htmx=htmx)
    if code == 429:
        page = None
        for _ in range(6):  # five confirmation mails an hour
            page = await tab.post("/auth/resend-confirmation", htmx=htmx)
        return page
    if code == 500:
        return await tab.get("/_test/boom", htmx=htmx)
    raise AssertionError(code)


CODES = [400, 403, 404, 405, 413, 422, 429, 500]


@pytest.mark.parametrize("code", CODES)
async def test_error_pages_are_full_pages_for_browsers(error_app, code: int) -> None:
    tab = Tab(error_app)
    await register(tab, "ana")
    page = await _trigger(error_app, tab, code, htmx=False)
    assert page.status == code
    assert "<html" in page.text and elements(page.text, '[class="error-page"]')
    shown = element(page.text, "p.error-code")
    assert shown.attrs == {"class": "error-code"} and shown.text == str(code)
    assert "Traceback" not in page.text and "kaboom" not in page.text


@pytest.mark.parametrize("code", CODES)
async def test_error_fragments_for_htmx(error_app, code: int) -> None:
    tab = Tab(error_app)
    await register(tab, "ana")
    page = await _trigger(error_app, tab, code, htmx=True)
    assert page.status == code
    assert page.is_fragment()
    assert elements(page.text, f'[data-status="{code}"]')
    assert page.headers["HX-Retarget"] == "#flashes"
    assert page.headers["HX-Reswap"] == "afterbegin"


async def test_rate_limit_says_which_limit_and_when_to_retry(error_app) -> None:
    tab = Tab(error_app)
    await tab.get("/auth/register")
    for _ in range(121):
        page = await tab.post("/auth/register/check", {"username": "x"}, headers={"HX-Trigger-Name": "username"})
    assert page.status == 429
    assert "Too many checks: at most 120 per minute." in page.text
    assert int(page.headers["Retry-After"]) > 0
    assert "Try again in 1 minute" in page.text


async def test_permission_error_says_why(error_app) -> None:
    tab = Tab(error_app)
    await register(tab, "ana")
    page = await tab.get("/_test/moderate")
    assert page.status == 403 and "You don&#39;t have permission to do this." in page.text
