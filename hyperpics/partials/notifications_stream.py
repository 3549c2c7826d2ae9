"""The notification stream (server-sent events) that every logged-in page keeps open.

Each event is a small HTML fragment that htmx's SSE extension swaps in: a toast, plus the
bell's new count out of band. Event ids are notification ids, so a reconnect with
``Last-Event-ID`` replays what was missed. The stream pings every 15 s, lives at most
``STREAM_LIFETIME`` (then the browser reconnects), and ends at once on logout, when its
session is revoked (a block, a password change) and when the server shuts down.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from quart import Blueprint, Response, current_app, stream_with_context

from ..infra import db
from ..infra.broadcast import hub
from ..infra.db import database
from ..services import accounts, notifications
from ..web import query_args
from ..web.auth import public
from ..web.event_streams import RETRY_MILLISECONDS, event_stream, shutdown_event, sse, wakes
from ..web.templating import render_template
from ..web.viewer import current_auth_session, current_user

bp = Blueprint("notifications_stream", __name__, url_prefix="/_/notifications")

# Without a session check prompted by a wake-up, streams re-check every this many pings.
SESSION_CHECK_EVERY = 4


def _last_event_id() -> int | None:
    return query_args.last_event_id(query_name="last_event_id")


@bp.route("/stream")
@public  # anonymous visitors get a bodyless 401, which tells EventSource not to retry
async def stream() -> Response:
    user, row = current_user(), current_auth_session()
    if user is None or row is None:
        return Response("", status=401)
    app = current_app._get_current_object()
    database_ = database(app)
    asked = _last_event_id()
    if asked is None:
        # The request's own session: a second connection per stream request would let a
        # burst of reconnecting tabs take the whole pool and wait on each other.
        asked = await notifications.newest_id(await db.session(), user.id)
    last = asked  # an int from here on (the streams below move it along)
    user_id, session_id = user.id, row.id
    stopping = shutdown_event(app)

    async def still_valid() -> bool:
        async with database_.session(write=False) as session:
            return await accounts.session_stands(session, session_id)

    async def news(after: int) -> tuple[list[str], int]:
        async with database_.session(write=False) as session:
            rows = await notifications.since(session, user, after)
            unread = await notifications.unread_count(session, user_id) if rows else 0
        events = []
        for item in rows:
            fragment = await render_template("partials/notification_toast.html", item=item, unread=unread)
            events.append(sse(fragment, event="notification", event_id=item.id))
            after = item.id
        return events, after

    @stream_with_context
    async def events() -> AsyncIterator[str]:
        nonlocal last
        pings = 0
        async with hub(app).subscribe(user_id) as wakeups:
            # An id from the start: a browser that reconnects after a quiet stream still
            # says where it was (Last-Event-ID), so nothing made meanwhile is skipped.
            yield f"retry: {RETRY_MILLISECONDS}\nid: {last}\n\n"
            async with contextlib.aclosing(wakes(wakeups, stopping)) as beats:
                async for reason in beats:
                    if reason is None:
                        pings += 1
                        if pings % SESSION_CHECK_EVERY == 0 and not await still_valid():
                            yield sse(await render_template("partials/session_ended.html"), event="session-ended")
                            return
                        yield ": ping\n\n"
                        continue
                    # Every wake-up (a notification, a session that ended elsewhere) first
                    # checks that this stream's own session still stands.
                    if not await still_valid():
                        yield sse(await render_template("partials/session_ended.html"), event="session-ended")
                        return
                    batch, last = await news(last)
                    for event in batch:
                        yield event

    return event_stream(events())


# Tools that walk the URL map (the policy test) must not wait for this response to end.
stream.streams = True  # type: ignore[attr-defined]
