"""Notifications across processes: two ``hyperpics serve`` processes, one database, one Redis.

The cluster (module scope, built once for this file):

* a ``redis-server`` of our own on a free port (no persistence), that tests may stop and
  start again on the SAME port;
* two app processes on two ports, sharing one database of the engine under test and one
  secret key, both with ``HYPERPICS_BROADCAST_URL=redis://127.0.0.1:<port>``;
* users A and B registered over HTTP on process 1 and marked confirmed in the database
  (following needs a confirmed address); A acts on process 1, B listens on process 2.

What is checked:

* a follow made on process 1 reaches B's open SSE stream on process 2;
* Redis stopped (SIGTERM: a clean shutdown; SIGKILL: a crash) and started again on the same
  port: a notification made WHILE Redis is down still reaches the stream that stayed open
  (the supervisor reconnects and wakes every stream to re-read the database), and one made
  after the reconnection arrives as usual;
* a new stream opened with ``Last-Event-ID`` replays what came after that id, in order.

Delivery latencies are printed, not asserted: every wait here is a generous timeout that only
catches something that never arrives (how fast belongs in bench/).

Plain sync tests: the servers are subprocesses, the SSE readers are threads.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .conftest import free_port, redis_command
from .databases import DatabaseServer, TestDatabase
from .helpers import bell
from .html import elements, find_id

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
    reason="redis-server and redis-cli are needed",
)

PASSWORD = "correct horse battery"
# Generous timeouts: each only catches a hang (something that never arrives, never starts).
START_TIMEOUT = 60.0
ARRIVAL_TIMEOUT = 60.0
STREAM_PATH = "/_/notifications/stream"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# --- processes ------------------------------------------------------------------------------


def _kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 5.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class RedisServer:
    """A redis-server of our own: no RDB, no AOF; can be stopped and started on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def ping(self) -> bool:
        try:
            answer = subprocess.run(
                ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "ping"],
                capture_output=True,
                text=True,
                timeout=2,
            )
        except subprocess.TimeoutExpired:
            return False
        return answer.stdout.strip() == "PONG"

    def start(self) -> None:
        self.starts += 1
        log = (self.folder / f"redis-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            redis_command(self.port, self.folder),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = (self.folder / f"redis-{self.starts}.log").read_text(errors="replace")
                raise RuntimeError(f"redis-server did not answer PONG on port {self.port}:\n{text}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            _kill_group(self.process, sig)
        deadline = time.monotonic() + 5
        while self.ping() and time.monotonic() < deadline:
            time.sleep(0.05)


@dataclass
class App:
    """One ``hyperpics serve`` process."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def reconnections(self) -> int:
        return self.log_text().count("broadcast reconnected")


def _start_app(app: App, env: dict[str, str], cwd: Path) -> None:
    command = [sys.executable, "-m", "hyperpics.cli", "serve", "--host", "127.0.0.1", "--port", str(app.port)]
    with app.log.open("wb") as log:
        app.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(app.url + "/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if app.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{app.name} did not answer GET / (exit {app.process.poll()}):\n{app.log_text()}")
        time.sleep(0.2)


# --- HTTP as a user -------------------------------------------------------------------------


def csrf_token(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    match = CSRF_META.search(page.text)
    assert match, f"no csrf-token meta on {path}"
    return match.group(1)


def register(client: httpx.Client, *, name: str, username: str) -> str:
    email = f"{username}@example.com"
    token = csrf_token(client, "/auth/register")
    answer = client.post(
        "/auth/register",
        data={
            "name": name,
            "email": email,
            "username": username,
            "password": PASSWORD,
            "password2": PASSWORD,
            "csrf_token": token,
        },
    )
    assert answer.status_code == 303, (answer.status_code, answer.text[:2000])
    log_in(client, email)  # sign-up never logs in (it answers the same for a taken address)
    return email


def log_in(client: httpx.Client, email: str) -> None:
    token = csrf_token(client, "/auth/login")
    answer = client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, (answer.status_code, answer.text[:2000])
    assert "hyperpics_auth" in client.cookies


def post_action(client: httpx.Client, path: str) -> tuple[float, float]:
    """POST a component's form as a plain browser would; returns (sent at, answered at)."""
    token = csrf_token(client)
    sent = time.monotonic()
    answer = client.post(path, data={"csrf_token": token})
    answered = time.monotonic()
    assert answer.status_code in (200, 303), (path, answer.status_code, answer.text[:2000])
    return sent, answered


# --- an SSE stream read in a thread ---------------------------------------------------------


@dataclass
class SSEEvent:
    at: float  # time.monotonic() when the blank line ending it was read
    id: int | None
    event: str | None
    data: str


@dataclass
class StreamReader:
    """GET the notification stream in a thread; every line is kept with its arrival time."""

    base_url: str
    cookies: httpx.Cookies
    last_event_id: int | None = None
    path: str = STREAM_PATH
    lines: list[tuple[float, str]] = field(default_factory=list)
    status: int | None = None
    error: BaseException | None = None
    ended: bool = False

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        self._client = httpx.Client(
            base_url=self.base_url, cookies=self.cookies, timeout=httpx.Timeout(10.0, read=None)
        )
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"sse {self.base_url}")

    def start(self) -> StreamReader:
        self._thread.start()
        # The stream says "retry:" first; it subscribes to wake-ups right after sending it.
        assert self.wait(lambda: any(line.startswith("retry:") for _, line in self.lines), START_TIMEOUT), (
            f"no retry: line (status {self.status}, error {self.error!r}, lines {self.lines})"
        )
        time.sleep(0.3)
        return self

    def _run(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        try:
            with self._client.stream("GET", self.path, headers=headers) as response:
                with self._changed:
                    self.status = response.status_code
                    self._changed.notify_all()
                for line in response.iter_lines():
                    with self._changed:
                        self.lines.append((time.monotonic(), line))
                        self._changed.notify_all()
        except BaseException as error:  # noqa: BLE001 - reported by the test that waits
            self.error = error
        finally:
            with self._changed:
                self.ended = True
                self._changed.notify_all()

    def wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.ended:
                    return condition()
                self._changed.wait(remaining)
            return True

    def events(self) -> list[SSEEvent]:
        with self._changed:
            lines = list(self.lines)
        found, fields, data = [], {}, []
        for at, line in lines:
            if line == "":
                if data or fields:
                    raw_id = fields.get("id")
                    found.append(
                        SSEEvent(
                            at,
                            int(raw_id) if raw_id and raw_id.isdigit() else None,
                            fields.get("event"),
                            "\n".join(data),
                        )
                    )
                fields, data = {}, []
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "data":
                data.append(value)
            else:
                fields[key] = value
        return found

    def notifications(self) -> list[SSEEvent]:
        return [event for event in self.events() if event.event == "notification"]

    def wait_for_notification(self, after_id: int, timeout: float) -> SSEEvent | None:
        def arrived() -> SSEEvent | None:
            return next((e for e in self.notifications() if e.id is not None and e.id > after_id), None)

        self.wait(lambda: arrived() is not None, timeout)
        return arrived()

    def close(self) -> None:
        # A read blocked in another thread does not always notice the client closing; the
        # thread is a daemon and ends at the latest when its server process is stopped.
        self._client.close()
        self._thread.join(timeout=0.5)

    def describe(self) -> str:
        return f"status={self.status} ended={self.ended} error={self.error!r} last lines={self.lines[-12:]}"


# --- the cluster ----------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    username: str
    email: str
    id: int
    clients: dict[str, httpx.Client]  # one logged-in client per app process (cookies per port)


@dataclass
class Cluster:
    redis: RedisServer
    apps: list[App]
    database: TestDatabase
    a: Person
    b: Person
    stream: StreamReader  # B's stream on process 2, open for the whole module

    def newest_notification_id(self, receiver: Person) -> int:
        return self.database.value("SELECT coalesce(max(id), 0) FROM notifications WHERE receiver_id = ?", receiver.id)

    def unread(self, receiver: Person) -> int:
        return self.database.value(
            "SELECT count(*) FROM notifications WHERE receiver_id = ? AND read_at IS NULL", receiver.id
        )

    def refollow(self) -> tuple[float, float]:
        """A (on process 1) unfollows B if needed, then follows: a new 'follow' notification for B."""
        a1 = self.a.clients["p1"]
        post_action(a1, f"/_/users/{self.b.id}/unfollow")
        return post_action(a1, f"/_/users/{self.b.id}/follow")

    def logs(self) -> str:
        return "\n".join(f"--- {app.name} log (tail) ---\n{app.log_text()[-4000:]}" for app in self.apps)


def _mark_confirmed(database: TestDatabase, *usernames: str) -> dict[str, int]:
    for username in usernames:
        database.execute("UPDATE users SET confirmed = ? WHERE username = ?", True, username)
    marks = ", ".join("?" * len(usernames))
    return dict(database.rows(f"SELECT username, id FROM users WHERE username IN ({marks})", *usernames))


def _app_env(database: TestDatabase, folder: Path, secret_prefix: str, broadcast_url: str) -> dict[str, str]:
    """The environment of a server process: this run's HYPERPICS_* settings only."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HYPERPICS_")}
    env.update(
        HYPERPICS_DATABASE_URL=database.url,
        HYPERPICS_MEDIA_DIR=str(folder / "media"),
        HYPERPICS_SECRET_KEY=secret_prefix + secrets.token_urlsafe(32),
        HYPERPICS_BROADCAST_URL=broadcast_url,
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("fanout")
    redis = RedisServer(root)
    database = database_server.fresh(root / "db")
    env = _app_env(database, root, "fanout-test-secret-", redis.url)
    apps = [App("process 1", free_port(), root / "app1.log"), App("process 2", free_port(), root / "app2.log")]
    clients: list[httpx.Client] = []
    stream: StreamReader | None = None

    def client(app: App) -> httpx.Client:
        made = httpx.Client(base_url=app.url, timeout=20.0)
        clients.append(made)
        return made

    try:
        redis.start()
        _start_app(apps[0], env, root)
        _start_app(apps[1], env, root)

        tag = secrets.token_hex(3)
        people = {}
        for key, name in (("a", "Ada Actor"), ("b", "Bea Bell")):
            username = f"{key}{tag}"
            first = client(apps[0])
            email = register(first, name=name, username=username)  # then logged in on process 1
            people[key] = (name, username, email, first)
        ids = _mark_confirmed(database, *(p[1] for p in people.values()))
        persons = {}
        for key, (name, username, email, first) in people.items():
            second = client(apps[1])
            log_in(second, email)
            persons[key] = Person(name, username, email, ids[username], {"p1": first, "p2": second})
        a, b = persons["a"], persons["b"]

        stream = StreamReader(apps[1].url, httpx.Cookies(b.clients["p2"].cookies)).start()
        assert stream.status == 200, stream.describe()
        yield Cluster(redis, apps, database, a, b, stream)
    finally:
        for app in apps:  # first: ends the streams, so the reader thread returns
            if app.process is not None:
                _kill_group(app.process)
        if stream is not None:
            stream.close()
        for made in clients:
            made.close()
        redis.stop()
        database_server.drop(database)
        for app in apps:
            if app.log.exists():
                print(f"--- {app.name} log (tail) ---\n{app.log_text()[-3000:]}")


# --- the tests ------------------------------------------------------------------------------


def test_a_comment_on_process_1_reaches_the_open_photo_page_on_process_2(cluster: Cluster) -> None:
    """The photo's comment stream (B's open page, process 2) gets a comment A adds on process 1."""
    from . import images

    a1 = cluster.a.clients["p1"]
    token = csrf_token(a1)
    upload = a1.post(
        "/upload", data={"csrf_token": token}, files={"photos": ("harbour.jpg", images.jpeg(64, 48), "image/jpeg")}
    )
    assert upload.status_code == 200, upload.text[:2000]
    photo = cluster.database.value("SELECT max(id) FROM photos WHERE author_id = ?", cluster.a.id)
    page = StreamReader(
        cluster.apps[1].url,
        httpx.Cookies(cluster.b.clients["p2"].cookies),
        path=f"/_/photos/{photo}/comments/stream?latest=1",
    ).start()
    try:
        assert page.status == 200, page.describe()
        body = f"seen across processes {secrets.token_hex(3)}"
        answer = a1.post(f"/_/photos/{photo}/comments", data={"csrf_token": token, "body": body})
        assert answer.status_code == 303, answer.text[:2000]
        comment = cluster.database.value("SELECT max(id) FROM comments WHERE photo_id = ?", photo)

        def arrived() -> SSEEvent | None:
            return next((e for e in page.events() if e.event == "comment" and e.id == comment), None)

        page.wait(lambda: arrived() is not None, ARRIVAL_TIMEOUT)
        event = arrived()
        assert event is not None, f"nothing arrived on process 2\n{page.describe()}\n{cluster.logs()}"
        assert body in event.data and find_id(event.data, f"thread-{comment}")
        assert elements(event.data, '[hx-swap-oob="beforeend:#comment-list"]')
    finally:
        page.close()


def test_a_follow_on_process_1_reaches_the_stream_on_process_2(cluster: Cluster) -> None:
    before = cluster.newest_notification_id(cluster.b)
    sent, answered = cluster.refollow()
    event = cluster.stream.wait_for_notification(before, timeout=ARRIVAL_TIMEOUT)
    assert event is not None, f"nothing arrived on process 2\n{cluster.stream.describe()}\n{cluster.logs()}"
    print(
        f"\ncross-process delivery: {1000 * (event.at - answered):.1f} ms after the POST returned, "
        f"{1000 * (event.at - sent):.1f} ms after it was sent"
    )
    assert event.id == cluster.newest_notification_id(cluster.b)
    assert f"{cluster.a.name}</a> followed you." in event.data, event.data
    assert elements(event.data, '[class="toast"]')
    # The bell's count, out of band, is the unread count in the database.
    assert bell(event.data, swapped=True) == (False, cluster.unread(cluster.b))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_nothing_is_lost_when_redis_restarts(cluster: Cluster, how: str) -> None:
    stream, redis = cluster.stream, cluster.redis
    reconnected_before = [app.reconnections() for app in cluster.apps]
    delivered_before = len(stream.notifications())
    # B's stream is on process 2; A acts on process 1.

    redis.stop(getattr(signal, how))
    assert not redis.ping()
    # Made while Redis is down: committed, but its wake-up cannot travel to process 2.
    before_down = cluster.newest_notification_id(cluster.b)
    down_sent, down_answered = cluster.refollow()
    made_while_down = cluster.newest_notification_id(cluster.b)
    assert made_while_down > before_down
    print(f"\n[{how}] follow while Redis is down took {1000 * (down_answered - down_sent):.0f} ms")
    time.sleep(1.0)
    early = [e.id for e in stream.notifications()[delivered_before:]]

    restarted_at = time.monotonic()
    redis.start()  # same port

    # The stream that stayed open gets it once process 2 has reconnected and resynced.
    event = stream.wait_for_notification(before_down, timeout=ARRIVAL_TIMEOUT)
    assert event is not None, (
        "the notification made while Redis was down never reached the open stream\n"
        f"{stream.describe()}\n{cluster.logs()}"
    )
    assert event.id == made_while_down
    print(
        f"[{how}] made-while-down notification arrived {event.at - restarted_at:.2f} s after Redis was back "
        f"(seen before the restart: {early})"
    )

    # Both processes reconnect (the supervisor's heartbeat every 2 s, then backoff).
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while time.monotonic() < deadline and any(
        app.reconnections() <= before for app, before in zip(cluster.apps, reconnected_before, strict=True)
    ):
        time.sleep(0.1)
    reconnected = [app.reconnections() - before for app, before in zip(cluster.apps, reconnected_before, strict=True)]
    print(
        f"[{how}] reconnections logged per process: {reconnected}, "
        f"{time.monotonic() - restarted_at:.2f} s after Redis was back"
    )
    assert all(count >= 1 for count in reconnected), cluster.logs()

    # After the reconnection, the fan-out works again.
    sent, answered = cluster.refollow()
    after = stream.wait_for_notification(made_while_down, timeout=ARRIVAL_TIMEOUT)
    assert after is not None, f"nothing arrived after the reconnection\n{stream.describe()}\n{cluster.logs()}"
    print(f"[{how}] delivery after the reconnection: {1000 * (after.at - answered):.1f} ms after the POST returned")
    assert after.id == cluster.newest_notification_id(cluster.b)

    # The same open stream, every id once, in order.
    ids = [e.id for e in stream.notifications()]
    assert ids == sorted(set(ids)), ids
    assert not stream.ended, stream.describe()


def test_a_reconnect_with_last_event_id_replays_what_was_missed(cluster: Cluster) -> None:
    seen = cluster.newest_notification_id(cluster.b)
    cluster.refollow()
    cluster.refollow()
    missed = list(range(seen + 1, cluster.newest_notification_id(cluster.b) + 1))
    mine = [
        row[0]
        for row in cluster.database.rows(
            "SELECT id FROM notifications WHERE receiver_id = ? AND id > ? ORDER BY id", cluster.b.id, seen
        )
    ]
    assert len(mine) == 2, mine

    # A new stream, on the OTHER process, says where it stopped: it gets both, at once.
    replay = StreamReader(cluster.apps[0].url, httpx.Cookies(cluster.b.clients["p1"].cookies), last_event_id=seen)
    try:
        replay.start()
        replay.wait(lambda: len(replay.notifications()) >= 2, timeout=ARRIVAL_TIMEOUT)
        assert [e.id for e in replay.notifications()] == mine, (missed, replay.describe())
    finally:
        replay.close()


# --- a burst of stream connections (one process, memory:// broadcast) -------------------------


def test_the_eleventh_failed_login_is_refused_whichever_process_answers(cluster: Cluster) -> None:
    """Rate limits are counted in Redis, once for every process."""
    email = f"nobody-{secrets.token_hex(4)}@example.com"
    answers = []
    for attempt in range(11):
        app = cluster.apps[attempt % 2]
        with httpx.Client(base_url=app.url, timeout=20.0) as anonymous:
            token = csrf_token(anonymous, "/auth/login")
            answer = anonymous.post("/auth/login", data={"email": email, "password": "wrong", "csrf_token": token})
            answers.append(answer.status_code)
    assert answers == [422] * 10 + [429], answers


def test_a_card_fetched_right_after_a_follow_shows_it_on_the_other_process(cluster: Cluster) -> None:
    """A's card of B, cached by process 2, is not served after A follows B on process 1."""
    a1, a2 = cluster.a.clients["p1"], cluster.a.clients["p2"]
    card = f"/_/users/{cluster.b.id}/card"
    for action, button in (("unfollow", "follow"), ("follow", "unfollow"), ("unfollow", "follow")):
        a2.get(card, headers={"HX-Request": "true"})  # cached on process 2 (or already was)
        post_action(a1, f"/_/users/{cluster.b.id}/{action}")
        shown = a2.get(card, headers={"HX-Request": "true"}).text
        assert elements(shown, f'[action="/_/users/{cluster.b.id}/{button}"]'), (action, shown)


BURST = 20  # streams connecting at the same moment (a user with many tabs, or tabs reconnecting)


@pytest.fixture
def lone_app(database: TestDatabase, tmp_path: Path) -> Iterator[App]:
    env = _app_env(database, tmp_path, "burst-test-secret-", "memory://")
    app = App("lone process", free_port(), tmp_path / "lone.log")
    try:
        _start_app(app, env, tmp_path)
        yield app
    finally:
        if app.process is not None:
            _kill_group(app.process, signal.SIGKILL)


def test_a_burst_of_streams_connecting_at_once_all_open(lone_app: App) -> None:
    with httpx.Client(base_url=lone_app.url, timeout=20.0) as client:
        register(client, name="Tab Hoarder", username=f"tabs{secrets.token_hex(3)}")
        cookies = httpx.Cookies(client.cookies)

    start = threading.Barrier(BURST)
    outcomes: list[str] = []
    lock = threading.Lock()

    def open_one() -> None:
        with httpx.Client(base_url=lone_app.url, cookies=cookies, timeout=httpx.Timeout(ARRIVAL_TIMEOUT)) as tab:
            start.wait()
            began = time.monotonic()
            try:
                with tab.stream("GET", STREAM_PATH, headers={"Accept": "text/event-stream"}) as response:
                    first = next(response.iter_lines(), "") if response.status_code == 200 else ""
                    outcome = f"{response.status_code} {first!r} after {time.monotonic() - began:.1f} s"
            except httpx.HTTPError as error:
                outcome = f"{type(error).__name__} after {time.monotonic() - began:.1f} s"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=open_one) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * ARRIVAL_TIMEOUT)
    opened = [o for o in outcomes if o.startswith("200 'retry:")]
    errors = [line for line in lone_app.log_text().splitlines() if "Error" in line][:3]
    assert len(opened) == BURST, f"{len(opened)} of {BURST} streams opened: {sorted(set(outcomes))}; server: {errors}"
