"""Static files and media served like a production site.

Pages linked ``/static/...`` with no version, so browsers could not keep a stylesheet for
long without risking a stale one after a deploy; CSS and JavaScript went uncompressed; Quart
marked every answer ``Vary: Cookie`` and answered a suffix range (``bytes=-500``) with 500.
Now pages link ``?v=<content hash>`` (kept a year, ``immutable``), CSS, JavaScript and SVG go
gzip-compressed, media files stream in chunks with 304 and 206 answers, and behind nginx the
media views can hand the sending over (``X-Accel-Redirect``) after their permission checks.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.testing import make_test_headers_path_and_query_string, make_test_scope
from sqlalchemy import select
from werkzeug.datastructures import Headers

from hyperpics import create_app
from hyperpics.config import ConfigError, from_environment
from hyperpics.infra import media
from hyperpics.infra.db import database
from hyperpics.models import User, Visibility

from .conftest import Tab, make_user
from .factories import add_photo
from .helpers import fetch_photo

STATIC = Path(__file__).resolve().parent.parent / "hyperpics" / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
ACCEL = "/_protected_media/"


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


def static_urls(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html)]


def on_disk(url: str) -> bytes:
    return (STATIC / url.removeprefix("/static/").split("?")[0]).read_bytes()


async def photo_with_file(app: Quart, author: str, content: bytes, visibility: Visibility = Visibility.PUBLIC) -> str:
    """A photo whose original is ``content`` on disk; its URL, as pages link it."""
    photo = await fetch_photo(app, await add_photo(app, author, visibility))
    folder = Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / photo.filename_original).write_bytes(content)
    return f"/media/photos/{photo.filename_original}?v={visibility.value}"


@pytest.fixture
async def accel_app(app_config: dict[str, Any], tmp_path: Path) -> AsyncIterator[Quart]:
    application = create_app({**app_config, "MEDIA_ACCEL_REDIRECT": ACCEL}, instance_path=tmp_path / "accel")
    async with application.test_app():
        yield application


# --- versioned static URLs ----------------------------------------------------------------


async def test_every_static_url_in_pages_names_its_version_and_is_kept_a_year(
    app: Quart, new_tab: Callable[[], Tab]
) -> None:
    visitor = new_tab()
    member = await make_user(app, new_tab(), "ana")
    pages = [await visitor.get("/"), await member.get("/"), await member.get("/settings/profile")]
    urls = {url for page in pages for url in static_urls(page.text)}
    assert {url.split("?")[0] for url in urls} >= {"/static/css/app.css", "/static/js/app.js", "/static/img/logo.svg"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{8,}$", url), url
        answer = await member.client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == IMMUTABLE, url
        assert "cookie" not in answer.headers.get("Vary", "").lower(), url  # same file for everyone
        assert await answer.get_data() == on_disk(url), url


async def test_a_static_url_without_its_version_or_with_an_old_one_must_be_revalidated(app: Quart) -> None:
    [url] = [url for url in static_urls((await Tab(app).get("/")).text) if "/css/app.css" in url]
    client = app.test_client()
    current = await client.get(url)
    for stale in ("/static/css/app.css", "/static/css/app.css?v=0123456789ab", "/static/css/app.css?v="):
        answer = await client.get(stale)
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == REVALIDATE, stale
        assert answer.headers["ETag"] == current.headers["ETag"]
    assert (await client.get("/static/css/nothing.css")).status_code == 404
    assert (await client.get("/static/../__init__.py")).status_code == 404


async def test_static_files_answer_conditional_requests_with_304(app: Quart) -> None:
    client = app.test_client()
    for encoding in ({}, GZIP):
        first = await client.get("/static/js/app.js", headers=encoding)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        for condition in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
            again = await client.get("/static/js/app.js", headers={**encoding, **condition})
            assert again.status_code == 304, (encoding, condition)
            assert await again.get_data() == b""
            assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == REVALIDATE
        changed = await client.get("/static/js/app.js", headers={**encoding, "If-None-Match": '"something-else"'})
        assert changed.status_code == 200 and await changed.get_data() == await first.get_data()


async def test_css_js_and_svg_are_sent_gzipped_to_clients_that_accept_it(app: Quart) -> None:
    client = app.test_client()
    for name in ("css/app.css", f"vendor/{app.jinja_env.globals['PICO_CSS']}", "js/app.js", "img/logo.svg"):
        url = f"/static/{name}"
        plain = await client.get(url)
        packed = await client.get(url, headers=GZIP)
        body = await packed.get_data()
        assert packed.headers["Content-Encoding"] == "gzip", name
        assert int(packed.headers["Content-Length"]) == len(body) < len(on_disk(url)), name
        assert gzip.decompress(body) == on_disk(url), name
        assert packed.headers["ETag"] != plain.headers["ETag"], name  # another representation
        assert "Content-Encoding" not in plain.headers and await plain.get_data() == on_disk(url), name
        for answer in (plain, packed):
            assert "Accept-Encoding" in answer.headers["Vary"], name  # caches keep both apart
            assert answer.headers["Content-Type"] == plain.headers["Content-Type"], name
        refused = await client.get(url, headers={"Accept-Encoding": "gzip;q=0, br"})
        assert "Content-Encoding" not in refused.headers and await refused.get_data() == on_disk(url), name
    # Formats that gain nothing stay as they are, with nothing to vary on.
    other = await client.get("/static/vendor/htmx-2.0.11.LICENSE.txt", headers=GZIP)
    assert "Content-Encoding" not in other.headers and "Vary" not in other.headers


async def test_a_head_request_gets_the_headers_of_the_compressed_file_and_no_body(app: Quart) -> None:
    got = await over_the_wire(app, "/static/css/app.css", headers=GZIP)
    head = await over_the_wire(app, "/static/css/app.css", method="HEAD", headers=GZIP)
    assert head.status == got.status == 200
    assert head.chunks == []
    for name in ("Content-Length", "Content-Encoding", "ETag", "Vary", "Content-Type", "Cache-Control"):
        assert head.headers[name] == got.headers[name], name
    assert int(got.headers["Content-Length"]) == len(got.body)
    assert gzip.decompress(got.body) == on_disk("/static/css/app.css")


async def test_a_range_of_a_static_file_is_a_range_of_its_plain_bytes(app: Quart) -> None:
    answer = await app.test_client().get("/static/css/app.css", headers={**GZIP, "Range": "bytes=100-199"})
    size = len(on_disk("/static/css/app.css"))
    assert answer.status_code == 206
    assert "Content-Encoding" not in answer.headers
    assert answer.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert await answer.get_data() == on_disk("/static/css/app.css")[100:200]
    last = await app.test_client().get("/static/css/app.css", headers={"Range": "bytes=-50"})
    assert last.status_code == 206 and last.headers["Content-Range"] == f"bytes {size - 50}-{size - 1}/{size}"
    assert await last.get_data() == on_disk("/static/css/app.css")[-50:]


async def _version_after_edit(app: Quart, folder: Path) -> tuple[str, str]:
    """The stylesheet's URL before and after its content (and mtime) change."""
    sheet = folder / "site.css"
    sheet.write_text("body { color: black; }")
    async with app.test_request_context("/"):
        before = app.jinja_env.globals["static_url"]("site.css")
        sheet.write_text("body { color: navy; }")
        os.utime(sheet, ns=(sheet.stat().st_atime_ns, sheet.stat().st_mtime_ns + 5_000_000_000))
        after = app.jinja_env.globals["static_url"]("site.css")
    return before, after


