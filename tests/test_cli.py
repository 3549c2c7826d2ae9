"""The ``hyperpics`` command: db upgrade, create-admin, reindex, serve (its clean shutdown, its
worker processes, its demo data); bad arguments exit non-zero with a clear message."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from hyperpics.cli import main

from .conftest import free_port


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYPERPICS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("HYPERPICS_SECRET_KEY", "cli-test-secret-0123456789-0123456789")
    return tmp_path


def _users(path: Path) -> list[tuple]:

    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT username, email, confirmed, roles.name FROM users JOIN roles ON roles.id = users.role_id"
        ).fetchall()


def test_db_upgrade_creates_the_schema(cli_env: Path) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is at revision head." in result.output
    assert (cli_env / "cli.db").exists()


def test_create_admin_creates_a_confirmed_administrator(cli_env: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["create-admin", "--email", "Boss@Example.com", "--username", "boss", "--name", "The Boss"],
        input="a long admin password\na long admin password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Administrator boss <boss@example.com> created." in result.output
    assert _users(cli_env / "cli.db") == [("boss", "boss@example.com", 1, "Administrator")]


def test_create_admin_rejects_bad_input_with_a_clear_message(cli_env: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["create-admin", "--email", "nope", "--username", "b b", "--name", "B", "--password", "short"],
    )
    assert result.exit_code != 0
    assert "Enter a valid email address" in result.output
    assert "Use only letters, digits and underscores." in result.output
    assert "Use at least 8 characters." in result.output


def test_create_admin_promotes_an_existing_account(cli_env: Path) -> None:
    args = ["create-admin", "--email", "ana@example.com", "--username", "ana", "--name", "Ana", "--password", "a long password 1"]
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
        (["db", "upgrade", "--revision", "nope"], "Invalid value for '--revision': Can't locate revision identified by 'nope'"),
        (["reindex", "extra"], "Got unexpected extra argument (extra)"),
        (["create-admin", "--email"], "Option '--email' requires an argument."),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_clear_message(cli_env: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_create_admin_refuses_a_username_someone_else_has(cli_env: Path) -> None:
    first = ["create-admin", "--email", "ana@example.com", "--username", "ana", "--name", "Ana",
             "--password", "a long password 1"]
    assert CliRunner().invoke(main, first).exit_code == 0
    taken = ["create-admin", "--email", "other@example.com", "--username", "ANA", "--name", "Other",
             "--password", "a long password 2"]
    result = CliRunner().invoke(main, taken)
    assert result.exit_code == 1 and "This username is taken." in result.output
    assert _users(cli_env / "cli.db") == [("ana", "ana@example.com", 1, "Administrator")]


def test_production_without_secret_prints_a_clear_message(cli_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HYPERPICS_SECRET_KEY")
    monkeypatch.setenv("HYPERPICS_ENV", "production")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "HYPERPICS_SECRET_KEY is not set" in result.output


def test_serve_answers_and_exits_promptly_on_sigterm(cli_env: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hyperpics.cli", "serve", "--port", str(port)],
        cwd=cli_env,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    assert response.status == 200
                    assert b"Share the moments worth keeping." in response.read()
                break
            except (TimeoutError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"server did not start:\n{output}")
                time.sleep(0.2)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=5)
        assert time.monotonic() - started < 2
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    # Plain serve never seeds: the browser tests start it on an empty database.
    assert _users(cli_env / "cli.db") == []


# --- several workers, with the demo data -----------------------------------------------------


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own on a free port, no persistence."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is needed")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
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


def _wait_for(base: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail(f"server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def _log_in(client: httpx.Client, email: str, password: str) -> None:
    form = client.get("/auth/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.text[:1000]


def test_serve_demo_with_two_workers_seeds_once_answers_from_both_and_stops_on_sigterm(
    cli_env: Path, redis_url: str
) -> None:
    port = free_port()
    log = cli_env / "serve.log"
    env = os.environ.copy()
    env.update(HYPERPICS_BROADCAST_URL=redis_url, HYPERPICS_MEDIA_DIR=str(cli_env / "media"))
    command = [sys.executable, "-m", "hyperpics.cli", "serve", "--demo", "--workers", "2", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=cli_env, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, process, log, seconds=90)
        text = log.read_text()
        assert "Demo: the database is empty; seeding a demo site..." in text
        password = re.search(r"every demo account's password: (\S+)\)", text)
        assert password, text
        assert re.search(r"administrator\s+admin@example\.com", text) and "moderator@example.com" in text
        assert f"hyperpics is running at http://127.0.0.1:{port}/" in text
        assert len(_users(cli_env / "cli.db")) == 50
        with httpx.Client(base_url=base, timeout=10) as client:
            _log_in(client, "admin@example.com", password.group(1))  # the printed login works
            assert client.get("/notifications").status_code == 200

        workers = set(re.findall(r"worker \d/2 \(pid (\d+)\) serving", log.read_text()))
        assert len(workers) == 2, log.read_text()
        answered: set[str] = set()
        deadline = time.monotonic() + 20
        while answered != workers and time.monotonic() < deadline:
            # New connections, several at once: the kernel spreads them over the workers' sockets.
            with httpx.Client(base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
                for _ in range(8):
                    assert client.get("/explore").status_code == 200
            answered = set(re.findall(r"\[INFO\] <(\d+)> 127\.0\.0\.1:\d+ .*\"GET /explore", log.read_text()))
        assert answered == workers, (answered, workers)

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.monotonic() - started < 3, log.read_text()
        assert process.returncode == 0, log.read_text()
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the server"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    # A second start finds people there and seeds nothing.
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "hyperpics.cli", "serve", "--demo", "--port", str(port)],
            cwd=cli_env, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}", process, log, seconds=30)
        assert "Demo: the database already has 50 users, so nothing was seeded." in log.read_text()
        assert len(_users(cli_env / "cli.db")) == 50
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
