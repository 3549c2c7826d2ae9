"""Policy over the whole URL map: every route says who may use it, every unsafe method
checks CSRF, and no GET changes the database. New routes are covered automatically."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from hyperpics.models import ReportTarget
from hyperpics.web.auth import safe_next

from . import images
from .conftest import Tab, make_user
from .databases import TestDatabase
from .factories import add_comment, add_photo, add_report

ACCESS_LEVELS = {"public", "anonymous", "login", "confirmed", "permission", "fresh"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Framework routes with no view of ours (none since the static route answers through
# static_files.serve, which the rules below cover too).
EXEMPT: set[str] = set()


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


async def test_every_unsafe_route_refuses_a_request_without_csrf_token(app, tab: Tab, database: TestDatabase) -> None:
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


async def test_no_get_changes_the_database_and_none_fails(app, tab: Tab, new_tab, database: TestDatabase) -> None:
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


# What a form on any of our pages might send: were a GET or HEAD branch to act on its body,
# this body would make it act (confirmations, a new photo, details, a password, a role).
EVERY_FIELD = {
    "confirmed": "1",
    "description": "changed",
    "alt_text": "changed",
    "tags": "changed",
    "visibility": "private",
    "body": "a comment",
    "reason": "spam",
    "note": "x",
    "role": "Moderator",
    "name": "Changed",
    "username": "changed",
    "email": "changed@example.com",
    "website": "",
    "location": "",
    "bio": "",
    "password": "correct horse battery",
    "password2": "correct horse battery",
    "new_password": "another long passphrase",
    "new_password2": "another long passphrase",
    "current_password": "correct horse battery",
    "remember": "y",
    "ids": "1",
    "action": "delete",
}


def _media_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


async def test_safe_methods_never_change_state_whatever_the_body(
    app, tab: Tab, new_tab, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    """GET and HEAD, with a body that would make a POST succeed and the CSRF token, sent by
    an administrator who owns everything at id 1: nothing in the database or on disk moves.
    (HEAD once deleted a photo and created one: views took any method but GET for a POST.)"""
    await make_user(app, tab, "ana", role="Administrator")
    bob = await make_user(app, new_tab(), "bob")
    photo = await add_photo(app, "ana", tags=["sea"])
    comment = await add_comment(app, "bob", photo, "hello")
    await add_report(app, "bob", ReportTarget.PHOTO, photo)
    assert photo == comment == 1
    await tab.get("/")  # ana's token; bob sends it too (a GET is never CSRF-checked anyway)
    fields = MultiDict([("csrf_token", tab.csrf), *EVERY_FIELD.items()])
    fields.add("photos", FileStorage(io.BytesIO(images.jpeg(64, 48)), filename="new.jpg", content_type="image/jpeg"))
    fields.add("avatar", FileStorage(io.BytesIO(images.jpeg(64, 48)), filename="me.jpg", content_type="image/jpeg"))
    boundary, body = encode_multipart(fields)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRF-Token": tab.csrf}
    media_dir = Path(app.config["MEDIA_DIR"])
    checked = 0
    for rule in rules(app, {"GET"}):
        if getattr(app.view_functions[rule.endpoint], "streams", False):
            continue  # never-ending; covered by the GET walk above
        url = fill(rule.rule, "ana")
        for client in (tab, bob):
            for method in ("HEAD", "GET"):
                before, files_before = database.snapshot(), _media_files(media_dir)
                for htmx in (False, True):
                    extra = {"HX-Request": "true"} if htmx else {}
                    response = await client.client.open(url, method=method, data=body, headers={**headers, **extra})
                    status = response.status_code
                    # 405 would be the data layer refusing a write the view attempted.
                    assert status < 500 and status != 405, f"{method} {url} answered {status}"
                assert database.snapshot() == before, f"{method} {url} with a form body changed the database"
                assert _media_files(media_dir) == files_before, f"{method} {url} with a form body changed files"
                checked += 1
    assert checked >= 80


async def test_a_write_in_a_safe_request_is_refused_before_it_runs(app, tab: Tab, database: TestDatabase) -> None:  # type: ignore[no-untyped-def]
    """The data layer's own guard, whatever a view does: a GET's session cannot write."""
    from quart import Blueprint

    from hyperpics.infra import db
    from hyperpics.models import Tag, utcnow
    from hyperpics.web.auth import public

    probe = Blueprint("probe", __name__)

    @probe.route("/_probe/write")
    @public
    async def write_on_get() -> str:
        session = await db.session()
        session.add(Tag(name="sneaky", created_at=utcnow()))
        await session.flush()
        return "wrote"

    app.register_blueprint(probe)
    before = database.snapshot()
    response = await tab.client.get("/_probe/write")
    assert response.status_code == 405
    assert "Only a form sent with POST can change anything here." in (await response.get_data(as_text=True))
    assert database.snapshot() == before


async def _open_stream(tab: Tab, url: str) -> int:
    """Open a never-ending response, read its first bytes, and hang up."""
    import asyncio

    async with tab.client.request(url) as connection:
        await connection.send_complete()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connection.receive(), timeout=2)
        status = connection.status_code or 200
        await connection.disconnect()
    return status


def test_next_parameter_stays_on_this_site() -> None:
    assert safe_next("/settings/password?x=1") == "/settings/password?x=1"
    hostile = ("https://evil.example/", "//evil.example", "javascript:alert(1)", "evil", "/\\evil.example", "/\tevil")
    for target in hostile:
        assert safe_next(target) == "/", target


def test_htmx_headers_are_spelled_only_in_htmx_py() -> None:
    """htmx's request and response headers are named in one module; any other that spells one
    reads or writes it by hand (and misses what htmx.py knows, such as Vary)."""
    package = Path(__file__).resolve().parent.parent / "hyperpics"
    spelled = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "htmx.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"""["']HX-[A-Za-z-]+["']""", line)
    ]
    assert spelled == []


def test_refusals_reach_the_error_handler_whole() -> None:
    """What a service refuses is one family (services.refusals), and views let it through to
    the one handler: none re-raises a refusal's status and message by hand, and no service
    module grows an error class of its own outside the family."""
    package = Path(__file__).resolve().parent.parent / "hyperpics"
    by_hand = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"abort\(\s*\w+\.status\b", line)
    ]
    assert by_hand == []
    refusal_classes = [
        f"{path.name}:{match.group(1)}"
        for path in sorted((package / "services").glob("*.py"))
        if path.name != "refusals.py"
        for match in re.finditer(r"^class (\w+)\((\w*(?:Error|Exception))\)", path.read_text(), re.M)
    ]
    # Not a refusal: sign-up must not tell that an address has an account (its owner gets a mail).
    assert refusal_classes == ["accounts.py:EmailTaken"]
    from hyperpics.services import refusals

    assert {
        cls.status for cls in vars(refusals).values() if isinstance(cls, type) and issubclass(cls, refusals.Refused)
    } == {400, 403, 404, 409, 422}
