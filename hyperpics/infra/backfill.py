"""``hyperpics media backfill``: the copies and the colour that photos stored before the
current pipeline (media.DERIVATIVES) lack, made from their stored originals.

Batch by batch, in id order: the rows are read (a reader: no lock), Pillow makes the missing
files in threads, pending (WebP encodes without the GIL; the threads run with no transaction
open, so SQLite's write lock is never held while an image is encoded), then one short write
transaction moves each row to the current version with its colour, and only then are the files
published (storage.commit_with_files). A row deleted meanwhile updates nothing and its files
are discarded.

Interrupted anywhere, it leaves rows at the old version (whose pages show the copies they had),
or at the new one with every file; pending files no row names are the media sweep's. Run again,
it starts with the rows still behind: a second run after a complete one does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from PIL import UnidentifiedImageError
from sqlalchemy import CursorResult, Row, func, select, update

from ..models import Photo
from . import media, storage
from .engines import Database

log = logging.getLogger("hyperpics.backfill")

BATCH = 32


@dataclass
class BackfillReport:
    behind: int = 0  # photos below the current version when the run started
    done: int = 0  # brought up to date
    files: int = 0  # files written and published
    failed: list[tuple[int, str]] = field(default_factory=list)  # (photo id, why), left as they were
    gone: int = 0  # deleted while their copies were made

    def summary(self) -> str:
        if not self.behind:
            return "Media backfill: every photo has its copies and colour already; nothing to do."
        line = (
            f"Media backfill: {self.done:,} of {self.behind:,} photos brought up to date ({self.files:,} files written)"
        )
        if self.gone:
            line += f", {self.gone:,} deleted meanwhile"
        if self.failed:
            line += f", {len(self.failed):,} failed (left as they were; run again once fixed)"
        return line + "."


async def count_behind(database: Database) -> int:
    async with database.session(read_only=True) as session:
        return int(
            (await session.execute(select(func.count()).where(Photo.derivatives < media.DERIVATIVES))).scalar_one()
        )


def _make(media_dir: str, original: str, derivatives: int) -> media.Backfilled | str:
    """In a worker thread: the missing copies, or why they could not be made."""
    try:
        return media.add_copies(media_dir, original, derivatives)
    except FileNotFoundError:
        return "its original file is missing"
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError) as error:
        return f"its original could not be read ({error})"


async def backfill(
    url: str,
    media_dir: str,
    *,
    batch: int = BATCH,
    workers: int | None = None,
    advance: Callable[[int], None] = lambda _done: None,
    behind: int | None = None,
) -> BackfillReport:
    """Bring every photo row below media.DERIVATIVES up to date (see the module's notes)."""
    database = Database(url)
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="hyperpics-backfill")
    loop = asyncio.get_running_loop()
    report = BackfillReport()
    try:
        report.behind = await count_behind(database) if behind is None else behind
        after = 0
        while True:
            async with database.session(read_only=True) as session:
                rows = (
                    await session.execute(
                        select(Photo.id, Photo.filename_original, Photo.derivatives)
                        .where(Photo.derivatives < media.DERIVATIVES, Photo.id > after)
                        .order_by(Photo.id)
                        .limit(batch)
                    )
                ).all()
            if not rows:
                break
            after = rows[-1].id
            made = await asyncio.gather(
                *(loop.run_in_executor(pool, _make, media_dir, row.filename_original, row.derivatives) for row in rows)
            )
            await _record(database, media_dir, rows, made, report)
            advance(len(rows))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        await database.dispose()
    return report


async def _record(
    database: Database,
    media_dir: str,
    rows: Sequence[Row[int, str, int]],
    made: list[media.Backfilled | str],
    report: BackfillReport,
) -> None:
    """One short write transaction for the batch, then its files published."""
    written = [(row, result) for row, result in zip(rows, made, strict=True) if isinstance(result, media.Backfilled)]
    for row, result in zip(rows, made, strict=True):
        if isinstance(result, str):
            log.warning("media backfill: photo %s: %s", row.id, result)
            report.failed.append((row.id, result))
    if not written:
        return
    kept: list[str] = []
    dropped: list[str] = []
    try:
        async with database.session(write=True) as session:
            for row, result in written:
                changed = await session.execute(
                    update(Photo)
                    .where(Photo.id == row.id, Photo.derivatives == row.derivatives)
                    .values(derivatives=media.DERIVATIVES, colour=result.colour)
                )
                (kept if cast(CursorResult[Any], changed).rowcount else dropped).extend(result.files)
                if cast(CursorResult[Any], changed).rowcount:
                    report.done += 1
                else:
                    report.gone += 1
            await storage.commit_with_files(session.commit, media_dir, kept)
    except BaseException:
        await storage.discard_media_files(media_dir, [name for _, result in written for name in result.files])
        raise
    await storage.discard_media_files(media_dir, dropped)
    report.files += len(kept)
