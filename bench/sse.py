"""Benchmark of the notification stream: N open SSE connections, delivery latency, memory.

Run from the project root:

    .venv/bin/python bench/sse.py                    # N=1000 then N=5000, ~2 min on 2 cores
    .venv/bin/python bench/sse.py -n 1000            # one size
    .venv/bin/python bench/sse.py --deliveries 50 --no-write

For each N:

1. Starts one real ``hyperpics serve`` process (``memory://`` broadcast, a fresh SQLite
   file, the access log going to a file) and waits for GET / to answer.
2. Creates N receivers and one confirmed sender straight in the SQLite file (bulk
   ``INSERT``), each with a server-side login session (``auth_sessions.token_hash`` =
   sha256 of a random token) and builds the auth cookie the way Quart-Auth does:
   ``URLSafeTimedSerializer(secret, "hyperpics-auth", signer_kwargs={"digest_method": sha512})``.
3. Reads the server's RSS (VmRSS in /proc/<pid>/status) after a warm-up (a page and a few
   streams opened and closed), opens N concurrent ``GET /_/notifications/stream`` with
   raw asyncio streams (HTTP/1.1, chunked; at most ``--open-concurrency`` connecting at
   once), waits until each has sent its ``retry:`` line, and reads the RSS again:
   (after - before) / N is the memory per open stream.
4. Delivers ``--deliveries`` notifications one after the other, each to a different
   receiver picked at random: the sender follows the receiver with a real
   ``POST /_/users/<id>/follow`` (CSRF token and all), and the latency is the time from the
   POST's answer to the ``event: notification`` arriving on that receiver's stream (also
   reported from the moment the POST was sent). p50 / p99 / max over all deliveries.
5. Closes every stream and stops the server (SIGTERM to its process group).

Client and server share the machine's CPUs; the client's own asyncio loop parsing N
streams is part of what is measured. Appends (or replaces) its section of bench/RESULTS.md.
Not a test: pytest only collects tests/ (and this file is not named test_*).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import platform
import random
import re
import resource
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from itsdangerous import URLSafeTimedSerializer
from results import markers, write_section

ROOT = Path(__file__).resolve().parent.parent
SECTION_START, SECTION_END = markers("sse.py")

HOST = "127.0.0.1"
STREAM_PATH = "/_/notifications/stream"
AUTH_COOKIE = "hyperpics_auth"  # hyperpics/auth.py: QUART_AUTH_COOKIE_NAME
AUTH_SALT = "hyperpics-auth"  # hyperpics/auth.py: QUART_AUTH_SALT
PASSWORD_HASH = "bench-not-a-real-hash"  # nobody logs in with a password here
DELIVERY_TIMEOUT = 10.0
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
EVENT_FIELDS = re.compile(r"^(id|event): ?(.*)$", re.MULTILINE)


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def raise_fd_limit(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the server inherits it
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:
        raise SystemExit(f"need {need} file descriptors, the limit is {soft} (hard {hard})")
    return soft


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    database: Path
    secret: str
    log: Path

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_server(folder: Path) -> Server:
    port = free_port()
    url = f"http://{HOST}:{port}"
    database = folder / "bench.db"
    secret = secrets.token_urlsafe(48)
    env = {key: value for key, value in os.environ.items() if not key.startswith("HYPERPICS_")}
    env.update(
        HYPERPICS_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        HYPERPICS_MEDIA_DIR=str(folder / "media"),
        HYPERPICS_SECRET_KEY=secret,
        HYPERPICS_BASE_URL=url,
        HYPERPICS_BROADCAST_URL="memory://",
        PYTHONUNBUFFERED="1",
    )
    log = folder / "server.log"
    command = [sys.executable, "-m", "hyperpics.cli", "serve", "--host", HOST, "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return Server(url, port, process, database, secret, log)


# --- users and cookies straight in the database ---------------------------------------------


def auth_cookie(secret: str, token: str) -> str:
    """What Quart-Auth puts in the cookie for ``auth_id = token`` (quart_auth/extension.py)."""
    return URLSafeTimedSerializer(secret, AUTH_SALT, signer_kwargs={"digest_method": hashlib.sha512}).dumps(token)


def seed(server: Server, receivers: int) -> tuple[list[int], list[str], int, str]:
    """N receivers and one confirmed sender, each with a login session. Returns ids and cookies."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    tag = secrets.token_hex(3)
    names = [f"r{tag}_{i}" for i in range(receivers)] + [f"sender_{tag}"]
    with sqlite3.connect(server.database, timeout=30) as connection:
        role = connection.execute("SELECT id FROM roles WHERE name = 'User'").fetchone()[0]
        connection.executemany(
            "INSERT INTO users (username, email, name, password_hash, bio, website, location, member_since,"
            " confirmed, locked, active, public_collections, receive_comment_notification,"
            " receive_follow_notification, receive_collect_notification, role_id)"
            " VALUES (?, ?, ?, ?, '', '', '', ?, ?, 0, 1, 1, 1, 1, 1, ?)",
            [(name, f"{name}@example.com", name[:30], PASSWORD_HASH, now, 1, role) for name in names],
        )
        ids = dict(connection.execute("SELECT username, id FROM users WHERE username LIKE ?", (f"%{tag}%",)).fetchall())
        tokens = {name: secrets.token_urlsafe(32) for name in names}
        connection.executemany(
            "INSERT INTO auth_sessions"
            " (token_hash, user_id, created_at, last_fresh_at, revoked_at, remember, user_agent)"
            " VALUES (?, ?, ?, ?, NULL, 0, 'bench/sse.py')",
            [(hashlib.sha256(tokens[name].encode()).hexdigest(), ids[name], now, now) for name in names],
        )
    receiver_ids = [ids[name] for name in names[:-1]]
    cookies = [auth_cookie(server.secret, tokens[name]) for name in names[:-1]]
    return receiver_ids, cookies, ids[names[-1]], auth_cookie(server.secret, tokens[names[-1]])


