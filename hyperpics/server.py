"""Running hyperpics under hypercorn, started from our own code.

hypercorn does not exit on SIGTERM while a long-lived response (an SSE stream) is open,
so we pass our own shutdown trigger: a signal sets the app-wide ``shutdown_event``,
which streams watch to end themselves, then hypercorn stops.
"""

from __future__ import annotations

import asyncio
import signal

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from quart import Quart


def hypercorn_config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = "-"
    config.errorlog = "-"
    # Streams are told to end first; this is only the cap for slow clients.
    config.graceful_timeout = 1.0
    return config


async def serve(app: Quart, host: str, port: int) -> None:
    shutdown = asyncio.Event()
    app.extensions["shutdown_event"] = shutdown
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.set)
    await hypercorn_serve(app, hypercorn_config(host, port), shutdown_trigger=shutdown.wait)


def shutdown_event(app: Quart) -> asyncio.Event:
    """Set when the server is stopping; long-lived responses end when it is."""
    return app.extensions.setdefault("shutdown_event", asyncio.Event())
