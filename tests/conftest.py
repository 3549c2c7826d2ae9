"""Fixtures: an app per test on a database of its own (SQLite, or PostgreSQL: see
databases.py), a real SMTP server for the tests that read mail, and an HTTP client that
behaves like a browser tab (keeps cookies, sends the page's CSRF token)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from quart import Quart
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from hyperpics import create_app
from hyperpics.models import RoleName, User

from .databases import DatabaseServer, TestDatabase
from .databases import database_server as database_server_for
from .factories import PASSWORD, add_user

# Fixtures kept in modules of their own.
pytest_plugins = ["tests.live_server"]

SECRET = "test-secret-key-that-is-long-enough-0123456789"


# --- database ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """SQLite, or the PostgreSQL server named by HYPERPICS_TEST_DATABASE_URL (see databases.py)."""
    server = database_server_for(tmp_path_factory.mktemp("databases"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def database(database_server: DatabaseServer, tmp_path: Path) -> Iterator[TestDatabase]:
    """A migrated database of this test's own, on the engine under test."""
    fresh = database_server.fresh(tmp_path / "db")
    try:
        yield fresh
    finally:
        database_server.drop(fresh)


@pytest.fixture
def empty_database(database_server: DatabaseServer, tmp_path: Path) -> Iterator[TestDatabase]:
    """A database with no tables yet (for migration and command tests)."""
    fresh = database_server.fresh(tmp_path / "empty-db", migrated=False)
    try:
        yield fresh
    finally:
        database_server.drop(fresh)


def _redis_url() -> str | None:
    return os.environ.get("HYPERPICS_TEST_REDIS_URL") or None


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for tests about state shared between workers: the run's own
    (HYPERPICS_TEST_REDIS_URL), or a redis-server started for this session."""
    url = _redis_url()
    if url is not None:
        yield url
        return
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        redis_command(port, folder),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(30)


def redis_command(port: int, folder: Path | str) -> list[str]:
    """A throwaway redis-server on loopback: no snapshots, no append-only file."""
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(folder)]  # fmt: skip


def _wait_for_port(port: int, timeout: float = 30) -> None:
    """A server is up when it accepts connections (a hang guard, not a speed check)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def redis_url() -> str | None:
    """The Redis the scale-out run shares between its tests, emptied for each test."""
    url = _redis_url()
    if url is not None:
        import redis

        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
    return url


# --- mail ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the real SMTP server (aiosmtpd) received."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        if self.refuse:
            return "451 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int = 1, *, hang_guard: float = 30.0) -> list[EmailMessage]:
        """Mail sent after the response (a background task): wait until ``count`` messages to
        ``address`` arrived. The guard only catches a mail that never comes."""
        deadline = time.monotonic() + hang_guard
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
            await asyncio.sleep(0.02)
        return self.to(address)

    def last_link(self, address: str) -> str:
        """The path of the link in the newest mail to ``address``."""
        messages = self.to(address)
        assert messages, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        body = messages[-1].get_body(("plain",)).get_content()
        match = re.search(r"https?://[^/\s]+(/\S+)", body)
        assert match, body
        return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, int]) -> Mailbox:
    return smtp[0]


# --- the app ------------------------------------------------------------------------------


@pytest.fixture
def app_config(
    request: pytest.FixtureRequest, tmp_path: Path, database: TestDatabase, redis_url: str | None
) -> dict[str, Any]:
    """The app's settings for one test. A real SMTP server is started only for the tests
    that read mail (they ask for ``mailbox`` or ``smtp``); the others write to the outbox."""
    config: dict[str, Any] = {
        "DATABASE_URL": database.url,
        "MEDIA_DIR": str(tmp_path / "media"),
        "SECRET_KEY": SECRET,
        "BASE_URL": "http://hyperpics.test",
        "MAIL_TIMEOUT": 5,
        "ADMIN_EMAIL": "admin@example.com",
        "RATE_LIMITS_ENABLED": False,
        # Argon2 at a fraction of its cost: hashing is tested on its own, at the real cost.
        "PASSWORD_HASHING": "fast",
        # A request that keeps the write lock across slow work fails the test.
        "STRICT_TRANSACTIONS": True,
    }
    if redis_url is not None:
        config["BROADCAST_URL"] = redis_url
    if {"mailbox", "smtp"} & set(request.fixturenames):
        _, port = request.getfixturevalue("smtp")
        config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    return config


@pytest.fixture
async def app(app_config: dict[str, Any], tmp_path: Path) -> AsyncIterator[Quart]:
    application = create_app(app_config, instance_path=tmp_path / "instance")
    async with application.test_app():
        yield application


# --- a browser-like client -------------------------------------------------------------------


async def settle(app: Quart, hang_guard: float = 30.0) -> None:
    """Wait for what the app does after answering (mail sent in a background task), as a
    person would before reading their mail. The guard only catches a task that never ends."""
    pending = [task for task in app.background_tasks if not task.done()]
    if pending:
        await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), hang_guard)


