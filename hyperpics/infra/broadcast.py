"""Notification fan-out: wake the open streams of a user, in this process or across processes.

What travels is only a wake-up for a user id; the stream then reads what is new from the
database (everything after the last event id it sent). So a wake-up that is lost, dropped
or duplicated costs nothing: the database is the truth, and every stream can catch up.

broadcaster carries the wake-ups (``memory://`` in one process, ``redis://`` across
processes). It is wrapped here because on its own its queues are unbounded and its Redis
listener dies silently when Redis restarts:
- each stream gets a small bounded queue; when it is full, further wake-ups are dropped
  (the stream will read everything new at its next wake-up anyway);
- a supervisor publishes a heartbeat and, when it does not come back, reconnects with
  backoff, then wakes every local stream so that each one re-reads the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from broadcaster import Broadcast
from quart import Quart

from . import db
from .wakeups import COMMENTS_KEY, NOTIFICATION, RESYNC, WAKE_KEY

log = logging.getLogger("hyperpics.broadcast")

CHANNEL = "hyperpics:wake"
QUEUE_SIZE = 8
HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TIMEOUT = 3.0
RECONNECT_BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class Hub:
    """Per-process registry of open streams, fed by a supervised broadcaster connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._streams: dict[int, set[asyncio.Queue[str]]] = defaultdict(set)
        # Open photo pages (their comment streams), by photo id.
        self._photos: dict[int, set[asyncio.Queue[str]]] = defaultdict(set)
        self._broadcast: Broadcast | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._heartbeats: dict[str, asyncio.Event] = {}
        self._connected = asyncio.Event()
        self._stopping = False
        self.reconnects = 0

    @property
    def remote(self) -> bool:
        return not self.url.startswith("memory://")

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        await self._connect()
        if self.remote:
            self._supervisor = asyncio.create_task(self._supervise(), name="hyperpics-broadcast-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        for task in (self._supervisor, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._disconnect()

    async def _connect(self) -> None:
        broadcast = Broadcast(self.url)
        await broadcast.connect()
        ready = asyncio.Event()
        self._broadcast = broadcast
        self._listener = asyncio.create_task(self._listen(broadcast, ready), name="hyperpics-broadcast-listener")
        await asyncio.wait_for(ready.wait(), timeout=5)
        self._connected.set()

    async def _disconnect(self) -> None:
        self._connected.clear()
        broadcast, self._broadcast = self._broadcast, None
        if broadcast is not None:
            with contextlib.suppress(Exception):
                await broadcast.disconnect()

    async def _listen(self, broadcast: Broadcast, ready: asyncio.Event) -> None:
        async with broadcast.subscribe(CHANNEL) as subscriber:
            ready.set()
            async for event in subscriber:  # type: ignore[union-attr]
                if event is None:
                    return
                self._dispatch(event.message)

    def _dispatch(self, message: str) -> None:
        try:
            payload = json.loads(message)
        except ValueError:
            return
        if payload.get("heartbeat"):
            waiter = self._heartbeats.get(payload["heartbeat"])
            if waiter is not None:
                waiter.set()
            return
        if "photo" in payload:
            self.wake_photo_local(int(payload["photo"]), comments_reason(payload.get("removed") or []))
            return
        self.wake_local(int(payload["user"]), str(payload.get("reason", NOTIFICATION)))

    async def _supervise(self) -> None:
        """Publish heartbeats; reconnect when they stop coming back (Redis restarted)."""
        while not self._stopping:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if await self._heartbeat_ok():
                continue
            log.warning("broadcast connection lost (%s); reconnecting", self.url)
            await self._disconnect()
            for attempt, delay in enumerate(_backoff()):
                if self._stopping:
                    return
                try:
                    if self._listener is not None:
                        self._listener.cancel()
                    await self._connect()
                except Exception as error:  # Redis still down: try again later
                    log.warning("reconnect %d failed: %s", attempt + 1, error)
                    await self._disconnect()
                    await asyncio.sleep(delay)
                    continue
                self.reconnects += 1
                log.warning("broadcast reconnected; every open stream re-reads the database")
                self.wake_everyone(RESYNC)
                break

    async def _heartbeat_ok(self) -> bool:
        token = secrets.token_hex(8)
        waiter = asyncio.Event()
        self._heartbeats[token] = waiter
        try:
            if self._broadcast is None or self._listener is None or self._listener.done():
                return False
            await asyncio.wait_for(
                self._broadcast.publish(CHANNEL, json.dumps({"heartbeat": token})), timeout=HEARTBEAT_TIMEOUT
            )
            await asyncio.wait_for(waiter.wait(), timeout=HEARTBEAT_TIMEOUT)
            return True
        except Exception:
            return False
        finally:
            self._heartbeats.pop(token, None)

    # --- publishing and subscribing ---------------------------------------------------

    async def wake(self, user_id: int, reason: str = NOTIFICATION) -> None:
        """Wake every open stream of ``user_id``, in every process. Never raises."""
        message = json.dumps({"user": user_id, "reason": reason})
        try:
            if self._broadcast is None:
                raise ConnectionError("not connected")
            await asyncio.wait_for(self._broadcast.publish(CHANNEL, message), timeout=HEARTBEAT_TIMEOUT)
        except Exception as error:
            # The row is committed; streams catch up when the connection is back (RESYNC).
            log.warning("could not publish a wake-up for user %s: %s", user_id, error)
            self.wake_local(user_id, reason)

    def wake_local(self, user_id: int, reason: str) -> None:
        for queue in list(self._streams.get(user_id, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(reason)  # full: a wake-up is already waiting

    def wake_everyone(self, reason: str) -> None:
        for user_id in list(self._streams):
            self.wake_local(user_id, reason)
        for photo_id in list(self._photos):
            self.wake_photo_local(photo_id, reason)

    async def comments_changed(self, photo_id: int, removed: list[int]) -> None:
        """Wake every open page of ``photo_id``, in every process: it reads the new comments
        from the database, and drops ``removed`` (ids travel: deleted rows cannot be read).
        Never raises."""
        message = json.dumps({"photo": photo_id, "removed": removed})
        try:
            if self._broadcast is None:
                raise ConnectionError("not connected")
            await asyncio.wait_for(self._broadcast.publish(CHANNEL, message), timeout=HEARTBEAT_TIMEOUT)
        except Exception as error:
            log.warning("could not publish a comment change on photo %s: %s", photo_id, error)
            self.wake_photo_local(photo_id, comments_reason(removed))

    def wake_photo_local(self, photo_id: int, reason: str) -> None:
        for queue in list(self._photos.get(photo_id, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(reason)  # full: new comments are read at the next wake-up anyway

    @contextlib.asynccontextmanager
    async def subscribe_photo(self, photo_id: int) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._photos[photo_id].add(queue)
        try:
            yield queue
        finally:
            queues = self._photos.get(photo_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._photos[photo_id]

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._streams[user_id].add(queue)
        try:
            yield queue
        finally:
            streams = self._streams.get(user_id)
            if streams is not None:
                streams.discard(queue)
                if not streams:
                    del self._streams[user_id]

    def open_streams(self) -> int:
        return sum(len(queues) for queues in self._streams.values())

    def open_photo_streams(self) -> int:
        return sum(len(queues) for queues in self._photos.values())


REMOVED_PREFIX = "removed:"


def comments_reason(removed: list[int]) -> str:
    """A photo stream's wake-up: read what is new, and drop these ids if any."""
    return REMOVED_PREFIX + ",".join(str(int(i)) for i in removed) if removed else NOTIFICATION


def removed_ids(reason: str) -> list[int]:
    if not reason.startswith(REMOVED_PREFIX):
        return []
    return [int(i) for i in reason[len(REMOVED_PREFIX) :].split(",") if i.isdigit()]


def _backoff() -> Iterator[float]:
    yield from RECONNECT_BACKOFF
    while True:
        yield RECONNECT_BACKOFF[-1]


def hub(app: Quart) -> Hub:
    return cast(Hub, app.extensions["hyperpics_hub"])


def init_app(app: Quart) -> None:
    app.extensions["hyperpics_hub"] = Hub(app.config["BROADCAST_URL"])

    async def _announce(info: dict[str, Any]) -> None:
        for user_id, reason in info.get(WAKE_KEY, {}).items():
            await hub(app).wake(user_id, reason)
        for photo_id, removed in info.get(COMMENTS_KEY, {}).items():
            await hub(app).comments_changed(photo_id, removed)

    db.on_commit(app, _announce)

    @app.before_serving
    async def _start() -> None:
        await hub(app).start()

    @app.after_serving
    async def _stop() -> None:
        await hub(app).stop()
