"""Page benchmark: what every main page costs, next to the framework's floor, at two sizes.

Run from the project root:

    .venv/bin/python bench/pages.py      # both sizes, 1 and 2 workers (~15 min); writes bench/RESULTS.md
    .venv/bin/python bench/pages.py --sizes small --workers 2 --no-write
    .venv/bin/python bench/pages.py --pages photo,explore --seconds 3 --no-write
    .venv/bin/python bench/pages.py --profile              # also py-spy on the slowest page (1 worker)
    .venv/bin/python bench/pages.py --root /tmp/hp-before --label before   # older code, same run

What it does, for each size:

1. Seeds a site. ``small`` is Albumy's demo size (50 people, 500 photos, 1,000 collects, 2,000
   comments), made by the real ``hyperpics seed`` command, pictures included. ``large`` is
   5,000 people, 100,000 photos, 1,000,000 collects and 200,000 comments (with the seed's own
   plan: its follows, replies, notifications, reports): the same plan written by the seed's own
   ``store.write``, but the picture files are not drawn (pages never read them), so it takes
   minutes. The large database is kept in ``--cache`` and reused while the code that makes it
   (the plan, the store, the migrations) is unchanged.
2. Serves it as a deployer would: ``hyperpics serve`` with ``HYPERPICS_ENV=production`` (a
   secret key, standard password hashing, the access log on), one worker, then two (with a
   throwaway Redis for the broadcast, as two workers need).
3. Logs a member and an administrator in over HTTP, then measures each page with ``wrk``
   (installed with apt if missing): ``--seconds`` per page, ``-t2 -c16``, each page right
   after a run against the floor: ``bench/floor.py``, a constant-string Quart endpoint served
   by the same server code with the same number of workers. Reports req/s, p99 latency, the
   share of the floor's req/s, and the server's CPU per request (user + system time of all
   its processes, from ``/proc``, divided by the requests served).

Every page is fetched once first and must answer 200 (as the right person); a run with
non-2xx answers is marked. Not a test: pytest only collects tests/.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from contention import HOST, SetupError, free_port, log, start_redis, stop_group
from results import RESULTS, markers, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "pages-Bench-pw-4471"  # every seeded account's password
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
LOGGED_IN_MARK = "user-menu"  # the nav's menu, only for a member
NOW = "2026-06-01T12:00:00"
SIZES = {
    "small": {
        "users": 50,
        "photos": 500,
        "tags": 30,
        "follows": 300,
        "collects": 1000,
        "comments": 2000,
        "reports": 20,
    },
    "large": {
        "users": 5000,
        "photos": 100_000,
        "tags": 500,
        "follows": 50_000,
        "collects": 1_000_000,
        "comments": 200_000,
        "reports": 1000,
    },
}
BLOCK = re.compile(r"<!-- bench/pages.py block: (.+?) -->\n(.*?)<!-- bench/pages.py block end -->\n?", re.S)


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


# --- the site ---------------------------------------------------------------------------------


@dataclass
class Site:
    size: str
    folder: Path
    database: Path

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database}"


def _command_env(root: Path, site: Site, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HYPERPICS_")}
    env.update(
        PYTHONPATH=str(root),
        PYTHONUNBUFFERED="1",
        HYPERPICS_DATABASE_URL=site.url,
        HYPERPICS_MEDIA_DIR=str(site.folder / "media"),
        **extra,
    )
    return env


def seed_small(root: Path, site: Site) -> None:
    sizes = SIZES["small"]
    arguments = [f"--{name}={count}" for name, count in sizes.items()]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hyperpics.cli",
            "seed",
            *arguments,
            "--seed",
            "1",
            "--password",
            PASSWORD,
            "--now",
            NOW,
            "--yes",
        ],
        cwd=site.folder,
        env=_command_env(root, site),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise SetupError(f"hyperpics seed failed:\n{(done.stdout + done.stderr)[-3000:]}")


def _large_key() -> str:
    """Changes whenever the code that makes the large database's rows does (a newer schema is
    reached by the migrations the server runs on its copy at start)."""
    digest = hashlib.sha256(json.dumps(SIZES["large"], sort_keys=True).encode())
    for path in sorted((ROOT / "hyperpics" / "seed").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def _write_large(url: str) -> None:
    from hyperpics.infra import media, migrations, passwords
    from hyperpics.infra.db import Database
    from hyperpics.seed import store
    from hyperpics.seed.plan import build
    from hyperpics.seed.rows import SeedOptions

    await asyncio.to_thread(migrations.upgrade, url)
    counts = {f"{name[:-1]}_count": count for name, count in SIZES["large"].items()}  # users -> user_count
    options = SeedOptions(**counts, seed=1, now=datetime.fromisoformat(NOW).replace(tzinfo=UTC))
    started = time.perf_counter()
    plan = build(options)
    log(f"  plan built in {time.perf_counter() - started:.0f} s")

    def name(number: int, suffix: str = "") -> str:  # a valid stored name, no file behind it
        return f"{number:024x}{suffix}.jpg"

    photos = [
        media.StoredPhoto(name(index), name(index, "_m"), name(index, "_s"), 1600, 1200 if index % 3 else 1067)
        for index in range(len(plan.photos))
    ]
    avatars = [
        media.StoredAvatar(name(10**9 + index, "_s"), name(10**9 + index, "_m"), name(10**9 + index, "_l"))
        for index in range(len(plan.people))
    ]
    password_hash = await passwords.hash_password(PASSWORD)
    database = Database(url)
    try:
        async with database.session(write=True) as session:
            written = await store.write(
                session, plan, avatars=avatars, photos=photos, password_hash=password_hash, advance=lambda _n: None
            )
            await session.commit()
    finally:
        await database.dispose()
    for item in written:
        log(f"  {item.table:<16}{item.rows:>10,} rows  {item.seconds:6.1f} s")


def seed_large(site: Site, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"large-{_large_key()}.db"
    if not cached.exists():
        log(f"seeding the large site into {cached} (a few minutes; kept for later runs)")
        started = time.perf_counter()
        building = cached.with_suffix(".building")
        for stale in cache.glob("large-*"):
            stale.unlink()
        asyncio.run(_write_large(f"sqlite+aiosqlite:///{building}"))
        # No ANALYZE: a site's own database has no statistics unless someone runs it, and the
        # query plans measured here must be the ones it gets.
        connection = sqlite3.connect(building)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        building.rename(cached)
        log(f"  large site seeded in {time.perf_counter() - started:.0f} s")
    shutil.copyfile(cached, site.database)


def make_site(size: str, root: Path, folder: Path, cache: Path) -> Site:
    site = Site(size, folder, folder / "hyperpics.db")
    (folder / "media").mkdir(parents=True, exist_ok=True)
    if size == "small":
        seed_small(root, site)
    else:
        seed_large(site, cache)
    return site


# --- choosing what to ask for -------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    who: str  # "anonymous", "member" or "admin"
    htmx: bool = False


def choose_pages(site: Site) -> tuple[list[Page], dict[str, str]]:
    """Pages named by what the seeded site holds; and the member's and admin's emails."""
    with sqlite3.connect(site.database) as db:
        one = lambda sql: db.execute(sql).fetchone()  # noqa: E731
        admin = one(
            "SELECT u.email FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'Administrator' "
            "AND u.confirmed AND u.active ORDER BY u.id LIMIT 1"
        )[0]
        # The member with the busiest feed: a confirmed, unlocked User who follows the most people.
        member_id, member = one(
            "SELECT u.id, u.email FROM users u JOIN roles r ON r.id = u.role_id "
            "WHERE r.name = 'User' AND u.confirmed AND u.active AND NOT u.locked "
            "ORDER BY (SELECT count(*) FROM follows f WHERE f.follower_id = u.id) DESC, u.id LIMIT 1"
        )
        photo_id, author_id = one(
            "SELECT p.id, p.author_id FROM photos p WHERE p.visibility = 'public' "
            "ORDER BY (SELECT count(*) FROM comments c WHERE c.photo_id = p.id) DESC, p.id LIMIT 1"
        )
        username = one(f"SELECT username FROM users WHERE id = {author_id}")[0]
        tag_id, tag_name = one(
            "SELECT t.id, t.name FROM tags t JOIN photo_tags pt ON pt.tag_id = t.id "
            "GROUP BY t.id ORDER BY count(*) DESC, t.id LIMIT 1"
        )
    word = urllib.parse.quote(tag_name)
    both = [
        Page("home", "/", "anonymous"),
        Page("explore", "/explore", "anonymous"),
        Page("photo", f"/photo/{photo_id}", "anonymous"),
        Page("user", f"/user/{username}", "anonymous"),
        Page("tag", f"/tag/{tag_id}", "anonymous"),
        Page("search photos", f"/search?q={word}&category=photo", "anonymous"),
        Page("search people", f"/search?q={username[:3]}&category=user", "anonymous"),
        Page("search tags", f"/search?q={word[:3]}&category=tag", "anonymous"),
        Page("user card", f"/_/users/{author_id}/card", "anonymous", htmx=True),
    ]
    pages: list[Page] = []
    for page in both:
        pages += [page, Page(page.name, page.path, "member", page.htmx)]
    pages += [Page("notifications", "/notifications", "member"), Page("admin users", "/admin/users", "admin")]
    del member_id
    return pages, {"member": member, "admin": admin}


# --- the servers --------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system time of every process in the server's group (the workers too)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # Fields after the command: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
            if int(fields[2]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / _clock_ticks()


def _wait_until_answering(server: Server, path: str = "/", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(server.url + path, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server.process.poll() is not None:
            break
        time.sleep(0.2)
    raise SetupError(f"the server did not start:\n{server.log.read_text(errors='replace')[-3000:]}")


def start_site_server(
    root: Path, site: Site, workers: int, broadcast: str, stack: ExitStack, settings: dict[str, str] | None = None
) -> Server:
    port = free_port()
    logfile = site.folder / f"server-{workers}.log"
    env = _command_env(
        root,
        site,
        HYPERPICS_ENV="production",
        HYPERPICS_SECRET_KEY="pages-" + secrets.token_urlsafe(32),
        HYPERPICS_BASE_URL=f"http://{HOST}:{port}",
        HYPERPICS_BROADCAST_URL=broadcast,
        **{f"HYPERPICS_{key}": value for key, value in (settings or {}).items()},
    )
    command = [
        sys.executable,
        "-m",
        "hyperpics.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=site.folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, logfile)
    stack.callback(stop_group, process)
    _wait_until_answering(server)
    return server


def start_floor_server(folder: Path, workers: int, stack: ExitStack) -> Server:
    port = free_port()
    logfile = folder / f"floor-{workers}.log"
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "floor.py"), "--host", HOST, "--port", str(port), "--workers", str(workers)],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, logfile)
    stack.callback(stop_group, process)
    _wait_until_answering(server)
    return server


# --- logging in ---------------------------------------------------------------------------------


def _cookies(headers: list[tuple[str, str]], jar: dict[str, str]) -> None:
    """Production cookies are Secure: kept by hand, since this runs over plain HTTP."""
    for key, value in headers:
        if key.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]


def _request(
    url: str, jar: dict[str, str], data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data else None)
    if jar:
        request.add_header("Cookie", "; ".join(f"{key}={value}" for key, value in jar.items()))
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as answer:
            _cookies(answer.headers.items(), jar)
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        _cookies(error.headers.items(), jar)
        return error.code, error.read().decode(errors="replace")


def log_in(server: Server, email: str) -> str:
    """The Cookie header of a fresh login of ``email``."""
    jar: dict[str, str] = {}
    status, page = _request(server.url + "/auth/login", jar)
    token = CSRF_META.search(page)
    if status != 200 or token is None:
        raise SetupError(f"GET /auth/login -> {status}")
    status, _ = _request(
        server.url + "/auth/login", jar, {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if status != 303 or "hyperpics_auth" not in jar:
        raise SetupError(f"login of {email} -> {status}")
    return "; ".join(f"{key}={value}" for key, value in jar.items())


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Measure:
    requests: int
    seconds: float
    rps: float
    p99_ms: float
    bad: int  # non-2xx/3xx answers and socket errors
    cpu_ms: float  # server CPU per request
    bad_detail: str = ""  # what the bad ones were: "2 non-2xx, 1 read error"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, seconds: float, headers: dict[str, str]) -> tuple[int, float, float, float, str]:
    command = ["wrk", "-t2", "-c16", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "30s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout
    if done.returncode or "requests in" not in out:
        raise SetupError(f"wrk failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    served = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    assert served is not None
    duration = float(served.group(2)) * {"s": 1.0, "ms": 0.001, "m": 60.0}[served.group(3)]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else math.nan
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # What went wrong, by kind: an answer that was not 2xx/3xx is the server's; a read error
    # is most often a connection closed as the run stopped.
    kinds = [(sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out)), "non-2xx")]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        kinds += [
            (int(n), f"{kind} error")
            for n, kind in zip(errors.groups(), ("connect", "read", "write", "timeout"), strict=True)
        ]
    detail = ", ".join(f"{count} {kind}" for count, kind in kinds if count)
    return int(served.group(1)), duration, rps, p99_ms, detail


def measure(server: Server, path: str, seconds: float, headers: dict[str, str]) -> Measure:
    before = server.cpu_seconds()
    requests, duration, rps, p99, detail = _wrk(server.url + path, seconds, headers)
    cpu = server.cpu_seconds() - before
    bad = sum(int(part.split()[0]) for part in detail.split(", ") if part)
    return Measure(requests, duration, rps, p99, bad, 1000 * cpu / max(requests, 1), detail)


def headers_for(page: Page, cookies: dict[str, str]) -> dict[str, str]:
    headers = {"Accept-Encoding": "identity"}
    if page.who != "anonymous":
        headers["Cookie"] = cookies[page.who]
    if page.htmx:
        headers["HX-Request"] = "true"
    return headers


def check_page(server: Server, page: Page, headers: dict[str, str]) -> None:
    jar: dict[str, str] = {}
    status, body = _request(server.url + page.path, jar, headers={k: v for k, v in headers.items()})
    if status != 200:
        raise SetupError(f"{page.name} ({page.who}) {page.path} -> {status}:\n{body[:500]}")
    if not page.htmx and (LOGGED_IN_MARK in body) != (page.who != "anonymous"):
        raise SetupError(f"{page.name} ({page.who}) {page.path}: not seen as {page.who}")


@dataclass
class Row:
    page: Page
    result: Measure
    floor: Measure

    @property
    def share(self) -> float:
        return self.result.rps / self.floor.rps


@dataclass
class Run:
    size: str
    workers: int
    rows: list[Row] = field(default_factory=list)


def run_pages(
    server: Server,
    floor: Server,
    pages: list[Page],
    cookies: dict[str, str],
    seconds: float,
    floor_seconds: float,
    run: Run,
) -> None:
    for page in pages:
        headers = headers_for(page, cookies)
        floor_result = measure(floor, "/", floor_seconds, {})
        try:
            check_page(server, page, headers)
        except (SetupError, OSError) as error:  # older code may not answer at all in time
            log(f"  {page.name:<14} {page.who:<9} NO ANSWER: {str(error)[:120]}")
            run.rows.append(Row(page, Measure(0, 0.0, 0.0, math.nan, 1, math.nan), floor_result))
            continue
        _wrk(server.url + page.path, 1, headers)  # warm-up: caches, pools, imports
        result = measure(server, page.path, seconds, headers)
        row = Row(page, result, floor_result)
        run.rows.append(row)
        log(
            f"  {page.name:<14} {page.who:<9} {result.rps:8.0f} req/s  p99 {result.p99_ms:7.1f} ms  "
            f"floor {floor_result.rps:6.0f}  {100 * row.share:5.1f} %  {result.cpu_ms:6.2f} ms CPU/req"
            + (f"  BAD: {result.bad_detail}" if result.bad else "")
        )


# --- profiling ----------------------------------------------------------------------------------


def profile(server: Server, page: Page, cookies: dict[str, str], seconds: float, out: Path) -> None:
    """py-spy on the one-worker server (the thread holding the GIL) while wrk asks for ``page``."""
    raw = out.with_suffix(".folded")
    spy = subprocess.Popen(
        [
            shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.process.pid),
            "--gil",
            "--rate",
            "250",
            "--format",
            "raw",
            "--duration",
            str(int(seconds)),
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)
    _wrk(server.url + page.path, seconds - 1, headers_for(page, cookies))
    spy.wait(timeout=seconds + 60)
    if not raw.exists():
        log(f"py-spy wrote nothing: {spy.stderr.read().decode()[-500:] if spy.stderr else ''}")
        return
    out.write_text(summarise_profile(raw.read_text(), f"{page.name} ({page.who})"))
    raw.unlink()
    log(f"profile of {page.name} ({page.who}) written to {out.relative_to(ROOT)}")


def _area(frame: str) -> str:
    """A frame's package, for the "where the time goes" table."""
    for needle, area in (
        ("jinja2", "Jinja rendering"),
        ("/templates/", "Jinja rendering"),
        ("sqlalchemy", "SQLAlchemy"),
        ("aiosqlite", "aiosqlite / sqlite3"),
        ("sqlite3", "aiosqlite / sqlite3"),
        ("hypercorn", "hypercorn / h11"),
        ("h11", "hypercorn / h11"),
        ("quart_auth", "Quart-Auth"),
        ("quart", "Quart / werkzeug"),
        ("werkzeug", "Quart / werkzeug"),
        ("wtforms", "WTForms"),
        ("asyncio", "asyncio"),
        ("hyperpics", "hyperpics (own code)"),
    ):
        if needle in frame:
            return area
    return "other"


