"""Benchmark of writes under mixed load: uploads, small writes and failed logins at once.

Run from the project root:

    .venv/bin/python bench/contention.py                                   # SQLite, then PostgreSQL; ~2 min
    .venv/bin/python bench/contention.py --engine sqlite --no-write        # one engine, print only
    .venv/bin/python bench/contention.py --root /tmp/hp-before --label before   # another checkout's code

For each engine (a fresh database and a fresh server every time):

1. SQLite: one ``hyperpics serve`` process on a new SQLite file, ``memory://`` broadcast.
   PostgreSQL: ``hyperpics serve --workers 2`` on a throwaway cluster (initdb, trust auth,
   fsync off; run as the ``postgres`` user when we are root) and a throwaway
   ``redis-server`` for the broadcast, or the servers named by ``--database-url`` /
   ``--redis-url`` (a new database is created there and dropped afterwards). The server's
   code is the checkout given by ``--root`` (``PYTHONPATH``), the interpreter is this one.
2. ``hyperpics db upgrade``, ``hyperpics seed`` (40 people, 40 photos, no follows, collects or
   comments), then 33 confirmed, active, unlocked members with the User role log in over HTTP.
3. For ``--duration`` seconds, all at once: 8 members upload a 24-megapixel JPEG (~5 MB) in a
   loop; 32 members (the uploaders among them) follow/unfollow, collect/uncollect and
   comment in a loop (htmx requests: ``HX-Request`` and ``X-CSRF-Token``); 24 anonymous
   clients send failed logins (unknown emails, wrong passwords; 422 is the right answer);
   one more member uploads a small JPEG whose body trickles in over ``--trickle-seconds``.
4. Stops the server, then reads the database directly: every acknowledged write (a 2xx/3xx
   answer) must be there. Toggles are checked per (member, target) against the last
   acknowledged state; a request that failed after it may or may not have been applied.

Prints, per engine, the answers by status, latencies, lost writes and the distinct errors of
the server log, and writes its section of bench/RESULTS.md (one block per ``--label`` and
engine, so a "before" and an "after" run sit side by side). Not a test: the exit status is 0
unless the setup failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from PIL import Image
from pipeline import make_photo
from results import RESULTS, markers, write_section

HERE = Path(__file__).resolve().parent
DEFAULT_ROOT = HERE.parent
SECTION_START, SECTION_END = markers("contention.py")
HOST = "127.0.0.1"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "contention-Bench-pw-7731"  # every seeded account's password
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PHOTO_LINK = re.compile(r'href="/photo/(\d+)"')
COMMENT_PREFIX = "contention-bench"
SMALL_KINDS = ("follow", "unfollow", "collect", "uncollect", "comment")
ENGINES = ("sqlite", "postgres")
TARGETS = 4  # members each writer follows/unfollows, photos it collects/uncollects


class SetupError(Exception):
    """The benchmark could not start (not a measurement): exit status 1."""


# --- pictures -------------------------------------------------------------------------------


def make_small_jpeg() -> bytes:
    """About 6 KB: a 96x72 noisy picture."""
    image = Image.merge("RGB", [Image.effect_noise((96, 72), 40 + 10 * i) for i in range(3)])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def stop_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Signal the process group started with ``start_new_session``; SIGKILL if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, sig)
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group (workers, backends)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def as_postgres_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, logfile: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    raise SetupError(f"{what} did not start:\n{logfile.read_text(errors='replace')[-2000:]}")


def start_postgres(folder: Path, stack: ExitStack) -> str:
    """A throwaway cluster in ``folder``; returns a URL to its ``postgres`` database."""
    pgdir = folder / "pg"
    pgdir.mkdir()
    if os.geteuid() == 0:
        folder.chmod(0o755)  # the postgres user must reach its data and socket directory
        shutil.chown(pgdir, "postgres", "postgres")
    logfile = folder / "postgres.log"
    initdb = subprocess.run(
        [
            *as_postgres_user(),
            str(PG_BIN / "initdb"),
            "-D",
            str(pgdir / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        cwd=pgdir,
        capture_output=True,
        text=True,
    )
    if initdb.returncode:
        raise SetupError(f"initdb failed: {initdb.stderr.strip() or initdb.stdout.strip()}")
    port = free_port()
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            [
                *as_postgres_user(),
                str(PG_BIN / "postgres"),
                "-D",
                str(pgdir / "data"),
                "-p",
                str(port),
                "-k",
                str(pgdir),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            cwd=pgdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.callback(stop_group, process, signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown
    wait_for_port(port, process, "PostgreSQL", logfile)
    url = f"postgresql+asyncpg://postgres@{HOST}:{port}/postgres"
    deadline = time.monotonic() + 20
    while True:  # the port opens a moment before connections are accepted
        try:
            pg_fetch(url, "SELECT 1")
            return url
        except Exception as error:  # noqa: BLE001
            if time.monotonic() > deadline:
                raise SetupError(f"PostgreSQL does not accept connections: {error}") from None
            time.sleep(0.2)


def start_redis(folder: Path, stack: ExitStack) -> str:
    port = free_port()
    logfile = folder / "redis.log"
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.callback(stop_group, process)
    wait_for_port(port, process, "redis-server", logfile)
    return f"redis://{HOST}:{port}"


def fresh_database(server_url: str, stack: ExitStack, keep: bool) -> str:
    """A new database on the server of ``server_url`` (dropped afterwards unless ``keep``)."""
    name = f"hyperpics_contention_{secrets.token_hex(4)}"
    try:
        pg_execute(server_url, f'CREATE DATABASE "{name}"')
    except Exception as error:  # noqa: BLE001
        raise SetupError(f"cannot create a database on {redact(server_url)}: {error}") from None
    if not keep:
        stack.callback(lambda: pg_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


# --- the database, read directly ------------------------------------------------------------


def plain_pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def pg_fetch(url: str, sql: str) -> list[tuple]:
    import asyncpg

    async def go() -> list[tuple]:
        connection = await asyncpg.connect(plain_pg(url), timeout=10)
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()

    return asyncio.run(go())


def pg_execute(url: str, sql: str) -> None:
    import asyncpg

    async def go() -> None:
        connection = await asyncpg.connect(plain_pg(url), timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(go())


def fetch(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        with sqlite3.connect(path, timeout=30) as connection:
            return connection.execute(sql).fetchall()
    return pg_fetch(url, sql)


# --- the server -----------------------------------------------------------------------------


@dataclass
class Target:
    engine: str
    root: Path
    folder: Path
    database_url: str
    broadcast_url: str
    workers: int
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("HYPERPICS_")}
        env.update(
            PYTHONPATH=str(self.root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
            PYTHONUNBUFFERED="1",
            HYPERPICS_DATABASE_URL=self.database_url,
            HYPERPICS_MEDIA_DIR=str(self.folder / "media"),
            HYPERPICS_SECRET_KEY="contention-" + secrets.token_urlsafe(32),
            HYPERPICS_BASE_URL=self.url,
            HYPERPICS_BROADCAST_URL=self.broadcast_url,
            HYPERPICS_RATE_LIMITS_ENABLED="false",
        )
        return env

    def command(self, *arguments: str, timeout: float = 120) -> str:
        """``hyperpics <arguments>`` from ``--root``; its output, or SetupError."""
        done = subprocess.run(
            [sys.executable, "-m", "hyperpics.cli", *arguments],
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise SetupError(
                f"`hyperpics {' '.join(arguments[:2])}` failed ({done.returncode}):\n"
                f"{(done.stdout + done.stderr)[-3000:]}"
            )
        return done.stdout + done.stderr


def check_import(target: Target) -> str:
    """The server must import ``hyperpics`` from ``--root``, not from the virtualenv's install."""
    done = subprocess.run(
        [sys.executable, "-c", "import hyperpics; print(hyperpics.__file__)"],
        cwd=target.folder,
        env=target.env(),
        capture_output=True,
        text=True,
    )
    found = done.stdout.strip()
    if done.returncode or not Path(found).resolve().is_relative_to(target.root.resolve()):
        raise SetupError(f"`import hyperpics` does not pick {target.root}: {found or done.stderr[-500:]}")
    return found