# --- one SSE connection over a raw asyncio stream -------------------------------------------


@dataclass
class Stream:
    user_id: int
    cookie: str
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    opened: asyncio.Future[None] | None = None
    waiting: tuple[int, asyncio.Future[float]] | None = None  # (after id, arrival time)
    notifications: list[tuple[float, int]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    error: str | None = None

    async def open(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.opened = loop.create_future()
        self.reader, self.writer = await asyncio.open_connection(HOST, port)
        self.writer.write(
            (
                f"GET {STREAM_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n"
                f"Cache-Control: no-cache\r\nCookie: {AUTH_COOKIE}={self.cookie}\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        self.task = asyncio.create_task(self._read())
        await self.opened

    async def _read(self) -> None:
        assert self.reader is not None and self.opened is not None
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                raise ConnectionError(status.decode(errors="replace"))
            chunked = b"transfer-encoding: chunked" in head.lower()
            pending = ""
            while True:
                if chunked:
                    size = int((await self.reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        return
                    data = (await self.reader.readexactly(size + 2))[:-2]
                else:
                    data = await self.reader.read(65536)
                    if not data:
                        return
                arrived = time.perf_counter()
                pending += data.decode()
                *events, pending = pending.split("\n\n")
                for event in events:
                    self._handle(event, arrived)
        except (ConnectionError, asyncio.IncompleteReadError, OSError, ValueError) as error:
            self.error = f"{type(error).__name__}: {error}"
            if not self.opened.done():
                self.opened.set_exception(ConnectionError(self.error))
        finally:
            if not self.opened.done():
                self.opened.set_exception(ConnectionError("stream ended before retry:"))

    def _handle(self, event: str, arrived: float) -> None:
        if event.startswith("retry:"):
            if self.opened is not None and not self.opened.done():
                self.opened.set_result(None)
            return
        fields = dict(EVENT_FIELDS.findall(event))
        if fields.get("event") != "notification" or not fields.get("id", "").isdigit():
            return
        event_id = int(fields["id"])
        self.notifications.append((arrived, event_id))
        if self.waiting is not None and event_id > self.waiting[0] and not self.waiting[1].done():
            self.waiting[1].set_result(arrived)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def open_all(streams: list[Stream], port: int, concurrency: int) -> list[str]:
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one(stream: Stream) -> None:
        async with gate:
            try:
                await asyncio.wait_for(stream.open(port), timeout=60)
            except (TimeoutError, Exception) as error:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(error).__name__}: {error}")

    await asyncio.gather(*(one(stream) for stream in streams))
    return errors


# --- one run --------------------------------------------------------------------------------


@dataclass
class Result:
    n: int
    open_seconds: float
    open_errors: int
    rss_before_kb: int
    rss_after_kb: int
    rss_end_kb: int
    deliveries: int
    lost: int
    after_answer_ms: list[float]
    after_send_ms: list[float]
    post_ms: list[float]
    first_errors: list[str]
    slowest: list[tuple[float, float, float]]  # (s since streams started opening, ms late, POST ms)

    @property
    def per_connection_kb(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / max(1, self.n - self.open_errors)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def run(n: int, deliveries: int, concurrency: int, warmup: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="hyperpics-sse-bench-") as folder:
        server = start_server(Path(folder))
        streams: list[Stream] = []
        try:
            receiver_ids, cookies, _sender_id, sender_cookie = seed(server, n)
            limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
            async with httpx.AsyncClient(
                base_url=server.url, cookies={AUTH_COOKIE: sender_cookie}, limits=limits, timeout=30
            ) as sender:
                page = await sender.get("/")
                match = CSRF_META.search(page.text)
                assert page.status_code == 200 and match, (page.status_code, page.text[:500])
                assert "user-menu" in page.text, "the sender's cookie did not log it in"
                headers = {"X-CSRF-Token": match.group(1)}

                # Warm-up: a few streams opened and closed, a few follows (templates compiled).
                warm = [Stream(receiver_ids[i], cookies[i]) for i in range(min(10, n))]
                assert not await open_all(warm, server.port, concurrency), "warm-up streams failed"
                for stream in warm:
                    await stream.close()
                await asyncio.sleep(1.0)
                rss_before = server.rss_kb()

                streams = [Stream(user_id, cookie) for user_id, cookie in zip(receiver_ids, cookies, strict=True)]
                started = time.perf_counter()
                open_errors = await open_all(streams, server.port, concurrency)
                open_seconds = time.perf_counter() - started
                await asyncio.sleep(2.0)
                rss_after = server.rss_kb()
                print(
                    f"N={n}: {n - len(open_errors)} streams open in {open_seconds:.1f} s "
                    f"({len(open_errors)} failed); RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB"
                )

                alive = [s for s in streams if s.opened is not None and s.opened.done() and not s.opened.exception()]
                sample = random.Random(n).sample(alive, min(len(alive), deliveries + warmup))
                after_answer, after_send, post_ms, lost, errors = [], [], [], 0, list(open_errors[:5])
                timeline: list[tuple[float, float, float]] = []
                loop = asyncio.get_running_loop()
                for index, stream in enumerate(sample):
                    last = stream.notifications[-1][1] if stream.notifications else 0
                    arrival: asyncio.Future[float] = loop.create_future()
                    stream.waiting = (last, arrival)
                    sent = time.perf_counter()
                    answer = await sender.post(f"/_/users/{stream.user_id}/follow", headers=headers)
                    answered = time.perf_counter()
                    if answer.status_code not in (200, 303):
                        errors.append(f"POST follow -> {answer.status_code}")
                        lost += 1
                        continue
                    try:
                        arrived = await asyncio.wait_for(asyncio.shield(arrival), timeout=DELIVERY_TIMEOUT)
                    except TimeoutError:
                        lost += 1
                        errors.append(
                            f"no event for user {stream.user_id} within {DELIVERY_TIMEOUT:.0f} s ({stream.error})"
                        )
                        continue
                    finally:
                        stream.waiting = None
                    if index < warmup:
                        continue
                    after_answer.append(1000 * (arrived - answered))
                    after_send.append(1000 * (arrived - sent))
                    post_ms.append(1000 * (answered - sent))
                    timeline.append((sent - started, 1000 * (arrived - answered), 1000 * (answered - sent)))
                rss_end = server.rss_kb()
                slowest = sorted(timeline, key=lambda row: row[1], reverse=True)[:5]
                print(
                    f"N={n}: slowest deliveries (s since the first stream opened, ms after the answer, POST ms): "
                    + ", ".join(f"{at:.1f} s: {late:.0f} ms (POST {took:.0f} ms)" for at, late, took in slowest)
                )
                dropped = sum(1 for s in alive if s.task is not None and s.task.done())
                if dropped:
                    errors.append(f"{dropped} streams ended during the run")
            return Result(
                n=n,
                open_seconds=open_seconds,
                open_errors=len(open_errors),
                rss_before_kb=rss_before,
                rss_after_kb=rss_after,
                rss_end_kb=rss_end,
                deliveries=len(after_answer),
                lost=lost,
                after_answer_ms=after_answer,
                after_send_ms=after_send,
                post_ms=post_ms,
                first_errors=errors[:5],
                slowest=slowest,
            )
        finally:
            await asyncio.gather(*(stream.close() for stream in streams), return_exceptions=True)
            server.stop()
            tail = server.log.read_text(errors="replace")
            problems = [line for line in tail.splitlines() if "Traceback" in line or " ERROR " in line]
            if problems:
                print(f"server log: {len(problems)} error lines, first: {problems[0]}")
                start = tail.find("Traceback")
                if start >= 0:
                    print(tail[start : start + 4000])


# --- reporting ------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    rows = [
        "| N open streams | opened in s | failed | RSS before MiB | RSS with N open MiB | KiB per stream "
        "| deliveries | lost | p50 ms | p99 ms | max ms | p50 / p99 ms from POST sent | POST p50 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.n} | {r.open_seconds:.1f} | {r.open_errors} "
            f"| {r.rss_before_kb / 1024:.1f} | {r.rss_after_kb / 1024:.1f} "
            f"| {r.per_connection_kb:.1f} | {r.deliveries} | {r.lost} | {pct(r.after_answer_ms, 50):.1f} "
            f"| {pct(r.after_answer_ms, 99):.1f} | {max(r.after_answer_ms, default=float('nan')):.1f} "
            f"| {pct(r.after_send_ms, 50):.1f} / {pct(r.after_send_ms, 99):.1f} | {pct(r.post_ms, 50):.1f} |"
        )
    return "\n".join(rows)


def versions() -> str:
    from importlib.metadata import version

    names = ("quart", "hypercorn", "broadcaster", "sqlalchemy", "aiosqlite")
    found = []
    for name in names:
        with contextlib.suppress(Exception):
            found.append(f"{name} {version(name)}")
    return ", ".join(found)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def section(results: list[Result], args: argparse.Namespace) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = []
    for r in results:
        notes.append(
            f"- N={r.n}, the 5 slowest deliveries (ms after the POST's answer, the POST's own ms): "
            + ", ".join(f"{late:.0f} ({took:.0f})" for _, late, took in r.slowest)
        )
        for error in r.first_errors:
            notes.append(f"- N={r.n}: {error}")
    return f"""{SECTION_START}
# SSE notification stream benchmark

Written by `bench/sse.py` on {now}.

- Machine: {os.cpu_count()} CPUs available (nproc), {cpu_name()}, Linux {platform.release()}
- Python {platform.python_version()}; {versions()}
- One `hyperpics serve` process (hypercorn, one worker, `memory://` broadcast, SQLite in WAL
  mode); the client (raw asyncio streams, HTTP/1.1) runs on the same machine.
- Streams opened {args.open_concurrency} at a time; each counts as open once its `retry:` line
  arrived. Memory is the server's VmRSS after a warm-up, then 2 s after the N streams are open.
- Deliveries: one at a time, each to a different random receiver; the sender follows the
  receiver with a real `POST /_/users/<id>/follow`; latency is from the POST's answer to the
  `event: notification` on that receiver's stream ({args.warmup} unrecorded warm-up deliveries first).

{table(results)}

{chr(10).join(notes)}
{"" if any(r.first_errors for r in results) else "- No failed connections, lost deliveries or dropped streams."}
{SECTION_END}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, action="append", help="open streams (repeatable; default 1000 and 5000)")
    parser.add_argument("--deliveries", type=int, default=200, help="measured deliveries per N (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="unrecorded deliveries first (default 5)")
    parser.add_argument(
        "--open-concurrency",
        type=int,
        default=10,
        help="streams connecting at once (default 10; 16 or more deadlock the SQLite pool, see bench/README.md)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()
    sizes = args.n or [1000, 5000]
    raise_fd_limit(max(sizes) + 200)  # the client holds one descriptor per stream, the server too
    os.chdir(ROOT)
    results = []
    for n in sizes:
        started = time.perf_counter()
        result = asyncio.run(run(n, args.deliveries, args.open_concurrency, args.warmup))
        print(f"N={n}: done in {time.perf_counter() - started:.0f} s")
        results.append(result)
    print()
    print(table(results))
    for r in results:
        for error in r.first_errors:
            print(f"N={r.n}: {error}")
    if not args.no_write:
        write_section("sse.py", section(results, args))


if __name__ == "__main__":
    main()