def summarise_profile(folded: str, title: str) -> str:
    """Top functions by own samples and by samples including callees; and the areas."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    areas: dict[str, int] = {}
    roots: dict[str, int] = {}  # what each thread was started to run
    total = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not frames:
            continue
        total += count
        root = next(
            (frame for frame in frames if not frame.startswith(("_bootstrap", "Thread.run", "<module>"))), frames[0]
        )
        roots[root] = roots.get(root, 0) + count
        leaf = frames[-1]
        own[leaf] = own.get(leaf, 0) + count
        areas[_area(leaf)] = areas.get(_area(leaf), 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [
        f"py-spy (--gil: the thread holding the GIL), {title}: {total} samples",
        "",
        "Where the time goes (own samples, by package):",
    ]
    lines += [f"  {100 * n / total:5.1f} %  {area}" for area, n in sorted(areas.items(), key=lambda kv: -kv[1])]
    lines += ["", "By thread (where its stack starts):"]
    lines += [f"  {100 * n / total:5.1f} %  {root}" for root, n in sorted(roots.items(), key=lambda kv: -kv[1])[:8]]
    lines += ["", "Top 25 functions by own samples:"]
    lines += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:25]]
    lines += ["", "Top 40 functions including what they call:"]
    lines += [
        f"  {100 * n / total:5.1f} %  {frame}" for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:40]
    ]
    return "\n".join(lines) + "\n"


# --- the report ---------------------------------------------------------------------------------


def geometric_mean(values: list[float]) -> float:
    """Of the pages that answered (a page that did not is marked in its row)."""
    values = [value for value in values if value > 0]
    return math.exp(sum(math.log(value) for value in values) / len(values)) if values else math.nan


def table(run: Run, small: Run | None) -> str:
    head = "| page | who | req/s | p99 ms | floor req/s | share of floor | CPU ms/req |"
    rule = "|---|---|---:|---:|---:|---:|---:|"
    if small is not None:
        head += " CPU vs small |"
        rule += "---:|"
    lines = [head, rule]
    small_cpu = {(row.page.name, row.page.who): row.result.cpu_ms for row in small.rows} if small else {}
    for row in run.rows:
        line = (
            f"| {row.page.name} | {row.page.who} | {row.result.rps:,.0f} | {row.result.p99_ms:.1f} | "
            f"{row.floor.rps:,.0f} | {100 * row.share:.1f} % | {row.result.cpu_ms:.2f} |"
        )
        if small is not None:
            base = small_cpu.get((row.page.name, row.page.who))
            line += f" {row.result.cpu_ms / base:.2f}x |" if base else " |"
        if row.result.requests == 0:
            line = f"| {row.page.name} | {row.page.who} | no answer within 60 s | | {row.floor.rps:,.0f} | 0 % | |"
            line += " |" if small is not None else ""
        elif row.result.bad:
            line = line.replace(f"| {row.page.who} |", f"| {row.page.who} ({row.result.bad_detail}) |")
        lines.append(line)
    shares = [row.share for row in run.rows]
    anonymous = [row.share for row in run.rows if row.page.who == "anonymous"]
    logged_in = [row.share for row in run.rows if row.page.who != "anonymous"]
    lines += [
        "",
        f"Share of the floor: geometric mean {100 * geometric_mean(shares):.1f} %; lowest anonymous "
        f"{100 * min(anonymous, default=math.nan):.1f} %, "
        f"lowest logged in {100 * min(logged_in, default=math.nan):.1f} %.",
    ]
    if small is not None:
        ratios = [
            row.result.cpu_ms / small_cpu[key]
            for row in run.rows
            if (key := (row.page.name, row.page.who)) in small_cpu and row.result.requests
        ]
        if ratios:
            lines.append(f"CPU per request against the small site: at most {max(ratios):.2f}x.")
    return "\n".join(lines)


def git_state(root: Path) -> str:
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", "hyperpics", "db"], capture_output=True, text=True
    )
    return (head.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.stdout.strip() else "")


def block(label: str, code: str, runs: list[Run], args: argparse.Namespace) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        f"### {label}",
        "",
        f"Code: `{code}`. Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs "
        f"({cpu}); Python {platform.python_version()}; wrk -t2 -c16, {args.seconds:g} s per page, "
        f"{args.floor_seconds:g} s of floor before each; load average at the start {os.getloadavg()[0]:.2f}.",
    ]
    small_by_workers = {run.workers: run for run in runs if run.size == "small"}
    for run in runs:
        sizes = ", ".join(f"{count:,} {name}" for name, count in SIZES[run.size].items())
        lines += ["", f"**{run.size} site** ({sizes}), **{run.workers} worker{'s' if run.workers > 1 else ''}**", ""]
        lines.append(table(run, small_by_workers.get(run.workers) if run.size == "large" else None))
    return "\n".join(lines) + "\n"


def write_results(label: str, text: str) -> None:
    start, end = markers("pages.py")
    existing = RESULTS.read_text() if RESULTS.exists() else ""
    blocks: dict[str, str] = {}
    if start in existing:
        for name, body in BLOCK.findall(existing.split(start, 1)[1].split(end, 1)[0]):
            blocks[name] = body
    blocks[label] = text
    body = "".join(
        f"<!-- bench/pages.py block: {name} -->\n{value}<!-- bench/pages.py block end -->\n"
        for name, value in blocks.items()
    )
    write_section("pages.py", f"{start}\n# Page benchmark (bench/pages.py)\n\n{body}{end}\n")


# --- main ---------------------------------------------------------------------------------------


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    log("installing wrk (apt-get)")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Page benchmark against the framework's floor.")
    parser.add_argument("--sizes", default="small,large")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--pages", default="", help="Comma-separated page names (default: all).")
    parser.add_argument("--who", default="", help="Only anonymous, member or admin pages.")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--floor-seconds", type=float, default=3)
    parser.add_argument("--root", type=Path, default=ROOT, help="The checkout to serve (default: this one).")
    parser.add_argument("--label", default="", help="Name of this block in RESULTS.md (default: the commit).")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "hyperpics-bench-pages")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="slowest",
        default="",
        help="py-spy on one worker: the slowest page, or the one named 'page/who'.",
    )
    parser.add_argument("--profile-seconds", type=float, default=15)
    parser.add_argument("--keep", action="store_true", help="Keep the temp dir (databases, server logs).")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A HYPERPICS_ setting for the server (e.g. DB_POOL_SIZE=4); may repeat.",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    ensure_wrk()
    code = git_state(args.root)  # as the servers start, whatever is committed during the run
    label = args.label or code
    wanted = {name.strip() for name in args.pages.split(",") if name.strip()}
    runs: list[Run] = []
    folder = Path(tempfile.mkdtemp(prefix="hyperpics-pages-"))
    try:
        with ExitStack() as outer:
            redis = start_redis(folder, outer) if any(int(n) > 1 for n in args.workers.split(",")) else ""
            for size in args.sizes.split(","):
                site = make_site(size, args.root, folder / size, args.cache)
                pages, emails = choose_pages(site)
                pages = [
                    page
                    for page in pages
                    if (not wanted or page.name in wanted) and (not args.who or page.who == args.who)
                ]
                for workers in (int(n) for n in args.workers.split(",")):
                    log(f"{size} site, {workers} worker(s)")
                    with ExitStack() as stack:
                        broadcast = f"{redis}/0" if workers > 1 else "memory://"
                        settings = dict(item.split("=", 1) for item in args.setting)
                        server = start_site_server(args.root, site, workers, broadcast, stack, settings)
                        floor = start_floor_server(folder, workers, stack)
                        cookies = {who: log_in(server, email) for who, email in emails.items()}
                        run = Run(size, workers)
                        run_pages(server, floor, pages, cookies, args.seconds, args.floor_seconds, run)
                        runs.append(run)
                        if args.profile and workers == 1:
                            slowest = min(run.rows, key=lambda row: row.share).page
                            if args.profile != "slowest":
                                slowest = next(
                                    row.page for row in run.rows if f"{row.page.name}/{row.page.who}" == args.profile
                                )
                            slug = re.sub(r"[^a-z0-9]+", "-", f"{size} {slowest.name} {slowest.who} {label}".lower())
                            out = HERE / "profiles" / f"pages-{slug.strip('-')}.txt"
                            out.parent.mkdir(exist_ok=True)
                            profile(server, slowest, cookies, args.profile_seconds, out)
    except SetupError as error:
        log(f"setup failed: {error}")
        return 1
    finally:
        if args.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    text = block(label, code, runs, args)
    print(text)
    if not args.no_write:
        write_results(label, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
