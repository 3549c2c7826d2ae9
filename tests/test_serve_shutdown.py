"""The real server (``hyperpics serve``, on the database under test) stops on SIGTERM even while
a notification stream is open: the app ends the stream itself (the client reads a complete
response, not one cut off), and the process exits 0. hypercorn alone would wait for the stream
forever (its issue 308); a generous timeout catches that hang. How fast it stops is bench/'s
business."""

from __future__ import annotations

import re
import signal
import subprocess
import time

import httpx
import pytest

from .conftest import PASSWORD
from .html import elements

EXIT_TIMEOUT = 60.0


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
    # Sign-up never logs in (it answers the same for a taken address): log in, unconfirmed.
    login = client.get("/auth/login")
    answer = client.post(
        "/auth/login",
        data={"csrf_token": csrf_of(login.text), "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text
    assert "hyperpics_auth" in client.cookies


def test_sigterm_ends_an_open_stream_and_exits_cleanly(server) -> None:  # type: ignore[no-untyped-def]
    process, base = server
    with httpx.Client(base_url=base, timeout=httpx.Timeout(EXIT_TIMEOUT)) as client:
        register(client, "ana")
        # The logged-in page carries the live element that opens the stream.
        assert elements(client.get("/").text, '[sse-connect="/_/notifications/stream"]')
        with client.stream("GET", "/_/notifications/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            chunks = stream.iter_raw()
            received = b""
            while b"retry:" not in received:
                received += next(chunks)

            process.send_signal(signal.SIGTERM)
            # The client sees the stream end. Cleanly: were it cut off (hypercorn's graceful
            # timeout), httpx would raise here on the unfinished chunked body.
            deadline = time.monotonic() + EXIT_TIMEOUT
            for chunk in chunks:  # a stream left open keeps sending pings: stop waiting at some point
                received += chunk
                if time.monotonic() > deadline:
                    pytest.fail(f"the stream was still open {EXIT_TIMEOUT:.0f} s after SIGTERM")
            try:
                process.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {EXIT_TIMEOUT:.0f} s after SIGTERM")

    output = process.stdout.read().decode() if process.stdout else ""
    assert process.returncode == 0, output
    assert b"session-ended" not in received  # a shutdown is not a logout: the browser reconnects
