"""Roles, permissions and the route guards, for every kind of visitor."""

from __future__ import annotations

import pytest
from quart import Blueprint

from hyperpics import create_app
from hyperpics.models import Permission, RoleName
from hyperpics.web.auth import confirmed_required, fresh_login_required, login_required, permission_required

from .conftest import Tab, make_user
from .helpers import VISITORS
from .html import elements, find_id, texts

# Albumy's matrix (the role rows come from migrations 0001 and 0010): Locked keeps FOLLOW and
# COLLECT (and may report), loses COMMENT and UPLOAD.
EXPECTED = {
    RoleName.LOCKED: {Permission.FOLLOW, Permission.COLLECT, Permission.REPORT},
    RoleName.USER: {Permission.FOLLOW, Permission.COLLECT, Permission.REPORT, Permission.COMMENT, Permission.UPLOAD},
    RoleName.MODERATOR: {
        Permission.FOLLOW,
        Permission.COLLECT,
        Permission.REPORT,
        Permission.COMMENT,
        Permission.UPLOAD,
        Permission.MODERATE,
    },
    RoleName.ADMINISTRATOR: set(Permission),
}


def _guarded_blueprint() -> Blueprint:
    bp = Blueprint("guarded", __name__)

    @bp.route("/_test/login", methods=["GET"])
    @login_required
    async def needs_login() -> str:
        return "ok"

    @bp.route("/_test/confirmed", methods=["GET"])
    @confirmed_required
    async def needs_confirmation() -> str:
        return "ok"

    @bp.route("/_test/fresh", methods=["GET"])
    @fresh_login_required
    async def needs_fresh_login() -> str:
        return "ok"

    for permission in Permission:

        async def view() -> str:
            return "ok"

        view.__name__ = f"perm_{permission.name.lower()}"
        bp.route(f"/_test/perm/{permission.name.lower()}", methods=["GET"])(permission_required(permission)(view))
    return bp


@pytest.fixture
async def guarded_app(app_config, tmp_path):  # type: ignore[no-untyped-def]
    application = create_app(app_config, instance_path=tmp_path / "instance")
    application.register_blueprint(_guarded_blueprint())
    async with application.test_app():
        yield application


async def test_role_rows_match_albumys_matrix(app) -> None:
    from sqlalchemy import select

    from hyperpics.infra.db import database
    from hyperpics.models import Role

    async with database(app).session(write=False) as session:
        roles = {role.name: role for role in (await session.execute(select(Role))).scalars()}
    assert set(roles) == {name.value for name in RoleName}
    for name, granted in EXPECTED.items():
        for permission in Permission:
            assert roles[name.value].grants(permission) == (permission in granted), (name, permission)


# Who is asking, and how to make them.

ALLOWED = {
    "anonymous": set(),
    "unconfirmed": set(),  # every user permission needs a confirmed address
    "locked": EXPECTED[RoleName.LOCKED],
    "blocked": set(),
    "user": EXPECTED[RoleName.USER],
    "moderator": EXPECTED[RoleName.MODERATOR],
    "administrator": EXPECTED[RoleName.ADMINISTRATOR],
}


async def _visitor(app, kind: str) -> Tab:  # type: ignore[no-untyped-def]
    tab = Tab(app)
    values = VISITORS[kind]
    if values is None:
        return tab
    values = dict(values)
    confirmed = values.pop("confirmed", True)
    await make_user(app, tab, kind, confirmed=confirmed, **values)
    return tab


@pytest.mark.parametrize("kind", list(VISITORS))
async def test_permission_matrix_over_http(guarded_app, kind: str) -> None:
    tab = await _visitor(guarded_app, kind)
    for permission in Permission:
        page = await tab.get(f"/_test/perm/{permission.name.lower()}")
        if permission in ALLOWED[kind]:
            assert page.status == 200 and page.text == "ok", (kind, permission)
        elif kind in {"anonymous", "blocked"}:
            # Not logged in (a blocked user's session ends): sent to the login page.
            assert page.status == 302 and page.location.startswith("/auth/login?next="), (kind, permission)
        else:
            assert page.status == 403, (kind, permission, page.status)


async def test_unconfirmed_users_are_told_to_confirm(guarded_app) -> None:
    tab = await _visitor(guarded_app, "unconfirmed")
    page = await tab.get("/_test/perm/upload")
    assert page.status == 403 and "Please confirm your email address first." in page.text
    assert (await tab.get("/_test/confirmed")).status == 403
    assert (await tab.get("/_test/login")).status == 200


async def test_locked_users_are_told_why(guarded_app) -> None:
    tab = await _visitor(guarded_app, "locked")
    page = await tab.get("/_test/perm/comment")
    assert page.status == 403 and "Your account is locked" in page.text
    assert (await tab.get("/_test/perm/follow")).status == 200


async def test_anonymous_is_sent_to_login_and_back(guarded_app) -> None:
    tab = Tab(guarded_app)
    page = await tab.get("/_test/login")
    assert page.status == 302 and page.location == "/auth/login?next=/_test/login"
    htmx = await tab.get("/_test/perm/follow", htmx=True, headers={"HX-Current-URL": "http://localhost/some/page?x=1"})
    assert htmx.headers["HX-Redirect"] == "/auth/login?next=/some/page?x%3D1"


async def test_fresh_guard_sends_stale_sessions_to_reauthenticate(guarded_app) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hyperpics.infra.db import database
    from hyperpics.models import AuthSession, utcnow

    tab = await _visitor(guarded_app, "user")
    assert (await tab.get("/_test/fresh")).status == 200
    async with database(guarded_app).session(write=True) as session:
        await session.execute(update(AuthSession).values(last_fresh_at=utcnow() - timedelta(minutes=11)))
        await session.commit()
    page = await tab.get("/_test/fresh")
    assert page.status == 302 and page.location == "/auth/re-authenticate?next=/_test/fresh"
    htmx = await tab.get("/_test/fresh", htmx=True, headers={"HX-Current-URL": "http://localhost/_test/fresh"})
    assert htmx.headers["HX-Redirect"] == "/auth/re-authenticate?next=/_test/fresh"


async def test_an_unconfirmed_member_asking_to_upload_is_told_what_to_do(app) -> None:  # type: ignore[no-untyped-def]
    """Not a bare 403: a page that says what it takes (the mailed link), where it was sent,
    and where to go meanwhile; htmx gets the same words in the message region."""
    from .conftest import Tab, make_user

    tab = await make_user(app, Tab(app), "ana", confirmed=False)
    page = await tab.get("/upload")
    assert page.status == 403
    assert "Confirm your email address" in texts(page.text, "h1")
    assert not elements(page.text, '[class="error-code"]')
    assert "Please confirm your email address first." in page.text and "ana@example.com" in page.text
    assert find_id(page.text, "confirm-notice")  # its Resend button
    assert "Look around meanwhile" in page.text
    fragment = await tab.get("/upload", htmx=True)
    assert fragment.status == 403 and fragment.headers["HX-Retarget"] == "#flashes"
    assert "Please confirm your email address first." in fragment.text
