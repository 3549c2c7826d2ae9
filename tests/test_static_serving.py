"""Files served like a production site.

Quart marked every answer ``Vary: Cookie`` (browsers then fetch a public file again whenever
the session cookie changes), answered a suffix range (``bytes=-500``) with 500, and read a
whole file to answer a HEAD. Media files stream in chunks, with 304 and 206 answers.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quart import Quart
from quart.testing import make_test_headers_path_and_query_string, make_test_scope
from sqlalchemy import select
from werkzeug.datastructures import Headers

from hyperpics import media
from hyperpics.db import database
from hyperpics.models import Photo, Visibility

from .builders import add_photo
from .conftest import Tab, make_user

IMMUTABLE = "public, max-age=31536000, immutable"


# --- helpers ------------------------------------------------------------------------------


@dataclass
class Wire:
    """An answer as the HTTP server receives it from the app."""

    status: int
    headers: Headers
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def over_the_wire(app: Quart, path: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> Wire:
    """Call the app as hypercorn does and keep what it sends: the headers as sent (the test
    client recounts Content-Length from the body it got, so a HEAD looks empty to it) and
    each body chunk apart (the test client joins them)."""
    request_headers, bare_path, query = make_test_headers_path_and_query_string(app, path, headers)
    scope = make_test_scope("http", bare_path, method, request_headers, query, "http", "", "1.1", None)
    sent: list[dict[str, Any]] = []
    answered = asyncio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await app(scope, receive, send)  # type: ignore[arg-type]
    start, *body = sent
    headers_sent = Headers([(name.decode("latin1"), value.decode("latin1")) for name, value in start["headers"]])
    return Wire(start["status"], headers_sent, [message["body"] for message in body if message["body"]])


async def photo_row(app: Quart, photo_id: int) -> Photo:
    async with database(app).session(write=False) as session:
        return (await session.execute(select(Photo).where(Photo.id == photo_id))).scalar_one()


async def photo_with_file(app: Quart, author: str, content: bytes, visibility: Visibility = Visibility.PUBLIC) -> str:
    """A photo whose original is ``content`` on disk; its URL, as pages link it."""
    photo = await photo_row(app, await add_photo(app, author, visibility))
    folder = Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / photo.filename_original).write_bytes(content)
    return f"/media/photos/{photo.filename_original}?v={visibility.value}"


# --- media --------------------------------------------------------------------------------


async def test_a_large_photo_is_streamed_in_chunks_with_its_length(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    content = os.urandom(3 * 1024 * 1024 + 17)
    url = await photo_with_file(app, "ana", content)
    got = await over_the_wire(app, url)
    assert got.status == 200 and got.body == content
    assert int(got.headers["Content-Length"]) == len(content)
    assert len(got.chunks) >= 8 and max(map(len, got.chunks)) <= 1024 * 1024  # never the whole file at once
    head = await over_the_wire(app, url, method="HEAD")
    assert head.status == 200 and head.chunks == [] and head.headers["Content-Length"] == str(len(content))


async def test_media_files_answer_304_and_byte_ranges(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    content = os.urandom(200_000)
    url = await photo_with_file(app, "ana", content)
    client = app.test_client()
    first = await client.get(url)
    assert first.status_code == 200 and first.headers["Cache-Control"] == IMMUTABLE
    assert "cookie" not in first.headers.get("Vary", "").lower()  # a public photo is the same for everyone
    unchanged = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and await unchanged.get_data() == b""
    assert unchanged.headers["Cache-Control"] == IMMUTABLE
    part = await client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(content)}"
    assert part.headers["Content-Length"] == "1000" and await part.get_data() == content[1000:2000]
    tail = await client.get(url, headers={"Range": "bytes=-500"})  # the last 500 bytes
    assert tail.status_code == 206 and await tail.get_data() == content[-500:]
    assert tail.headers["Content-Range"] == f"bytes {len(content) - 500}-{len(content) - 1}/{len(content)}"
    assert (await client.get(url, headers={"Range": f"bytes={len(content)}-"})).status_code == 416
