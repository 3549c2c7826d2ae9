"""``hyperpics serve`` as a deployer runs it, on the database under test, for tests that need
a real HTTP server (hypercorn's own handling of bodies, streams and signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import free_port
from .databases import TestDatabase

START_TIMEOUT = 60.0


def wait_until_serving(
    base: str, process: subprocess.Popen[bytes], output: Callable[[], str], seconds: float = START_TIMEOUT
) -> None:
    """Poll ``base`` until it answers 200; fail with the server's ``output()`` if it exits or
    does not answer within ``seconds`` (a hang guard, not a speed check)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail(f"server did not start:\n{output()}")
        time.sleep(0.2)


@pytest.fixture
def server(database: TestDatabase, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = os.environ.copy()
    env.update(
        HYPERPICS_DATABASE_URL=database.url,
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

    def output() -> str:
        return process.stdout.read().decode() if process.stdout and process.poll() is not None else ""

    try:
        wait_until_serving(base, process, output)
        yield process, base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
