"""CPU-heavy work (Pillow, argon2), off the event loop and behind it.

It runs in a small pool of threads of its own, one per core, whose scheduling priority is
lowered (``nice`` 10, Linux): when the machine is saturated, the event loop and the database
threads that serve every other request come first, and a burst of uploads or of login
attempts slows itself down rather than everyone's pages and writes. The request's database
connection is handed back first (:func:`db.before_slow_work`): nothing waits on a lock or a
pooled connection while the work runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .db import before_slow_work

T = TypeVar("T")

NICENESS = 10

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    # Linux schedules threads one by one: this lowers only the pool's own thread (and the
    # threads it starts, such as argon2's lanes, which inherit it).
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


def pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 2, thread_name_prefix="hyperpics-cpu", initializer=_lower_priority
            )
        return _pool


async def run[T](what: str, function: Callable[..., T], *args: Any) -> T:
    """Run ``function(*args)`` in the CPU pool, holding no connection and no lock meanwhile."""
    await before_slow_work(what)
    return await asyncio.get_running_loop().run_in_executor(pool(), lambda: function(*args))
