"""Running hyperpics under hypercorn, started from our own code.

hypercorn does not exit on SIGTERM while a long-lived response (an SSE stream) is open,
so we pass our own shutdown trigger: a signal sets the app-wide ``shutdown_event``,
which streams watch to end themselves, then hypercorn stops.

Several workers (``serve --workers N``): the parent binds the port (so a port in use is
reported once, before anything starts) and starts N processes (spawned: a fresh interpreter
each, no inherited event loop or threads) that accept on the sockets it hands them, each
with its own app and its own shutdown trigger. The parent only
forwards SIGTERM/SIGINT and waits; if a worker dies on its own, it stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import wait as wait_for_exit
from types import FrameType
from typing import Any, TextIO

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from hypercorn.logging import AccessLogAtoms
from hypercorn.logging import Logger as HypercornLogger
from quart import Quart

log = logging.getLogger("hyperpics.server")


def hypercorn_config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    # Loggers of our own: given "-", hypercorn makes its error logger propagate to the root
    # logger too (logging.basicConfig in create_app), which printed "Running on" twice.
    config.accesslog = _hypercorn_logger("hypercorn.access", sys.stdout)
    config.errorlog = _hypercorn_logger("hypercorn.error", sys.stderr)
    config.logger_class = _Logger
    # Streams are told to end first; this is only the cap for slow clients.
    config.graceful_timeout = 1.0
    return config


def _hypercorn_logger(name: str, stream: TextIO) -> logging.Logger:
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(message)s", "[%Y-%m-%d %H:%M:%S %z]")
    )
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


class _AccessValues(Mapping[str, Any]):
    """One request's access-log values, each worked out when the format asks for it.

    hypercorn's own (AccessLogAtoms) are all made up front, every environment variable copied
    in among them: a few percent of a small page's cost. The usual ones are made here; any
    other a format names comes from hypercorn's, made then."""

    def __init__(self, request: Any, response: Any, request_time: float) -> None:
        self._request, self._response, self._time = request, response, request_time
        self._full: Mapping[str, Any] | None = None

    def _header(self, headers: Any, name: bytes) -> str:
        for key, value in headers or ():
            if key.lower() == name:
                return str(value.decode("latin1"))
        return "-"

    def __getitem__(self, key: str) -> Any:
        request, response = self._request, self._response
        if key == "h":
            client = request.get("client")
            return f"{client[0]}:{client[1]}" if client and len(client) == 2 else self._fully(key)
        if key == "l":
            return "-"
        if key == "t":
            return time.strftime("[%d/%b/%Y:%H:%M:%S %z]")
        if key == "r" and request["type"] == "http":
            return f"{request['method']} {request['path']} {request.get('http_version', 'ws')}"
        if key == "s":
            return str(response["status"]) if response is not None else "-"
        if key == "b":
            return self._header(response.get("headers") if response is not None else (), b"content-length")
        if key == "f":
            return self._header(request["headers"], b"referer")
        if key == "a":
            return self._header(request["headers"], b"user-agent")
        if key == "p":
            return f"<{os.getpid()}>"
        return self._fully(key)

    def _fully(self, key: str) -> Any:
        if self._full is None:
            self._full = AccessLogAtoms(self._request, self._response, self._time)
        return self._full[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("h", "l", "t", "r", "s", "b", "f", "a", "p"))

    def __len__(self) -> int:
        return 9


class _Logger(HypercornLogger):
    def atoms(self, request: Any, response: Any, request_time: float) -> Mapping[str, Any]:
        return _AccessValues(request, response, request_time)


async def serve(
    app: Quart, host: str, port: int, *, config: Config | None = None, sock: socket.socket | None = None
) -> None:
    """Serve until SIGINT/SIGTERM; ``config`` replaces the one made from host and port, and
    ``sock`` is a listening socket already bound to them (serve binds it first, to report a
    port in use before saying the site runs)."""
    if config is None:
        config = hypercorn_config(host, port)
    if sock is not None:
        config.bind = [f"fd://{sock.detach()}"]
    shutdown = asyncio.Event()
    app.extensions["shutdown_event"] = shutdown
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.set)
    await hypercorn_serve(app, config, shutdown_trigger=shutdown.wait)


# --- several worker processes on one port ---------------------------------------------------


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """One listening socket per worker, all bound here on the same port with SO_REUSEPORT.

    With one shared socket the first worker to wake up accepts a whole burst of connections
    (asyncio accepts in a loop) while the other idles; separate SO_REUSEPORT sockets make
    the kernel spread connections over the workers. Where SO_REUSEPORT is missing, every
    worker gets the same single socket.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # SO_REUSEPORT would also share the port with another server already on it (a second
    # `serve`): bound alone first, the port says whether it is free.
    socket.create_server((host, port), family=family).close()
    if count == 1:
        return [socket.create_server((host, port), family=family, backlog=2048)]
    if not hasattr(socket, "SO_REUSEPORT"):
        shared = socket.create_server((host, port), family=family, backlog=2048)
        return [shared] * count
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_server((host, port), family=family, backlog=2048, reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _worker(sock: socket.socket, host: str, port: int, number: int, workers: int, factory: str) -> None:
    """One worker process: its own app, its own loop, hypercorn on the inherited socket."""
    module, _, name = factory.partition(":")
    create_app = getattr(importlib.import_module(module), name)

    # hypercorn makes its own socket object from the descriptor; this one must not close it.
    descriptor = sock.detach()
    app = create_app()
    config = hypercorn_config(host, port)
    config.bind = [f"fd://{descriptor}"]
    config.access_log_format = "%(p)s " + config.access_log_format  # "<pid> ...": which worker answered
    print(f"worker {number}/{workers} (pid {os.getpid()}) serving http://{host}:{port}/", flush=True)
    asyncio.run(serve(app, host, port, config=config))


def run_workers(
    host: str,
    port: int,
    workers: int,
    *,
    factory: str = "hyperpics:create_app",
    sockets: list[socket.socket] | None = None,
) -> int:
    """Serve with ``workers`` processes; returns the exit status (0 after a clean stop).

    ``factory`` ("module:function") builds each worker's app; the page benchmark serves its
    constant-string floor app through this same code. ``sockets``: bound already (serve)."""
    if sockets is None:
        sockets = listening_sockets(host, port, workers)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_worker, args=(sock, host, port, number, workers, factory), name=f"hyperpics-worker-{number}"
        )
        for number, sock in enumerate(sockets, start=1)
    ]
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):  # it has just exited
                    os.kill(process.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        for sock in set(sockets):
            sock.close()  # the workers hold their own copies
        return _wait(processes, is_stopping=lambda: stopping, stop=lambda: forward(signal.SIGTERM, None))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(
    processes: Sequence[multiprocessing.process.BaseProcess],
    *,
    is_stopping: Callable[[], bool],
    stop: Callable[[], None],
) -> int:
    """Wait for every worker; one that exits on its own brings the others down (status 1)."""
    running = list(processes)
    failed = False
    while running:
        for sentinel in wait_for_exit([process.sentinel for process in running]):
            process = next(process for process in running if process.sentinel == sentinel)
            process.join()
            running.remove(process)
            if not is_stopping():
                log.error("%s exited unexpectedly (status %s); stopping the others", process.name, process.exitcode)
                failed = True
                stop()
            elif process.exitcode != 0:
                failed = True
    return 1 if failed else 0
