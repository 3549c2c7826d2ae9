"""Server-sent event streams: their framing, their beats (wake-ups, pings, lifetime,
shutdown) and their response. The notification stream (every logged-in page) and a photo's
comment stream are both made of these.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

from quart import Quart, Response

from ..infra.wakeups import NOTIFICATION

PING_SECONDS = 15.0
STREAM_LIFETIME = 10 * 60.0
RETRY_MILLISECONDS = 3000


def sse(data: str, *, event: str | None = None, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


async def wakes(wakeups: asyncio.Queue[str], stopping: asyncio.Event) -> AsyncGenerator[str | None]:
    """A stream's beats: first ``NOTIFICATION`` (read once as soon as subscribed: what was
    committed before woke nobody), then each wake-up's reason as it comes, and None every
    ``PING_SECONDS`` of quiet (time for a ping). Ends on shutdown and after ``STREAM_LIFETIME``
    (the browser reconnects, with Last-Event-ID). Use it in ``contextlib.aclosing``, so that
    its waits are cancelled as soon as the stream ends."""
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + STREAM_LIFETIME
    stop_task: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
    wake_task: asyncio.Future[str] | None = None
    try:
        yield NOTIFICATION
        while (remaining := ends_at - loop.time()) > 0:
            wake_task = wake_task or asyncio.ensure_future(wakeups.get())
            done, _ = await asyncio.wait(
                {wake_task, stop_task}, timeout=min(PING_SECONDS, remaining), return_when=asyncio.FIRST_COMPLETED
            )
            if stop_task in done:
                return
            if wake_task in done:
                reason, wake_task = wake_task.result(), None
                yield reason
            else:
                yield None
    finally:
        for task in (stop_task, wake_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def event_stream(events: AsyncIterator[str]) -> Response:
    """The response carrying a stream of server-sent events."""
    response = Response(events, mimetype="text/event-stream")  # a stream: see `streams` below
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # proxies must not hold events back
    response.timeout = None  # Quart would cut the stream after 60 s
    return response


def shutdown_event(app: Quart) -> asyncio.Event:
    """Set when the server is stopping (server.serve sets it on a signal): long-lived
    responses end when it is."""
    return cast(asyncio.Event, app.extensions.setdefault("shutdown_event", asyncio.Event()))
