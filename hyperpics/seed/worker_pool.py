"""The worker processes that push the demo pictures through the media pipeline.

Pillow's JPEG encoder keeps the GIL, so the work runs in processes, not threads; each worker
draws, encodes and calls :func:`hyperpics.infra.media.process_photo` itself and returns only
the small :class:`~hyperpics.infra.media.StoredPhoto`.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from pathlib import Path

from ..infra import media
from .pictures import Picture, source_bytes


def store_photos(batch: Sequence[Picture], media_dir: str) -> list[media.StoredPhoto]:
    """Draw, encode and store a batch; if one fails, the batch leaves no files behind."""
    stored: list[media.StoredPhoto] = []
    try:
        for picture in batch:
            stored.append(media.process_photo(source_bytes(picture), media_dir))
    except BaseException:
        remove_pending(media_dir, [f"{media.PHOTOS_DIR}/{name}" for item in stored for name in item.files()])
        raise
    return stored


def store_avatars(batch: Sequence[str], media_dir: str) -> list[media.StoredAvatar]:
    """Identicons from fixed seeds (so the same seed gives the same faces), stored as uploads are."""
    stored: list[media.StoredAvatar] = []
    try:
        for seed in batch:
            buffer = io.BytesIO()
            media.identicon(seed).save(buffer, "PNG")
            stored.append(media.process_avatar(buffer.getvalue(), media_dir))
    except BaseException:
        remove_pending(media_dir, [f"{media.AVATARS_DIR}/{name}" for item in stored for name in item.files()])
        raise
    return stored


def remove_files(media_dir: str | Path, names: Sequence[str]) -> None:
    for name in names:
        (Path(media_dir) / name).unlink(missing_ok=True)


def remove_pending(media_dir: str | Path, names: Sequence[str]) -> None:
    """Remove new files, still under their pending names: no committed row names them."""
    remove_files(media_dir, [media.pending_name(name) for name in names])


def _ignore_interrupts() -> None:
    # Ctrl+C reaches the whole process group; the parent decides what stops and cleans up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _alone(patience: float = 0.5) -> bool:
    """Whether this is the only thread, after giving finishing ones (a closed aiosqlite
    connection's worker, say) a moment to end."""
    deadline = time.monotonic() + patience
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return threading.active_count() == 1


def open_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, started now.

    Forked when this process has no other thread (a spawned worker spends a second importing
    the app before its first picture); otherwise forkserver, which is safe with threads.
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and _alone() else "forkserver"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method), initializer=_ignore_interrupts)
    # With fork every worker starts at the first submit, before the pool's own thread exists.
    pool.submit(os.getpid).result()
    return pool


async def run_batches[Item, Result](
    pool: ProcessPoolExecutor,
    work: Callable[[Sequence[Item], str], list[Result]],
    items: Sequence[Item],
    media_dir: str,
    *,
    files_of: Callable[[Result], list[str]],
    advance: Callable[[int], None],
    workers: int,
) -> list[Result]:
    """``work`` over ``items`` in batches, results in order; a few batches in flight at a time.

    On any failure (or cancellation, as Ctrl+C does) nothing is left on disk: batches not
    started are cancelled, running ones are waited for, and the files of every finished batch
    are removed before the error goes on.
    """
    if not items:
        return []
    size = max(1, min(16, len(items) // (workers * 8)))
    results: list[Result] = []
    by_start: dict[int, list[Result]] = {}
    in_flight: dict[Future[list[Result]], int] = {}
    try:
        for start in range(0, len(items), size):
            in_flight[pool.submit(work, items[start : start + size], media_dir)] = start
            if len(in_flight) >= workers * 3:
                await _collect_some(in_flight, by_start, advance)
        while in_flight:
            await _collect_some(in_flight, by_start, advance)
    except BaseException:
        for future in in_flight:
            future.cancel()
        wait(in_flight)  # the running ones cannot be stopped: let them finish, then clean up
        for future, start in in_flight.items():
            if not future.cancelled() and future.exception() is None:
                by_start[start] = future.result()
        remove_pending(
            media_dir, [name for batch in by_start.values() for result in batch for name in files_of(result)]
        )
        raise
    for start in sorted(by_start):
        results += by_start[start]
    return results


async def _collect_some[Result](
    in_flight: dict[Future[list[Result]], int], by_start: dict[int, list[Result]], advance: Callable[[int], None]
) -> None:
    """Wait for at least one batch; file its results (a worker's error is raised here)."""
    await asyncio.wait([asyncio.wrap_future(future) for future in in_flight], return_when=asyncio.FIRST_COMPLETED)
    for future in [future for future in in_flight if future.done()]:
        start = in_flight.pop(future)
        by_start[start] = future.result()
        advance(len(by_start[start]))