def start_server(target: Target, stack: ExitStack) -> None:
    target.port = free_port()
    command = [sys.executable, "-m", "hyperpics.cli", "serve", "--host", HOST, "--port", str(target.port)]
    if target.workers > 1:
        command += ["--workers", str(target.workers)]
    with target.log.open("wb") as out:
        target.process = subprocess.Popen(
            command, cwd=target.folder, env=target.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack.callback(stop_group, target.process)
    deadline = time.monotonic() + 45
    while True:
        try:
            with urllib.request.urlopen(target.url + "/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if target.process.poll() is not None or time.monotonic() > deadline:
            raise SetupError(f"the server did not start:\n{target.log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


# --- the load -------------------------------------------------------------------------------


@dataclass
class Call:
    kind: str
    started: float
    seconds: float
    status: int | None  # None: no answer (connection error, timeout)
    error: str = ""


@dataclass
class Member:
    id: int
    email: str
    client: httpx.AsyncClient | None = None
    token: str = ""


@dataclass
class Toggle:
    """One (member, target) pair of follows or collects: what the database must hold."""

    acked: bool = False  # the state the last acknowledged request left (nothing was seeded)
    since: set[bool] = field(default_factory=set)  # states attempted without an acknowledgement since
    acked_requests: int = 0


@dataclass
class Load:
    calls: list[Call] = field(default_factory=list)
    follows: dict[tuple[int, int], Toggle] = field(default_factory=lambda: defaultdict(Toggle))
    collects: dict[tuple[int, int], Toggle] = field(default_factory=lambda: defaultdict(Toggle))
    comments: dict[str, tuple[int, int, bool]] = field(default_factory=dict)  # marker -> (author, photo, acked)
    uploads: list[tuple[int, bool, set[int]]] = field(default_factory=list)  # (author, acked, photo ids)
    trickle: dict[str, object] = field(default_factory=dict)
    started: float = 0.0  # perf_counter at the start of the load


def acknowledged(status: int | None) -> bool:
    return status is not None and 200 <= status < 400


async def timed(load: Load, kind: str, send: Callable[[], object]) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        answer: httpx.Response = await send()  # type: ignore[misc]
    except (httpx.HTTPError, OSError) as error:
        load.calls.append(
            Call(kind, started, time.perf_counter() - started, None, f"{type(error).__name__}: {error}"[:200])
        )
        return None
    load.calls.append(Call(kind, started, time.perf_counter() - started, answer.status_code))
    return answer


def htmx_headers(token: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token}


async def csrf_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    match = CSRF_META.search(page.text)
    if page.status_code != 200 or not match:
        raise SetupError(f"GET {path} -> {page.status_code}, no CSRF token")
    return match.group(1)


async def log_in(member: Member, base_url: str) -> None:
    # Idle connections are dropped after 2 s, before hypercorn's 5 s keep-alive timeout closes
    # them under us (a request sent on a closing connection would count as "no answer").
    member.client = httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(120),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=4, keepalive_expiry=2.0),
    )
    token = await csrf_token(member.client, "/auth/login")
    answer = await member.client.post(
        "/auth/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        raise SetupError(f"login of {member.email} -> {answer.status_code}: {answer.text[:300]}")
    page = await member.client.get("/")
    match = CSRF_META.search(page.text)
    if page.status_code != 200 or not match or "user-menu" not in page.text:
        raise SetupError(f"{member.email} is not logged in after the login ({page.status_code})")
    member.token = match.group(1)  # the login rotated it


async def uploader(load: Load, member: Member, picture: bytes, end: float) -> None:
    assert member.client is not None
    while time.perf_counter() < end:
        answer = await timed(
            load,
            "upload",
            lambda: member.client.post(  # type: ignore[union-attr]
                "/upload",
                headers=htmx_headers(member.token),
                files={"photos": ("contention.jpg", picture, "image/jpeg")},
            ),
        )
        status = answer.status_code if answer is not None else None
        ids = {int(i) for i in PHOTO_LINK.findall(answer.text)} if answer is not None else set()
        load.uploads.append((member.id, acknowledged(status), ids))
        if answer is None:
            await asyncio.sleep(0.5)


async def writer(
    load: Load, member: Member, others: list[int], photos: list[tuple[int, int]], end: float, tag: str, seed: int
) -> None:
    """Follow/unfollow, collect/uncollect, comment, one request at a time, in a loop."""
    assert member.client is not None
    rng = random.Random(seed)
    # A few targets each, so that pairs come back and toggles flip (follow, then unfollow...).
    people = rng.sample(others, min(TARGETS, len(others)))
    their_photos = [photo for photo, author in photos if author != member.id]
    to_collect = rng.sample(their_photos, min(TARGETS, len(their_photos)))
    count = 0
    while time.perf_counter() < end:
        choice = rng.randrange(3)
        headers = htmx_headers(member.token)
        if choice == 0:
            target = rng.choice(people)
            state = load.follows[(member.id, target)]
            want = not state.acked
            kind = "follow" if want else "unfollow"
            url, data, table = f"/_/users/{target}/{kind}", None, state
        elif choice == 1:
            target = rng.choice(to_collect)
            state = load.collects[(member.id, target)]
            want = not state.acked
            kind = "collect" if want else "uncollect"
            url, data, table = f"/_/photos/{target}/{kind}", None, state
        else:
            target = rng.choice(their_photos)
            count += 1
            marker = f"{COMMENT_PREFIX} {tag}-{member.id}-{count}"
            kind, url, data, table = "comment", f"/_/photos/{target}/comments", {"body": marker}, None
        answer = await timed(load, kind, functools.partial(member.client.post, url, headers=headers, data=data))  # type: ignore[union-attr]
        status = answer.status_code if answer is not None else None
        if table is None:
            load.comments[marker] = (member.id, target, acknowledged(status))
        elif acknowledged(status):
            table.acked, table.since = want, set()
            table.acked_requests += 1
        else:
            table.since.add(want)
        if answer is None:
            await asyncio.sleep(0.2)  # a refused connection: do not spin


async def failed_logins(
    load: Load, base_url: str, emails: list[str], end: float, seed: int, tls: ssl.SSLContext
) -> None:
    """A fresh anonymous client per attempt: the login page (for its CSRF token), then a bad POST."""
    rng = random.Random(seed)
    attempt = 0
    while time.perf_counter() < end:
        attempt += 1
        async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60), verify=tls) as client:
            page = await timed(load, "login page", lambda: client.get("/auth/login"))
            match = CSRF_META.search(page.text) if page is not None else None
            if match is None:
                await asyncio.sleep(0.2)
                continue
            if attempt % 2:
                email, password = f"nobody-{seed}-{attempt}@example.com", PASSWORD
            else:
                email, password = rng.choice(emails), PASSWORD + "-wrong"
            await timed(
                load,
                "failed login",
                functools.partial(
                    client.post,
                    "/auth/login",
                    headers=htmx_headers(match.group(1)),
                    data={"email": email, "password": password},
                ),
            )