class Tab:
    """A test client that remembers the CSRF token of the last page, as a browser tab would."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.client = app.test_client()
        self.csrf = ""

    def _remember_token(self, html: str) -> None:
        # The layout's (members' pages), or a form's own field (anonymous pages are shared
        # by every visitor, so only their forms carry the session's token).
        match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
            r'name="csrf_token" value="([^"]+)"', html
        )
        if match:
            self.csrf = match.group(1)

    async def _fetch_token(self) -> None:
        await self.get("/")
        if not self.csrf:
            await self.get("/auth/login")

    async def get(self, path: str, *, htmx: bool = False, headers: dict[str, str] | None = None) -> Page:
        all_headers = {"HX-Request": "true"} if htmx else {}
        all_headers.update(headers or {})
        response = await self.client.get(path, headers=all_headers)
        await settle(self.app)
        page = await Page.of(response)
        self._remember_token(page.text)
        return page

    async def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        htmx: bool = False,
        csrf: bool | str = True,
        headers: dict[str, str] | None = None,
    ) -> Page:
        if csrf is True and not self.csrf:
            await self._fetch_token()
        form = dict(data or {})
        if csrf is True:
            form["csrf_token"] = self.csrf
        elif isinstance(csrf, str):
            form["csrf_token"] = csrf
        all_headers = {"HX-Request": "true"} if htmx else {}
        all_headers.update(headers or {})
        if any(isinstance(value, list | tuple) for value in form.values()):
            # Several values under one name (checked rows): the test client's form= keeps one.
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = await self.client.post(path, data=urlencode(form, doseq=True), headers=all_headers)
        else:
            response = await self.client.post(path, form=form, headers=all_headers)
        await settle(self.app)
        page = await Page.of(response)
        self._remember_token(page.text)
        if page.location or page.headers.get("HX-Redirect"):
            # A browser would now load the next page and with it a fresh token (login rotates it).
            self.csrf = ""
        return page

    async def upload(
        self,
        path: str,
        files: list[tuple[str, bytes]],
        data: dict[str, Any] | None = None,
        *,
        field: str = "photos",
        htmx: bool = False,
        content_type: str = "image/jpeg",
    ) -> Page:
        """A multipart post with several files under one field name, as a browser sends it.

        (Quart's test client keeps only one file per field name, so the body is built here.)
        """
        if not self.csrf:
            await self._fetch_token()
        fields: list[tuple[str, Any]] = [("csrf_token", self.csrf), *(data or {}).items()]
        fields += [
            (field, FileStorage(io.BytesIO(body), filename=name, content_type=content_type)) for name, body in files
        ]
        boundary, body = encode_multipart(MultiDict(fields))
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if htmx:
            headers["HX-Request"] = "true"
        response = await self.client.post(path, data=body, headers=headers)
        page = await Page.of(response)
        self._remember_token(page.text)
        return page


@dataclass
class Page:
    status: int
    text: str
    headers: Any

    @classmethod
    async def of(cls, response: Any) -> Page:
        return cls(response.status_code, await response.get_data(as_text=True), response.headers)

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def root_id(self) -> str | None:
        """The id of the fragment's first element."""
        match = re.match(r"\s*<[a-zA-Z0-9]+[^>]*\bid=\"([^\"]+)\"", self.text)
        return match.group(1) if match else None

    def is_fragment(self) -> bool:
        return "<html" not in self.text and "<body" not in self.text


@pytest.fixture
def tab(app: Quart) -> Tab:
    return Tab(app)


@pytest.fixture
def new_tab(app: Quart):  # type: ignore[no-untyped-def]
    return lambda: Tab(app)


# --- people -------------------------------------------------------------------------------


async def register(
    tab: Tab,
    username: str,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    then_login: bool = True,
) -> Page:
    """Sign up through the form; the answer is the sign-up's (a redirect to the login page
    when it worked). Then, as the person would, log in (``then_login``), unconfirmed."""
    address = email or f"{username}@example.com"
    await tab.get("/auth/register")
    page = await tab.post(
        "/auth/register",
        {
            "name": name or username.title(),
            "email": address,
            "username": username,
            "password": password,
            "password2": password,
        },
    )
    if then_login and page.status == 303:
        await login(tab, address, password)
    return page


async def login(tab: Tab, email: str, password: str = PASSWORD, *, remember: bool = False) -> Page:
    await tab.get("/auth/login")
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return await tab.post("/auth/login", data)


async def logout(tab: Tab) -> Page:
    return await tab.post("/auth/logout")


async def confirm(tab: Tab, mailbox: Mailbox, address: str) -> Page:
    link = mailbox.last_link(address)
    await tab.get(link)
    return await tab.post(link)


async def fetch_user(app: Quart, username: str) -> User | None:
    from hyperpics.infra.db import database

    async with database(app).session(write=False) as session:
        return (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def set_user(app: Quart, username: str, **values: Any) -> None:
    """Change a user's columns directly (as a moderator or a seed would); ``role`` by name."""
    from hyperpics.infra.db import database
    from hyperpics.services.accounts import role_named

    async with database(app).session(write=True) as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one()
        role = values.pop("role", None)
        if role is not None:
            user.role = await role_named(session, RoleName(role))
        for key, value in values.items():
            setattr(user, key, value)
        await session.commit()


async def make_user(app: Quart, tab: Tab, username: str, *, confirmed: bool = True, **values: Any) -> Tab:
    """A member made straight in the database (see factories.py), logged in on ``tab``."""
    role = values.pop("role", RoleName.USER.value)
    # A block comes after the login, as it would for a member who was logged in.
    after_login = {key: values.pop(key) for key in ("active",) if key in values}
    user = await add_user(app, username, confirmed=confirmed, role=role, **values)
    page = await login(tab, user.email)
    assert page.status == 303, page.text
    if after_login:
        await set_user(app, username, **after_login)
    return tab
