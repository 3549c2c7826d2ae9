"""The ``hyperpics`` command: db upgrade, create-admin, serve (and its clean shutdown)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
    import sqlite3

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


def test_bad_options_exit_non_zero(cli_env: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "99999"])
    assert result.exit_code == 2 and "99999" in result.output


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
            except (OSError, socket.timeout):
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