async def trickle(load: Load, member: Member, port: int, picture: bytes, seconds: float, chunks: int = 60) -> None:
    """A small upload whose multipart body arrives in ``chunks`` pieces over ``seconds``."""
    assert member.client is not None
    boundary = "contention" + secrets.token_hex(8)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="trickle.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + picture
        + f"\r\n--{boundary}--\r\n".encode()
    )
    cookies = "; ".join(f"{name}={value}" for name, value in member.client.cookies.items())
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: {cookies}\r\nHX-Request: true\r\n"
        f"X-CSRF-Token: {member.token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    size = -(-len(body) // chunks)
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    interval = seconds / max(1, len(pieces) - 1)
    started = time.perf_counter()
    result: dict[str, object] = {"bytes": len(body), "status": None, "error": ""}
    writer = None
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(head)
        for index, piece in enumerate(pieces):
            delay = started + index * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(piece)
            await writer.drain()
        result["body_sent_s"] = time.perf_counter() - started
        answer = await asyncio.wait_for(reader.read(), timeout=seconds + 120)
        status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
        result["status"] = int(status_line.split()[1]) if len(status_line.split()) > 1 else None
        text = answer.decode(errors="replace")
        result["photo_ids"] = sorted({int(i) for i in PHOTO_LINK.findall(text)})
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
        result["error"] = f"{type(error).__name__}: {error}"[:200]
    finally:
        if writer is not None:
            writer.close()
    result["seconds"] = time.perf_counter() - started
    load.trickle = result
    load.calls.append(Call("trickled upload", started, result["seconds"], result["status"], str(result["error"])))  # type: ignore[arg-type]
    status = result["status"]
    load.uploads.append((member.id, acknowledged(status), set(result.get("photo_ids", []))))  # type: ignore[arg-type]


