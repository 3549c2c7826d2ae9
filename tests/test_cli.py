"""The ``hyperpics`` command: db upgrade, create-admin, reindex, serve (its clean shutdown, its
worker processes, its demo data, its one media sweep at start); bad arguments exit non-zero
with a clear message. ``sweep-media`` itself is tested in test_media_sweep.py.

Every command runs against a database of the test's own on the engine under test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from hyperpics.cli import main

from .conftest import free_port, redis_command
from .databases import TestDatabase
from .live_server import wait_until_serving

# Generous: they only catch a hang (how fast is measured in bench/, not here).
START_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0


def _use(db: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestDatabase:
    """The commands (and the servers they start) work in ``tmp_path`` on ``db``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYPERPICS_DATABASE_URL", db.url)
    monkeypatch.setenv("HYPERPICS_SECRET_KEY", "cli-test-secret-0123456789-0123456789")
    return db


@pytest.fixture
def cli_db(database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestDatabase:
    """A migrated database (the commands' own upgrade has nothing to do)."""
    return _use(database, tmp_path, monkeypatch)


@pytest.fixture
def cli_empty_db(empty_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestDatabase:
    """No tables yet, for the command that makes them."""
    return _use(empty_database, tmp_path, monkeypatch)


def _users(db: TestDatabase) -> list[tuple]:
    return db.rows(
        "SELECT username, email, confirmed, roles.name FROM users JOIN roles ON roles.id = users.role_id "
        "ORDER BY users.id"
    )


def test_db_upgrade_creates_the_schema(cli_empty_db: TestDatabase) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is at revision head." in result.output
    assert {"alembic_version", "users", "photos", "notifications"} <= cli_empty_db.tables()
    assert cli_empty_db.value("SELECT count(*) FROM roles") == 4


def test_create_admin_creates_a_confirmed_administrator(cli_db: TestDatabase) -> None:
    result = CliRunner().invoke(
        main,
        ["create-admin", "--email", "Boss@Example.com", "--username", "boss", "--name", "The Boss"],
        input="a long admin password\na long admin password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Administrator boss <boss@example.com> created." in result.output
    assert _users(cli_db) == [("boss", "boss@example.com", True, "Administrator")]


def test_create_admin_rejects_bad_input_with_a_clear_message(cli_db: TestDatabase) -> None:
    result = CliRunner().invoke(
        main,
        ["create-admin", "--email", "nope", "--username", "b b", "--name", "B", "--password", "short"],
    )
    assert result.exit_code != 0
    assert "Enter a valid email address" in result.output
    assert "Use only letters, digits and underscores." in result.output
    assert "Use at least 8 characters." in result.output


ANA_AS_ADMIN = ["create-admin", "--email", "ana@example.com", "--username", "ana", "--name", "Ana",
                "--password", "a long password 1"]  # fmt: skip


def test_create_admin_promotes_an_existing_account(cli_db: TestDatabase) -> None:
    args = ANA_AS_ADMIN
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "is now an administrator" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "99999"], "99999 is not in the range 1<=x<=65535"),
        (["serve", "--port", "0"], "0 is not in the range 1<=x<=65535"),
        (["serve", "--workers", "0"], "0 is not in the range 1<=x<=64"),
        (["serve", "--workers", "two"], "'two' is not a valid integer"),
        (["serve", "--workers", "2"], "--workers 2 needs HYPERPICS_BROADCAST_URL=redis://"),
        (
            ["db", "upgrade", "--revision", "nope"],
            "Invalid value for '--revision': Can't locate revision identified by 'nope'",
        ),
        (["reindex", "extra"], "Got unexpected extra argument (extra)"),
        (["create-admin", "--email"], "Option '--email' requires an argument."),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_clear_message(cli_db: TestDatabase, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_create_admin_refuses_a_username_someone_else_has(cli_db: TestDatabase) -> None:
    first = ANA_AS_ADMIN
    assert CliRunner().invoke(main, first).exit_code == 0
    taken = [
        "create-admin",
        "--email",
        "other@example.com",
        "--username",
        "ANA",
        "--name",
        "Other",
        "--password",
        "a long password 2",
    ]
    result = CliRunner().invoke(main, taken)
    assert result.exit_code == 1 and "This username is taken." in result.output
    assert _users(cli_db) == [("ana", "ana@example.com", True, "Administrator")]


def test_production_without_secret_prints_a_clear_message(
    cli_db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HYPERPICS_SECRET_KEY")
    monkeypatch.setenv("HYPERPICS_ENV", "production")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "HYPERPICS_SECRET_KEY is not set" in result.output


def _serve(args: list[str], folder: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``hyperpics serve ...`` in its own process group (so that a hang can be killed whole)."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "hyperpics.cli", "serve", *args],
            cwd=folder,
            env=env or os.environ.copy(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(base: str, process: subprocess.Popen[bytes], log: Path, seconds: float = START_TIMEOUT) -> None:
    wait_until_serving(base, process, lambda: log.read_text(errors="replace"), seconds)


def _stop(process: subprocess.Popen[bytes], log: Path) -> int:
    """SIGTERM, then the exit code; a server still running after EXIT_TIMEOUT hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {EXIT_TIMEOUT:.0f} s after SIGTERM:\n{log.read_text(errors='replace')}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=EXIT_TIMEOUT)


def test_serve_answers_and_exits_on_sigterm(cli_db: TestDatabase, tmp_path: Path) -> None:
    # What a crash left two hours ago: a pending file no row names, a write cut short.
    photos = tmp_path / "instance" / "media" / "photos"
    photos.mkdir(parents=True)
    left = [photos / "0123456789abcdef0123456789abcdef.jpg.pending", photos / ".0123_m.jpg.pending.89ab.tmp"]
    two_hours_ago = time.time() - 7200
    for path in left:
        path.write_bytes(b"left behind")
        os.utime(path, (two_hours_ago, two_hours_ago))
    port, log = free_port(), tmp_path / "serve.log"
    process = _serve(["--port", str(port)], tmp_path, log)
    try:
        _wait_for(f"http://127.0.0.1:{port}", process, log)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "Share the moments worth keeping." in page.text
        # Swept once, before serving.
        assert not any(path.exists() for path in left)
        assert log.read_text().count("Media sweep: 0 published (pending, named by a row), 2 removed") == 1
        # hypercorn's own line once (its logger also reached the root logger's handler once).
        assert log.read_text().count(f"Running on http://127.0.0.1:{port}") == 1, log.read_text()

        # A second server on the same port says so, exits 1, and never claims to be running.
        second_log = tmp_path / "second.log"
        second = _serve(["--port", str(port)], tmp_path, second_log)
        try:
            assert second.wait(timeout=START_TIMEOUT) == 1
        finally:
            _kill(second)
        said = second_log.read_text(errors="replace")
        assert f"Error: Cannot serve on 127.0.0.1:{port}: Address already in use" in said
        assert "is running at" not in said and "Media sweep" not in said, said
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200  # the first still serves

        assert _stop(process, log) == 0, log.read_text(errors="replace")
    finally:
        _kill(process)
    # Plain serve never seeds: the browser tests start it on an empty database.
    assert _users(cli_db) == []


# --- several workers, with the demo data -----------------------------------------------------


@pytest.fixture
def own_redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own on a free port, no persistence."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is needed")
    port = free_port()
    process = subprocess.Popen(
        redis_command(port, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _log_in(client: httpx.Client, email: str, password: str) -> None:
    form = client.get("/auth/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.text[:1000]


def test_serve_demo_with_two_workers_seeds_once_answers_from_both_and_stops_on_sigterm(
    cli_db: TestDatabase, tmp_path: Path, own_redis_url: str
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = os.environ.copy()
    env.update(HYPERPICS_BROADCAST_URL=own_redis_url, HYPERPICS_MEDIA_DIR=str(tmp_path / "media"))
    process = _serve(["--demo", "--workers", "2", "--port", str(port)], tmp_path, log, env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, process, log, seconds=3 * START_TIMEOUT)  # seeds 500 photos first
        text = log.read_text()
        assert "Demo: the database is empty; seeding a demo site..." in text
        # Not a terminal: a line per stage with its count, no bare progress-bar labels.
        assert re.search(r"^Avatars\s+50 of 50 done$", text, re.M) and re.search(
            r"^Photos\s+[\d,]+ of [\d,]+ done$", text, re.M
        ), text
        password = re.search(r"every demo account's password: (\S+)\)", text)
        assert password, text
        assert re.search(r"administrator\s+admin@example\.com", text) and "moderator@example.com" in text
        assert f"hyperpics is running at http://127.0.0.1:{port}/" in text
        # One sweep, in the parent, before the workers; the seed left every file published.
        assert text.count("Media sweep") == 1
        assert re.search(r"Media sweep: 0 published \(.*\), 0 removed \(.*\), 0 younger kept, \d+ named", text)
        assert len(_users(cli_db)) == 50
        with httpx.Client(base_url=base, timeout=30) as client:
            _log_in(client, "admin@example.com", password.group(1))  # the printed login works
            assert client.get("/notifications").status_code == 200

        workers = set(re.findall(r"worker \d/2 \(pid (\d+)\) serving", log.read_text()))
        assert len(workers) == 2, log.read_text()
        answered: set[str] = set()
        deadline = time.monotonic() + START_TIMEOUT
        while answered != workers and time.monotonic() < deadline:
            # New connections, several at once: the kernel spreads them over the workers' sockets.
            with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
                for _ in range(8):
                    assert client.get("/explore").status_code == 200
            answered = set(re.findall(r"\[INFO\] <(\d+)> 127\.0\.0\.1:\d+ .*\"GET /explore", log.read_text()))
        assert answered == workers, (answered, workers)

        assert _stop(process, log) == 0, log.read_text()
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the server"
    finally:
        _kill(process)

    # A second start finds people there and seeds nothing.
    port = free_port()
    process = _serve(["--demo", "--port", str(port)], tmp_path, log, env)
    try:
        _wait_for(f"http://127.0.0.1:{port}", process, log)
        assert "Demo: the database already has 50 users, so nothing was seeded." in log.read_text()
        assert len(_users(cli_db)) == 50
        assert _stop(process, log) == 0, log.read_text()
    finally:
        _kill(process)


def test_media_backfill_with_every_photo_up_to_date_does_nothing(cli_db: TestDatabase) -> None:
    result = CliRunner().invoke(main, ["media", "backfill"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Media backfill: every photo has its copies and colour already; nothing to do."
