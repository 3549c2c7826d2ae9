"""The real server (``hyperpics serve``) stops promptly on SIGTERM even while a notification
stream is open: the stream ends itself, the process exits 0 within 2 seconds."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import PASSWORD, free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = os.environ.copy()
    env.update(
        HYPERPICS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        HYPERPICS_SECRET_KEY="serve-test-secret-0123456789-0123456789",
        HYPERPICS_MEDIA_DIR=str(tmp_path / "media"),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "hyperpics.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
                pytest.fail(f"server did not start:\n{output}")
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def register(client: httpx.Client, username: str) -> None:
    form = client.get("/auth/register")
    assert form.status_code == 200
    answer = client.post(
        "/auth/register",
        data={
            "csrf_token": csrf_of(form.text),
            "name": username.title(),
            "email": f"{username}@example.com",
            "username": username,
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert answer.status_code == 303, answer.text
    assert "hyperpics_auth" in client.cookies  # logged in (not yet confirmed)


def test_sigterm_ends_an_open_stream_and_exits_within_two_seconds(server) -> None:  # type: ignore[no-untyped-def]
    process, base = server
    with httpx.Client(base_url=base, timeout=httpx.Timeout(5.0)) as client:
        register(client, "ana")
        # The logged-in page carries the live element that opens the stream.
        assert 'sse-connect="/_/notifications/stream"' in client.get("/").text
        with client.stream("GET", "/_/notifications/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            chunks = stream.iter_raw()
            received = b""
            while b"retry:" not in received:
                received += next(chunks)

            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            # The client sees the stream end (cleanly: the app ends it, hypercorn does not cut it).
            for chunk in chunks:
                received += chunk
            closed_after = time.monotonic() - started
            process.wait(timeout=10)
            exited_after = time.monotonic() - started

    output = process.stdout.read().decode() if process.stdout else ""
    assert closed_after < 2.0, (closed_after, output)
    assert exited_after < 2.0, (exited_after, output)
    assert process.returncode == 0, output
    assert b"session-ended" not in received  # a shutdown is not a logout: the browser reconnects