async def run_load(
    target: Target,
    args: argparse.Namespace,
    members: list[Member],
    photos: list[tuple[int, int]],
    big: bytes,
    small: bytes,
) -> Load:
    load = Load()
    log(f"logging {len(members)} members in")
    gate = asyncio.Semaphore(4)

    async def one(member: Member) -> None:
        async with gate:
            await log_in(member, target.url)

    try:
        await asyncio.gather(*(one(member) for member in members))
        writers = members[: args.writers]
        uploaders = members[: args.uploaders]
        trickler = members[args.writers] if len(members) > args.writers else members[-1]
        everyone = [member.id for member in members]
        emails = [member.email for member in members]
        tag = secrets.token_hex(3)
        tls = ssl.create_default_context()  # shared: a new client per failed login needs no new context
        log(
            f"load for {args.duration:.0f} s: {len(uploaders)} uploaders, {len(writers)} small writers, "
            f"{args.login_clients} failed-login clients, 1 trickled upload over {args.trickle_seconds:.0f} s"
        )
        started = load.started = time.perf_counter()
        end = started + args.duration
        tasks = [trickle(load, trickler, target.port, small, args.trickle_seconds)]
        tasks += [uploader(load, member, big, end) for member in uploaders]
        tasks += [
            writer(load, member, [i for i in everyone if i != member.id], photos, end, tag, args.seed * 1000 + n)
            for n, member in enumerate(writers)
        ]
        tasks += [
            failed_logins(load, target.url, emails, end, args.seed * 1000 + n, tls) for n in range(args.login_clients)
        ]
        await asyncio.gather(*tasks)
        log(f"load done in {time.perf_counter() - started:.1f} s (in-flight requests included)")
    finally:
        await asyncio.gather(*(m.client.aclose() for m in members if m.client is not None), return_exceptions=True)
    return load


# --- checks ---------------------------------------------------------------------------------


@dataclass
class Lost:
    what: str
    acknowledged: int  # acknowledged requests (uploads: photos) it covers
    checked: int  # pairs / comments / photos whose state is known
    lost: int
    applied_unacknowledged: int  # failed (or unanswered) requests whose write is there anyway
    examples: list[str] = field(default_factory=list)


def check_toggles(what: str, pairs: dict[tuple[int, int], Toggle], rows: set[tuple[int, int]]) -> Lost:
    result = Lost(what, sum(p.acked_requests for p in pairs.values()), 0, 0, 0)
    for pair, state in pairs.items():
        present = pair in rows
        allowed = {state.acked} | state.since
        if not state.since:
            result.checked += 1
        if present not in allowed:
            result.lost += 1
            if len(result.examples) < 3:
                result.examples.append(
                    f"{what} {pair}: acknowledged {'present' if state.acked else 'absent'}, "
                    f"database {'present' if present else 'absent'}"
                )
        elif present != state.acked:
            result.applied_unacknowledged += 1
    strays = rows - set(pairs)
    if strays:
        result.lost += len(strays)
        result.examples.append(f"{len(strays)} {what} rows nobody asked for, e.g. {sorted(strays)[:3]}")
    return result


def check(target: Target, load: Load, seeded_photo_max: int) -> tuple[list[Lost], dict[str, int]]:
    url = target.database_url
    follows = {(a, b) for a, b in fetch(url, "SELECT follower_id, followed_id FROM follows")}
    collects = {(a, b) for a, b in fetch(url, "SELECT user_id, photo_id FROM collects")}
    comments = {
        body: (author, photo)
        for body, author, photo in fetch(
            url, f"SELECT body, author_id, photo_id FROM comments WHERE body LIKE '{COMMENT_PREFIX} %'"
        )
    }
    photos = {
        pid: (author, names)
        for pid, author, *names in fetch(
            url,
            f"SELECT id, author_id, filename_original, filename_medium, filename_small FROM photos "
            f"WHERE id > {seeded_photo_max}",
        )
    }
    results = [check_toggles("follows", load.follows, follows), check_toggles("collects", load.collects, collects)]

    lost = Lost("comments", 0, 0, 0, 0)
    for marker, (author, photo, acked) in load.comments.items():
        found = comments.get(marker)
        if acked:
            lost.acknowledged += 1
            lost.checked += 1
            if found != (author, photo):
                lost.lost += 1
                if len(lost.examples) < 3:
                    lost.examples.append(f"comment {marker!r} acknowledged, database {found}")
        elif found is not None:
            lost.applied_unacknowledged += 1
    results.append(lost)

    lost = Lost("photos (uploads)", 0, 0, 0, 0)
    claimed: set[int] = set()
    acked_by: Counter[int] = Counter()
    for author, acked, ids in load.uploads:
        if not acked:
            continue
        acked_by[author] += max(1, len(ids))
        lost.acknowledged += max(1, len(ids))
        lost.checked += max(1, len(ids))
        claimed |= ids
        if not ids:
            lost.lost += 1  # acknowledged, but the answer names no photo
            lost.examples.append(f"an upload by {author} was acknowledged without a photo link")
        for pid in ids:
            if photos.get(pid, (None,))[0] != author:
                lost.lost += 1
                if len(lost.examples) < 3:
                    lost.examples.append(f"photo {pid} of {author}: acknowledged, database {photos.get(pid)}")
    lost.applied_unacknowledged = len(set(photos) - claimed)
    results.append(lost)

    # Media files no photo row names (a failed upload must take its files back).
    named = {name for _, names in photos.values() for name in names}
    named |= {
        name
        for row in fetch(
            url, f"SELECT filename_original, filename_medium, filename_small FROM photos WHERE id <= {seeded_photo_max}"
        )
        for name in row
    }
    folder = target.folder / "media" / "photos"
    files = {path.name for path in folder.iterdir()} if folder.is_dir() else set()
    extra = {
        "orphan media files": len(files - named),
        "missing media files": len(named - files),
        "new photos in the database": len(photos),
    }
    return results, extra


