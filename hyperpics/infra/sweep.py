"""The media sweep: what a crash left in MEDIA_DIR, finished or removed.

New files are written pending and published (renamed) after the commit of the rows naming
them (:mod:`hyperpics.infra.storage`). A process killed on the way leaves, in ``photos/`` and
``avatars/``:

- a pending file whose final name a row names (killed between the commit and the rename):
  its row is committed, so it is published (rolled forward), whatever its age;
- a pending file no row names (killed before the commit), the temporary file of a write cut
  short, or a final file no row names (the code before pending names, or left by hand):
  removed (rolled back) once older than the grace period, which keeps the sweep away from
  uploads still in flight in another worker or server.

Files the rows name are never touched, and when the rows name none at all (an empty or wrong
database pointed at a real media folder) neither are final files.

It runs once when ``hyperpics serve`` starts (before any worker) and as ``hyperpics
sweep-media``; it reads the rows (one query per table) and lists the two folders, and only
the files no row names are looked at (stat) further.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from . import media, storage
from .engines import Database

log = logging.getLogger("hyperpics.sweep")

GRACE = timedelta(hours=1)
FOLDERS = (media.PHOTOS_DIR, media.AVATARS_DIR)


@dataclass
class SweepReport:
    """What the sweep did (or, in a dry run, would do); paths are relative to MEDIA_DIR."""

    dry_run: bool
    published: list[str] = field(default_factory=list)  # pending files a row names, renamed
    removed: list[str] = field(default_factory=list)  # files no row names, older than the grace
    young: int = 0  # files no row names, kept for now: younger than the grace
    spared: int = 0  # final files no row names, kept: the database names no file at all
    named: int = 0  # files the rows name, untouched
    failed: int = 0  # could not be renamed or removed (logged)

    def changes(self) -> list[str]:
        """A line per file renamed or removed (in a dry run: to be)."""
        rename, remove = ("would rename", "would remove") if self.dry_run else ("renamed", "removed")
        lines = [f"{rename} {name} to {name.removesuffix(media.PENDING_SUFFIX)}" for name in self.published]
        return lines + [f"{remove} {name}" for name in self.removed]

    def summary(self) -> str:
        """One line: counts only (the command lists the files)."""
        publish, remove = ("to publish", "to remove") if self.dry_run else ("published", "removed")
        parts = [
            f"{len(self.published)} {publish} (pending, named by a row)",
            f"{len(self.removed)} {remove} (named by no row, older than the grace period)",
            f"{self.young} younger kept",
            f"{self.named} named by rows",
        ]
        if self.spared:
            parts.append(f"{self.spared} kept because the database names no file at all (the wrong database?)")
        if self.failed:
            parts.append(f"{self.failed} failed (logged)")
        return f"Media sweep{' (dry run, nothing changed)' if self.dry_run else ''}: " + ", ".join(parts)


async def sweep(url: str, media_dir: str | Path, *, grace: timedelta = GRACE, dry_run: bool = False) -> SweepReport:
    """Read which files the rows at ``url`` name, then sweep ``media_dir`` against them."""
    database = Database(url)
    try:
        async with database.session(write=False) as session:
            named = await storage.named_files(session)
    finally:
        await database.dispose()
    return sweep_files(media_dir, named, grace=grace, dry_run=dry_run)


def sweep_files(
    media_dir: str | Path, named: set[str], *, grace: timedelta = GRACE, dry_run: bool = False
) -> SweepReport:
    """Publish pending files ``named`` has committed; remove old files it does not name.

    ``named`` is read before the folders are listed: a file committed in between is younger
    than the grace period, so it is kept even though ``named`` misses it.
    """
    report = SweepReport(dry_run=dry_run)
    cutoff = time.time() - grace.total_seconds()
    for folder in FOLDERS:
        try:
            entries = list(os.scandir(Path(media_dir) / folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            name = f"{folder}/{entry.name}"
            final = name.removesuffix(media.PENDING_SUFFIX)
            if name in named:
                report.named += 1
            elif final != name and final in named:
                final_path = Path(entry.path).with_name(Path(final).name)
                _act(report, report.published, name, dry_run, partial(os.replace, entry.path, final_path))
            elif _modified(entry) >= cutoff:
                report.young += 1
            elif final == name and not named and media.is_published_name(entry.name):
                # An empty or wrong database (a missing HYPERPICS_DATABASE_URL) must not cost a
                # site its photos; what a crash leaves is pending or temporary, and still goes.
                report.spared += 1
            else:
                _act(report, report.removed, name, dry_run, partial(os.remove, entry.path))
    return report


def _modified(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:
        return time.time()  # gone meanwhile (published or removed by its request): leave it be


def _act(report: SweepReport, done: list[str], name: str, dry_run: bool, change: Callable[[], None]) -> None:
    if not dry_run:
        try:
            change()
        except FileNotFoundError:
            return  # its own request got there first
        except OSError as error:
            log.warning("media sweep: could not handle %s: %s", name, error)
            report.failed += 1
            return
    done.append(name)