async def test_development_sees_an_edited_file_and_production_reads_each_file_once(
    app: Quart, app_config: dict[str, Any], tmp_path: Path
) -> None:
    app.static_folder = str(tmp_path / "dev-static")
    Path(app.static_folder).mkdir()
    before, after = await _version_after_edit(app, Path(app.static_folder))
    assert before != after
    answer = await app.test_client().get(after)
    assert answer.headers["Cache-Control"] == IMMUTABLE and b"navy" in await answer.get_data()
    assert (await app.test_client().get(before)).headers["Cache-Control"] == REVALIDATE

    settings = {**app_config, "ENV": "production", "PASSWORD_HASHING": "standard"}
    production = create_app(settings, instance_path=tmp_path / "p")
    production.static_folder = str(tmp_path / "prod-static")
    Path(production.static_folder).mkdir()
    async with production.test_app():
        before, after = await _version_after_edit(production, Path(production.static_folder))
        assert before == after
        assert b"black" in await (await production.test_client().get(after)).get_data()


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


# --- handing the sending to nginx ---------------------------------------------------------


async def test_with_accel_redirect_nginx_sends_the_file_after_the_checks(accel_app: Quart) -> None:
    owner = await make_user(accel_app, Tab(accel_app), "ana")
    stranger = await make_user(accel_app, Tab(accel_app), "bob")
    public_url = await photo_with_file(accel_app, "ana", b"public bytes")
    private_url = await photo_with_file(accel_app, "ana", b"private bytes", Visibility.PRIVATE)

    answer = await Tab(accel_app).client.get(public_url)
    name = public_url.split("/")[-1].split("?")[0]
    assert answer.status_code == 200 and await answer.get_data() == b""
    assert answer.headers["X-Accel-Redirect"] == f"{ACCEL}photos/{name}"
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert answer.headers["Cache-Control"] == IMMUTABLE

    refused = await stranger.client.get(private_url)
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused.headers
    mine = await owner.client.get(private_url)
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "private, max-age=3600"
    assert mine.headers["X-Accel-Redirect"].startswith(f"{ACCEL}photos/")

    async with database(accel_app).session(write=False) as session:
        avatar = (await session.execute(select(User.avatar_small).where(User.username == "ana"))).scalar_one()
    face = await stranger.client.get(f"/media/avatars/{avatar}")
    assert face.status_code == 200 and face.headers["X-Accel-Redirect"] == f"{ACCEL}avatars/{avatar}"
    assert face.headers["Content-Type"] == "image/png" and await face.get_data() == b""
    assert (await stranger.client.get("/media/avatars/nothing-like-a-stored-name.png")).status_code == 404


async def test_without_accel_redirect_the_app_sends_the_file_itself(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    answer = await tab.client.get(await photo_with_file(app, "ana", b"the bytes"))
    assert answer.status_code == 200 and await answer.get_data() == b"the bytes"
    assert "X-Accel-Redirect" not in answer.headers


def test_the_accel_prefix_comes_from_the_environment_and_must_be_a_folder(tmp_path: Path) -> None:
    assert from_environment(tmp_path, {})["MEDIA_ACCEL_REDIRECT"] == ""
    config = from_environment(tmp_path, {"HYPERPICS_MEDIA_ACCEL_REDIRECT": "/_protected_media/"})
    assert config["MEDIA_ACCEL_REDIRECT"] == "/_protected_media/"
    for bad in ("_protected_media/", "/_protected_media", "protected"):
        with pytest.raises(ConfigError, match="HYPERPICS_MEDIA_ACCEL_REDIRECT"):
            create_app({"MEDIA_ACCEL_REDIRECT": bad, "SECRET_KEY": "k" * 40}, instance_path=tmp_path)