# --- the server log -------------------------------------------------------------------------

ACCESS = re.compile(r'"([A-Z]+) (\S+) [\d.]+" (\d{3}) ')


def server_errors(text: str) -> tuple[Counter[str], Counter[str]]:
    """Distinct exceptions (outermost, its SQL, the root cause) and the requests answered 5xx."""
    exceptions: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    for method, path, status in ACCESS.findall(text):
        if status.startswith("5"):
            requests[f"{status} {method} {re.sub(r'/\d+', '/<id>', path.split('?')[0])}"] += 1
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if not lines[index].startswith("Traceback (most recent call last):"):
            index += 1
            continue
        chain: list[str] = []
        sql = ""
        while index < len(lines) and lines[index].startswith("Traceback (most recent call last):"):
            index += 1
            while index < len(lines) and (lines[index].startswith((" ", "\t")) or not lines[index].strip()):
                index += 1  # the frames
            if index < len(lines):
                chain.append(lines[index].strip())
                index += 1
            while (
                index < len(lines)
                and not lines[index].startswith("Traceback")
                and (
                    lines[index].startswith(("[SQL", "[parameters", "(Background", " "))
                    or not lines[index].strip()
                    or lines[index].startswith(("The above exception", "During handling"))
                )
            ):
                if lines[index].startswith("[SQL: ") and not sql:
                    sql = " ".join(lines[index][6:].split())[:80].rstrip("]")
                index += 1
        if chain:
            outer, inner = normalise(chain[-1]), normalise(chain[0])
            key = outer + (f" [SQL: {sql}]" if sql else "")
            exceptions[key if outer == inner else f"{key} (cause: {inner})"] += 1
    return exceptions, requests


def normalise(line: str) -> str:
    line = re.sub(r"0x[0-9a-f]+", "0x…", line)
    return line[:200]


# --- one engine -----------------------------------------------------------------------------


@dataclass
class Outcome:
    engine: str
    label: str
    root: str
    commit: str
    when: str
    duration: float
    server: str
    calls: list[Call]
    lost: list[Lost]
    extra: dict[str, int]
    trickle: dict[str, object]
    exceptions: Counter[str]
    failing_requests: Counter[str]
    log_path: str
    load_started: float


def git_state(root: Path) -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return commit + (" dirty" if dirty else "")


