"""Every route has a body limit that fits it, refused with 413 while the body streams in.

A 200 MB post to the login form was once read in full before its 400 (the server's memory
rose by a gigabyte): the limit was the upload limit, for every route, checked only once the
whole body had arrived.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from quart import Quart
from werkzeug.exceptions import RequestEntityTooLarge

from hyperpics.web.request_limits import FORM_BODY_LIMIT, LimitedBody, one_picture_limit, photos_upload_limit

from .conftest import Tab, make_user
from .databases import TestDatabase
from .test_policy import fill, rules

HANG_GUARD = 30.0
# The only views that take files, and so a larger body.
LARGE_BODY_VIEWS = {
    "photos.upload": photos_upload_limit,
    "settings.avatar": one_picture_limit,
    "upload_row.upload": one_picture_limit,  # one photo of a batch that upload.js sends file by file
}


def limit_of(app: Quart, endpoint: str) -> int:
    limit = getattr(app.view_functions[endpoint], "body_limit", None)
    return limit(app.config) if limit is not None else FORM_BODY_LIMIT


def test_only_the_file_routes_take_more_than_a_form(app: Quart) -> None:
    large = {rule.endpoint for rule in app.url_map.iter_rules() if limit_of(app, rule.endpoint) > FORM_BODY_LIMIT}
    assert large == set(LARGE_BODY_VIEWS)
    for endpoint, limit in LARGE_BODY_VIEWS.items():
        assert limit_of(app, endpoint) == limit(app.config)
    assert one_picture_limit(app.config) < photos_upload_limit(app.config)


async def _answer_to_unfinished_body(
    tab: Tab, url: str, chunks: list[bytes], headers: dict[str, str]
) -> tuple[int, str]:
    """Send ``chunks`` and never end the body: only a server that refuses it while it streams
    answers at all (one that waits for the end would hang, and the hang guard fails it)."""
    async with tab.client.request(url, method="POST", headers=headers) as connection:
        for chunk in chunks:
            await connection.send(chunk)
        body = await asyncio.wait_for(connection.receive(), HANG_GUARD)
        return connection.status_code or 0, body.decode(errors="replace")


async def test_an_endless_form_post_is_refused_before_it_ends(app: Quart, tab: Tab, database: TestDatabase) -> None:
    """No Content-Length, the body keeps coming: 413 once it passes the form limit, long before
    the sender stops, on every form route (forms of anonymous visitors and of members alike)."""
    await make_user(app, tab, "ana", role="Administrator")
    await tab.get("/")
    chunks = [b"a" * 65536] * (2 * FORM_BODY_LIMIT // 65536)  # twice the limit, and more to come
    checked = 0
    before = database.snapshot()
    for rule in rules(app, {"POST"}):
        if rule.endpoint in LARGE_BODY_VIEWS:
            continue
        url = fill(rule.rule, "ana")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": tab.csrf}
        status, body = await _answer_to_unfinished_body(tab, url, chunks, headers)
        assert status == 413, f"POST {url}: {status}"
        assert "larger than this form accepts (at most 256 KB)" in body, body[:300]
        checked += 1
    assert checked >= 30
    assert database.snapshot() == before
    # The session survived: a refused body is not a logout.
    assert "Hello, Ana." in (await tab.get("/")).text


async def test_a_refused_body_keeps_nothing_of_what_follows() -> None:
    body = LimitedBody(None, 1000)
    await body.put(b"x" * 600)
    await body.put(b"x" * 600)  # past the limit: refused, and what was queued is freed
    for _ in range(100):
        await body.put(b"x" * 100_000)
    assert body._queue.qsize() == 0
    with pytest.raises(RequestEntityTooLarge):
        await body
    with pytest.raises(RequestEntityTooLarge):
        await body.get()


async def test_a_declared_length_over_the_limit_is_refused_before_any_byte(app: Quart, tab: Tab) -> None:
    await tab.get("/")
    for url in ("/auth/login", "/auth/register"):
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(200 * 1024 * 1024)}
        status, _body = await _answer_to_unfinished_body(tab, url, [], headers)
        assert status == 413, url


async def test_the_upload_route_still_takes_an_upload_sized_body(app: Quart, tab: Tab) -> None:
    """Several MB is too much for a form, fine for the upload (it answers once it has all of it)."""
    await make_user(app, tab, "ana")
    await tab.get("/upload")
    headers = {"Content-Type": "multipart/form-data; boundary=xyz", "X-CSRF-Token": tab.csrf}
    async with tab.client.request("/upload", method="POST", headers=headers) as connection:
        for _ in range(40):  # 2.5 MiB of a body that is not a valid multipart
            await connection.send(b"z" * 65536)
        await connection.send_complete()
        await asyncio.wait_for(connection.receive(), HANG_GUARD)
        assert connection.status_code != 413


# --- against the real server: hypercorn's own reading of the body --------------------------


def _raw_post(base: str, path: str, head: dict[str, str], chunks: list[bytes]) -> tuple[str, int]:
    """Send a request chunk by chunk over a socket; stop when the server answers or hangs up.
    Returns the status line and how many chunks went out."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HANG_GUARD) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
        sock.sendall("\r\n".join(lines).encode())
        sock.setblocking(False)
        sent = 0
        answer = b""
        for piece in chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionError:
                break
            if answer:
                break
            try:
                sock.setblocking(True)
                sock.sendall(piece)
                sock.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        sock.setblocking(True)
        while b"\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
        return answer.split(b"\r\n", 1)[0].decode(), sent


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.mark.parametrize("framing", ["chunked", "declared"])
def test_the_real_server_refuses_a_huge_login_post_while_it_streams(server: Any, framing: str) -> None:
    _process, base = server
    piece = b"email=" + b"a" * (256 * 1024)
    many = 400  # 100 MiB if it were all sent
    if framing == "chunked":
        head = {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"}
        chunks = [_chunked(piece)] * many
    else:
        head = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(piece) * many)}
        chunks = [piece] * many
    status, sent = _raw_post(base, "/auth/login", head, chunks)
    assert status.startswith("HTTP/1.1 413"), status
    assert sent < many // 4, f"the server let {sent} of {many} chunks in before answering"
