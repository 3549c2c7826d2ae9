"""Fixtures for the browser suite: a real ``hyperpics serve`` subprocess and Chromium.

* ``server``  - the site, started once per session in a fresh temp dir (its own SQLite
  file, media folder and secret key; no mail server, so mail lands as ``.eml`` files in
  ``<tmp>/instance/outbox/``).
* ``browser`` - headless Debian Chromium through Playwright's *sync* API.
* ``page``    - a fresh page in a fresh browser context (no cookies) for every test.
* ``shot``    - ``shot("step-name")`` saves a full-page PNG to ``tests/e2e/artifacts/``.
* ``outbox``  - reads the newest mail and the link in it.

Run with ``.venv/bin/python -m pytest -q tests/e2e -p no:asyncio --confcutdir=tests/e2e``.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 20.0  # seconds for the server to answer GET /
EXPECT_TIMEOUT = 5_000  # ms for expect() assertions
ACTION_TIMEOUT = 10_000  # ms for clicks, fills, navigations

expect.set_options(timeout=EXPECT_TIMEOUT)


# --- the server ---------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    root: Path  # the server's working directory; its instance folder is root / "instance"
    log: Path

    @property
    def outbox(self) -> Path:
        return self.root / "instance" / "outbox"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no server log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False  # up, but GET / is broken: keep polling, the log tells why at the end
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after a few seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/e2e/artifacts/, emptied of the previous run's screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


def server_env(root: Path, url: str) -> dict[str, str]:
    """The environment of a test server rooted at ``root`` (also for ``hyperpics seed`` there)."""
    instance = root / "instance"
    # Nothing from the developer's own HYPERPICS_* settings (a mail server, say) leaks in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("HYPERPICS_")}
    env.update(
        HYPERPICS_DATABASE_URL=f"sqlite+aiosqlite:///{instance / 'hyperpics.db'}",
        HYPERPICS_MEDIA_DIR=str(instance / "media"),
        HYPERPICS_BASE_URL=url,
        HYPERPICS_SECRET_KEY=secrets.token_urlsafe(48),
        # Every browser test signs up from 127.0.0.1; the limits have their own unit tests.
        HYPERPICS_RATE_LIMITS_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def serving(
    root: Path, artifacts: Path, *, url: str, env: dict[str, str], log_name: str = "server.log"
) -> Iterator[Server]:
    """``hyperpics serve`` in ``root`` until the block ends (its log copied to artifacts)."""
    port = urlsplit(url).port
    log = root / "server.log"
    command = [sys.executable, "-m", "hyperpics.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as log_file:
        # A file, not a pipe: nobody reads a pipe while tests run, and a full one would block the server.
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url + "/"):
            if process.poll() is not None:
                pytest.fail(
                    f"hyperpics serve exited with code {process.returncode} before answering.\n"
                    f"command: {' '.join(command)}\n--- server output ---\n{log.read_text(errors='replace')}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"hyperpics serve did not answer GET {url}/ with 200 within {START_TIMEOUT:.0f} s.\n"
                    f"command: {' '.join(command)}\n--- server output ---\n{log.read_text(errors='replace')}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield Server(url=url, root=root, log=log)
    finally:
        _stop(process)
        if log.exists():
            shutil.copy(log, artifacts / log_name)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hyperpics-e2e")
    url = f"http://127.0.0.1:{_free_port()}"
    with serving(root, artifacts, url=url, env=server_env(root, url)) as running:
        yield running


# --- mail ---------------------------------------------------------------------------------


@dataclass
class Outbox:
    folder: Path

    def messages(self, to: str | None = None) -> list[tuple[Path, EmailMessage]]:
        """Every saved mail (to ``to`` if given), oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or to.lower() in str(message["To"]).lower():
                found.append((path, message))
        return found

    def newest(self, to: str | None = None, timeout: float = 5.0) -> EmailMessage:
        """The newest mail (to ``to``), waiting a little for it to be written."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(to)
            if found:
                return found[-1][1]  # type: ignore[return-value]
            if time.monotonic() > deadline:
                names = [p.name for p, _ in self.messages()]
                raise AssertionError(f"no mail{f' to {to}' if to else ''} in {self.folder}; found {names}")
            time.sleep(0.1)

    def newest_link(self, to: str | None = None) -> str:
        """The http(s) link in the text/plain part of the newest mail."""
        message = self.newest(to)
        body = message.get_body(("plain",))
        assert body is not None, f"mail {message['Subject']!r} has no text/plain part"
        text = body.get_content()
        match = re.search(r"https?://\S+", text)
        assert match, f"no link in mail {message['Subject']!r}:\n{text}"
        return match.group(0)


@pytest.fixture
def outbox(server: Server) -> Outbox:
    return Outbox(server.outbox)


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Remember each phase's report on the test, so ``page`` can screenshot a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, server: Server, artifacts: Path) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.js_errors = errors  # type: ignore[attr-defined]  # read by tests that care
    logged: list[str] = []  # what the page logged as errors (htmx reports a failed swap so)
    tab.on("console", lambda message: logged.append(message.text) if message.type == "error" else None)
    tab.console_errors = logged  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            try:
                tab.screenshot(path=artifacts / f"FAILED-{request.node.name}.png", full_page=True)
            except Exception as error:  # noqa: BLE001 - a failed screenshot must not hide the failure
                print(f"could not take the failure screenshot: {error}")
            print(f"--- server output ---\n{server.log_text()[-6000:]}")
        context.close()


@pytest.fixture
def shot(page: Page, artifacts: Path) -> Callable[[str], Path]:
    """``shot("01-register")`` saves a full-page screenshot as artifacts/01-register.png."""

    def take(name: str) -> Path:
        path = artifacts / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take