def run_engine(engine: str, args: argparse.Namespace, big: bytes, small: bytes) -> Outcome:
    root = Path(args.root).resolve()
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix=f"hyperpics-contention-{engine}-"))
        if args.keep:
            stack.callback(lambda: print(f"kept {folder}"))
        else:
            stack.callback(shutil.rmtree, folder, True)
        if engine == "sqlite":
            database_url, broadcast, workers = f"sqlite+aiosqlite:///{folder / 'hp.db'}", "memory://", 1
            server = "one `hyperpics serve` process, SQLite (WAL) file, memory:// broadcast"
        else:
            server_url = args.database_url or start_postgres(folder, stack)
            database_url = fresh_database(server_url, stack, args.keep)
            broadcast = args.redis_url or start_redis(folder, stack)
            workers = args.workers
            server = (
                f"`hyperpics serve --workers {workers}`, PostgreSQL 15"
                f"{' (--database-url)' if args.database_url else ' (throwaway cluster, fsync off)'}, redis broadcast"
            )
        target = Target(engine, root, folder, database_url, broadcast, workers)
        log(f"{engine}: code from {check_import(target)}; database {redact(database_url)}")
        target.command("db", "upgrade")
        target.command(
            "seed",
            "--users",
            "40",
            "--photos",
            "40",
            "--tags",
            "10",
            "--follows",
            "0",
            "--collects",
            "0",
            "--comments",
            "0",
            "--reports",
            "0",
            "--seed",
            "1",
            "--password",
            PASSWORD,
            "--yes",
            "--workers",
            "2",
        )
        rows = fetch(
            database_url,
            "SELECT u.id, u.email FROM users u JOIN roles r ON r.id = u.role_id "
            "WHERE r.name = 'User' AND u.confirmed AND u.active AND NOT u.locked ORDER BY u.id",
        )
        needed = args.writers + 1
        if len(rows) < needed:
            raise SetupError(f"the seed made {len(rows)} confirmed, active, unlocked members; {needed} are needed")
        members = [Member(uid, email) for uid, email in rows[:needed]]
        photos = [
            (pid, author)
            for pid, author in fetch(
                database_url,
                "SELECT p.id, p.author_id FROM photos p JOIN users u ON u.id = p.author_id "
                "WHERE p.visibility = 'public' AND p.can_comment AND u.active ORDER BY p.id",
            )
        ]
        seeded_max = fetch(database_url, "SELECT COALESCE(MAX(id), 0) FROM photos")[0][0]
        start_server(target, stack)
        log(
            f"{engine}: server up at {target.url} (pid {target.process.pid}, {workers} worker(s)); "
            f"{len(members)} members, {len(photos)} public photos"
        )
        load = asyncio.run(run_load(target, args, members, photos, big, small))
        assert target.process is not None
        stop_group(target.process)  # every transaction has ended before the database is read
        lost, extra = check(target, load, seeded_max)
        text = target.log.read_text(errors="replace")
        exceptions, failing = server_errors(text)
        if args.keep:
            log(f"{engine}: server log {target.log}")
        return Outcome(
            engine=engine,
            label=args.label,
            root=str(root),
            commit=git_state(root),
            when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            duration=args.duration,
            server=server,
            calls=load.calls,
            lost=lost,
            extra=extra,
            trickle=load.trickle,
            exceptions=exceptions,
            failing_requests=failing,
            log_path=str(target.log),
            load_started=load.started,
        )
    raise AssertionError("unreachable")


# --- reporting ------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


EXPECTED = {"failed login": {422}, "login page": {200}}


def row(kind: str, calls: list[Call]) -> dict[str, object]:
    expected = EXPECTED.get(kind, {200})
    statuses = Counter(c.status for c in calls)
    five = {s: n for s, n in statuses.items() if s is not None and s >= 500}
    seconds = [c.seconds for c in calls if c.status is not None]
    return {
        "kind": kind,
        "count": len(calls),
        "expected": sum(n for s, n in statuses.items() if s in expected),
        "5xx": sum(five.values()),
        "5xx_by_code": ", ".join(f"{n} x {s}" for s, n in sorted(five.items())),
        "429": statuses.get(429, 0),
        "other": sum(n for s, n in statuses.items() if s is not None and s not in expected and s < 500 and s != 429),
        "other_codes": ", ".join(
            f"{n} x {s}"
            for s, n in sorted(statuses.items(), key=lambda i: i[0] or 0)
            if s is not None and s not in expected and s < 500 and s != 429
        ),
        "errors": statuses.get(None, 0),
        "p50": pct(seconds, 50),
        "p99": pct(seconds, 99),
        "max": max(seconds, default=float("nan")),
    }


def longest_stall(outcome: Outcome) -> tuple[float, float]:
    """The longest time without any acknowledged write (small writes and uploads) answering,
    from the start of the load to the last answer: (seconds, when it began, s into the load)."""
    written = {*SMALL_KINDS, "upload", "trickled upload"}
    points = sorted(c.started + c.seconds for c in outcome.calls if c.kind in written and acknowledged(c.status))
    points = [outcome.load_started, *points]
    gaps = [(b - a, a - outcome.load_started) for a, b in zip(points, points[1:], strict=False)]
    return max(gaps, default=(float("nan"), 0.0))


def summary(outcome: Outcome) -> dict[str, object]:
    calls = outcome.calls
    small = [c for c in calls if c.kind in SMALL_KINDS]
    small_row = row("small writes", small)
    totals = Counter(c.status for c in calls)
    five = {s: n for s, n in totals.items() if s is not None and s >= 500}
    uploads = [c for c in calls if c.kind == "upload"]
    logins = row("failed login", [c for c in calls if c.kind == "failed login"])
    other = sum(r["other"] for r in (row(k, [c for c in calls if c.kind == k]) for k in {c.kind for c in calls}))  # type: ignore[misc]
    return {
        "label": outcome.label,
        "engine": outcome.engine,
        "commit": outcome.commit,
        "when": outcome.when,
        "requests": len(calls),
        "5xx": sum(five.values()),
        "5xx_by_code": ", ".join(f"{n} x {s}" for s, n in sorted(five.items())),
        "429": totals.get(429, 0),
        "other": other,
        "errors": totals.get(None, 0),
        "lost": sum(item.lost for item in outcome.lost),
        "small": len(small),
        "small_p50": small_row["p50"],
        "small_p99": small_row["p99"],
        "small_max": small_row["max"],
        "uploads_ok": sum(1 for c in uploads if c.status == 200),
        "uploads": len(uploads),
        "upload_p50": pct([c.seconds for c in uploads if c.status is not None], 50),
        "login_p50": logins["p50"],
        "login_p99": logins["p99"],
        "trickle": trickle_text(outcome.trickle),
        "stall": longest_stall(outcome)[0],
    }


def trickle_text(result: dict[str, object]) -> str:
    if not result:
        return "not run"
    status = result.get("status") or result.get("error") or "no answer"
    return f"{status} after {float(result.get('seconds', 0)):.1f} s"  # type: ignore[arg-type]


def seconds(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    if number != number:
        return "–"
    return f"{number:.3f}" if number < 10 else f"{number:.1f}"


def verdict(s: dict[str, object]) -> str:
    return (
        f"{s['engine']}{' (' + str(s['label']) + ')' if s['label'] else ''}: {s['5xx']} x 5xx, "
        f"{s['lost']} lost writes, small-write p99 {seconds(s['small_p99'])} s"
    )


def tables(outcome: Outcome) -> str:
    kinds = [*SMALL_KINDS, "small writes", "upload", "trickled upload", "failed login", "login page"]
    lines = [
        "| requests | sent | answered as expected | 5xx | 429 | other status | no answer | p50 s | p99 s | max s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in kinds:
        calls = [c for c in outcome.calls if (c.kind in SMALL_KINDS if kind == "small writes" else c.kind == kind)]
        r = row(kind, calls)
        name = f"**{kind}**" if kind == "small writes" else kind
        five = f"{r['5xx']}" + (f" ({r['5xx_by_code']})" if r["5xx"] else "")
        other = f"{r['other']}" + (f" ({r['other_codes']})" if r["other"] else "")
        lines.append(
            f"| {name} | {r['count']} | {r['expected']} | {five} | {r['429']} | {other} | {r['errors']} "
            f"| {seconds(r['p50'])} | {seconds(r['p99'])} | {seconds(r['max'])} |"
        )
    lines += [
        "",
        "| written | acknowledged requests | rows checked | lost | applied without an acknowledgement |",
        "|---|---:|---:|---:|---:|",
    ]
    for item in outcome.lost:
        lines.append(
            f"| {item.what} | {item.acknowledged} | {item.checked} | {item.lost} | {item.applied_unacknowledged} |"
        )
    return "\n".join(lines)


def details(outcome: Outcome) -> list[str]:
    notes = []
    t = outcome.trickle
    if t:
        notes.append(
            f"Trickled upload ({t.get('bytes')} bytes over {outcome_trickle_seconds(t)}): status "
            f"{t.get('status')}, {float(t.get('seconds', 0)):.1f} s from the first byte to the answer"  # type: ignore[arg-type]
            + (f", photo {t.get('photo_ids')}" if t.get("photo_ids") else "")
            + (f", {t.get('error')}" if t.get("error") else "")
            + "."
        )
    stall, at = longest_stall(outcome)
    notes.append(
        f"Longest time without any write acknowledged (small writes, uploads): {seconds(stall)} s, "
        f"from {at:.1f} s into the load."
    )
    extra = ", ".join(f"{name} {count}" for name, count in outcome.extra.items())
    notes.append(f"Afterwards: {extra}.")
    for item in outcome.lost:
        notes += [f"Lost: {example}" for example in item.examples]
    errors = [c.error for c in outcome.calls if c.status is None and c.error]
    if errors:
        top = Counter(re.sub(r"\d+", "N", e) for e in errors).most_common(3)
        notes.append("No answer: " + "; ".join(f"{n} x {e}" for e, n in top) + ".")
    if outcome.exceptions:
        notes.append(f"Server log: {sum(outcome.exceptions.values())} tracebacks:")
        notes += [f"  - {n} x `{text}`" for text, n in outcome.exceptions.most_common(8)]
        if outcome.failing_requests:
            notes.append(
                "  - 5xx in the access log: "
                + ", ".join(f"{request} ({n})" for request, n in outcome.failing_requests.most_common(8))
            )
    else:
        notes.append("Server log: no tracebacks.")
    return notes


def outcome_trickle_seconds(t: dict[str, object]) -> str:
    sent = t.get("body_sent_s")
    return f"{float(sent):.1f} s" if sent is not None else "an unfinished send"  # type: ignore[arg-type]


def print_outcome(outcome: Outcome) -> None:
    print()
    print(f"== {outcome.engine}: {outcome.server}; code {outcome.root} at {outcome.commit}")
    print(tables(outcome))
    for note in details(outcome):
        print(note)


BLOCK = re.compile(r"<!-- contention block: (.*?) -->\n(.*?)<!-- contention block end -->\n?", re.DOTALL)
SUMMARY = re.compile(r"<!-- summary (\{.*?\}) -->")


def block(outcome: Outcome, args: argparse.Namespace) -> str:
    s = summary(outcome)
    key = json.dumps({"label": outcome.label, "engine": outcome.engine})
    notes = "\n".join(f"- {note}" if not note.startswith("  ") else note for note in details(outcome))
    return f"""<!-- contention block: {key} -->
<!-- summary {json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()})} -->
### {outcome.label or "unlabelled"}: {outcome.engine}

- Run {outcome.when} on {os.cpu_count()} CPUs (nproc); code `{outcome.root}` at `{outcome.commit}`.
- Server: {outcome.server}.
- Load for {outcome.duration:.0f} s: {args.uploaders} uploaders, {args.writers} small writers,
  {args.login_clients} failed-login clients, 1 trickled upload over {args.trickle_seconds:.0f} s.

**{verdict(s)}**

{tables(outcome)}

{notes}
<!-- contention block end -->
"""


def section(blocks: dict[tuple[str, str], str]) -> str:
    labels: list[str] = []
    for label, _ in blocks:
        if label not in labels:
            labels.append(label)
    body = []
    summary_rows = [
        "| label | engine | code | 5xx | 429 | other | no answer | lost writes | small writes | p50 / p99 / max s "
        "| uploads ok / sent | failed login p50 / p99 s | trickled upload | longest stall s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---:|",
    ]
    for label in labels:
        body.append(f"## {label or 'unlabelled'}\n")
        for engine in ENGINES:
            text = blocks.get((label, engine))
            if text is None:
                continue
            body.append(text.rstrip("\n") + "\n")
            found = SUMMARY.search(text)
            if found:
                s = json.loads(found.group(1))
                five = f"{s['5xx']}" + (f" ({s['5xx_by_code']})" if s["5xx"] else "")
                summary_rows.append(
                    f"| {label or 'unlabelled'} | {engine} | `{s['commit']}` | {five} | {s['429']} | {s['other']} "
                    f"| {s['errors']} | {s['lost']} | {s['small']} "
                    f"| {seconds(s['small_p50'])} / {seconds(s['small_p99'])}"
                    f" / {seconds(s['small_max'])} | {s['uploads_ok']} / {s['uploads']} "
                    f"| {seconds(s['login_p50'])} / {seconds(s['login_p99'])} | {s['trickle']} "
                    f"| {seconds(s.get('stall', 'nan'))} |"
                )
    return f"""{SECTION_START}
# Writes under mixed load (contention)

Written by `bench/contention.py`; one block per label and engine, each replaced only by a run
with the same `--label` (the commit is that of `--root`; "dirty": uncommitted changes).
The load, all at once for the given time: 8 members upload a 24 MP JPEG (~5 MB) in a loop, 32
members follow/unfollow, collect/uncollect and comment in a loop (htmx requests), 24
anonymous clients send failed logins (422 expected), and one member's small upload trickles in
over 30 s. "Lost writes": acknowledged writes (2xx/3xx) missing from the database afterwards
(toggles: the last acknowledged state of each member/target pair). Latencies cover every
answered request, whatever its status.

{chr(10).join(summary_rows)}

{chr(10).join(body)}{SECTION_END}
"""


def existing_blocks() -> dict[tuple[str, str], str]:
    if not RESULTS.exists():
        return {}
    text = RESULTS.read_text()
    if SECTION_START not in text or SECTION_END not in text:
        return {}
    inside = text.split(SECTION_START, 1)[1].split(SECTION_END, 1)[0]
    found = {}
    for match in BLOCK.finditer(inside):
        try:
            key = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        found[(key["label"], key["engine"])] = match.group(0)
    return found


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="both", help="default: both, SQLite first")
    parser.add_argument(
        "--root", default=str(DEFAULT_ROOT), help="checkout whose code the server runs (default: this one)"
    )
    parser.add_argument("--label", default=None, help="names this run's block in RESULTS.md (default: the commit)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument(
        "--trickle-seconds", type=float, default=30.0, help="the trickled upload's send time (default 30)"
    )
    parser.add_argument("--uploaders", type=int, default=8, help="members uploading 24 MP JPEGs (default 8)")
    parser.add_argument("--writers", type=int, default=32, help="members doing small writes (default 32)")
    parser.add_argument("--login-clients", type=int, default=24, help="clients sending failed logins (default 24)")
    parser.add_argument("--workers", type=int, default=2, help="server processes with PostgreSQL (default 2)")
    parser.add_argument(
        "--database-url",
        help="postgresql+asyncpg://... of an existing server: a new database is "
        "created there for the run and dropped afterwards",
    )
    parser.add_argument("--redis-url", help="redis://host:port of an existing Redis for the broadcast")
    parser.add_argument("--seed", type=int, default=1, help="the client's random choices (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (database, server log)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/RESULTS.md")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    if not (root / "hyperpics" / "__init__.py").is_file():
        parser.error(f"--root {root} holds no hyperpics package")
    if args.uploaders > args.writers:
        parser.error("--uploaders must not exceed --writers (uploaders are among the small writers)")
    if args.label is None:
        args.label = git_state(root)
    args.label = re.sub(r"[|<>\n]|-->", " ", args.label).strip()
    if args.database_url and not args.database_url.startswith("postgresql+asyncpg://"):
        parser.error("--database-url must be postgresql+asyncpg://...")
    engines = list(ENGINES) if args.engine == "both" else [args.engine]

    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds every ExitStack: servers stopped, temp dirs removed

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    log("making the pictures")
    big, small = make_photo(), make_small_jpeg()
    log(f"pictures: {len(big) / 1e6:.1f} MB (6000x4000) and {len(small) / 1e3:.1f} KB")
    outcomes: list[Outcome] = []
    failed: list[str] = []
    try:
        for engine in engines:
            started = time.perf_counter()
            try:
                outcome = run_engine(engine, args, big, small)
            except SetupError as error:
                failed.append(f"{engine}: setup failed: {error}")
                print(f"\n{engine}: SETUP FAILED: {error}\n", file=sys.stderr)
                continue
            print_outcome(outcome)
            log(f"{engine}: {time.perf_counter() - started:.0f} s including setup")
            outcomes.append(outcome)
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temp dirs removed", file=sys.stderr)
        return 130
    print()
    for outcome in outcomes:
        print(verdict(summary(outcome)))
    for line in failed:
        print(line.splitlines()[0])
    if outcomes and not args.no_write:
        blocks = existing_blocks()
        for outcome in outcomes:
            blocks[(outcome.label, outcome.engine)] = block(outcome, args)
        write_section("contention.py", section(blocks))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
