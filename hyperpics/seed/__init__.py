"""``hyperpics seed``: a believable demo site, the same one for the same seed.

The run, stage by stage:

1. ``plan``: :func:`plan.build` decides every row from the seed (no I/O; bad options fail here).
2. ``avatars``, ``photos``: a process pool draws each picture and sends it through the real
   pipeline (``media.process_avatar`` / ``media.process_photo``); the one argon2 hash every
   demo account shares is computed meanwhile.
3. ``database``: one transaction wipes the old rows (``reset``) and bulk-inserts the new ones.
4. Only after the commit are the new media files published (renamed from their pending
   names) and the old ones deleted. If anything fails before, the new files are removed and
   the old site is left as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from ..infra import media, passwords, storage
from ..infra.engines import Database
from . import store, worker_pool
from .plan import build
from .rows import ADMIN, MEMBER, MODERATOR, Plan, SeedError, SeedOptions, check, max_follows

__all__ = [
    "Login",
    "Progress",
    "SeedError",
    "SeedOptions",
    "Summary",
    "check",
    "existing",
    "max_follows",
    "new_password",
    "run",
]


def new_password() -> str:
    """A fresh demo password: never a literal in the code."""
    return secrets.token_urlsafe(9)


class Progress(Protocol):
    def stage(self, label: str, total: int) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        """A context whose value is called with the number of items just finished."""
        ...


class Quiet:
    @contextlib.contextmanager
    def stage(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda _done: None


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    username: str


@dataclass(frozen=True)
class Stage:
    name: str
    rows: int | None
    seconds: float


@dataclass
class Summary:
    seed: int
    password: str
    logins: list[Login]
    stages: list[Stage] = field(default_factory=list)
    sources_with_gps: int = 0
    sources_turned: int = 0
    photos: int = 0
    old_files_removed: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The closing report: timings per stage, then the logins."""
        out = [f"Seeded in {self.seconds:.1f} s (repeat it with --seed {self.seed}):"]
        for stage in self.stages:
            rows = "" if stage.rows is None else f"{stage.rows:,}"
            out.append(f"  {stage.name:<22}{rows:>10}  {stage.seconds:7.2f} s")
        if self.photos:
            out.append(
                f"  {self.photos:,} source images: {self.sources_with_gps:,} carried GPS and {self.sources_turned:,} "
                "an EXIF orientation; the stored copies carry neither."
            )
        out.append("")
        out.append(f"Demo logins (every demo account's password: {self.password})")
        width = max(len(login.email) for login in self.logins)
        out += [f"  {login.role:<14} {login.email:<{width}}  ({login.username})" for login in self.logins]
        return out


class _Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: list[Stage] = []

    @contextlib.contextmanager
    def stage(self, name: str, rows: int | None = None) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.stages.append(Stage(name, rows, time.perf_counter() - started))

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


async def existing(url: str) -> store.Existing:
    database = Database(url)
    try:
        async with database.session(write=False) as session:
            return await store.existing(session)
    finally:
        await database.dispose()


def _logins(plan: Plan) -> list[Login]:
    people = plan.people
    return [
        Login("administrator", people[ADMIN].email, people[ADMIN].username),
        Login("moderator", people[MODERATOR].email, people[MODERATOR].username),
        Login("member", people[MEMBER].email, people[MEMBER].username),
    ]


def _photo_files(stored: media.StoredPhoto) -> list[str]:
    return [f"{media.PHOTOS_DIR}/{name}" for name in stored.files()]


def _avatar_files(stored: media.StoredAvatar) -> list[str]:
    return [f"{media.AVATARS_DIR}/{name}" for name in stored.files()]


async def run(
    url: str,
    media_dir: str,
    options: SeedOptions,
    password: str,
    *,
    reset: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Seed the database at ``url``; with ``reset``, replace what is there.

    Without ``reset`` the database must hold no content rows (the seed's usernames would
    collide with themselves, and ids would no longer follow the plan).
    """
    progress = progress or Quiet()
    workers = workers or os.cpu_count() or 1
    clock = _Clock()
    with clock.stage("plan"):
        plan = build(options)
    # Started first: the pool forks while this process has no other thread.
    pool = worker_pool.open_pool(workers)
    new_files: list[str] = []
    # One argon2 hash for every demo account (~0.3 s), made while the pool draws.
    hashing = asyncio.create_task(passwords.hash_password(password))
    try:
        avatars, photos = await _store_pictures(pool, plan, media_dir, workers, progress, clock, new_files)
        password_hash = await hashing
    except BaseException:
        hashing.cancel()
        worker_pool.remove_pending(media_dir, new_files)
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    try:
        old_files = await _write(url, plan, avatars, photos, password_hash, reset=reset, progress=progress, clock=clock)
    except BaseException:
        worker_pool.remove_pending(media_dir, new_files)
        raise
    with clock.stage("new media files published", len(new_files)):
        await storage.publish_media_files(media_dir, new_files)
    with clock.stage("old media files removed", len(old_files)):
        worker_pool.remove_files(media_dir, old_files)
    return Summary(
        seed=options.seed,
        password=password,
        logins=_logins(plan),
        stages=clock.stages,
        sources_with_gps=plan.sources_with_gps,
        sources_turned=plan.sources_turned,
        photos=len(plan.photos),
        old_files_removed=len(old_files),
        seconds=clock.elapsed,
    )


async def _store_pictures(
    pool: ProcessPoolExecutor,
    plan: Plan,
    media_dir: str,
    workers: int,
    progress: Progress,
    clock: _Clock,
    new_files: list[str],
) -> tuple[list[media.StoredAvatar], list[media.StoredPhoto]]:
    """Avatars, then photos, through the pool; ``new_files`` collects what was written."""
    seeds: Sequence[str] = [person.avatar_seed for person in plan.people]
    with clock.stage("avatar images", len(seeds)), progress.stage("Avatars", len(seeds)) as advance:
        avatars = await worker_pool.run_batches(
            pool, worker_pool.store_avatars, seeds, media_dir, files_of=_avatar_files, advance=advance, workers=workers
        )
    new_files += [name for avatar in avatars for name in _avatar_files(avatar)]
    sources = [photo.picture for photo in plan.photos]
    with clock.stage("photo images", len(sources)), progress.stage("Photos", len(sources)) as advance:
        photos = await worker_pool.run_batches(
            pool, worker_pool.store_photos, sources, media_dir, files_of=_photo_files, advance=advance, workers=workers
        )
    new_files += [name for photo in photos for name in _photo_files(photo)]
    return avatars, photos


async def _write(
    url: str,
    plan: Plan,
    avatars: list[media.StoredAvatar],
    photos: list[media.StoredPhoto],
    password_hash: str,
    *,
    reset: bool,
    progress: Progress,
    clock: _Clock,
) -> list[str]:
    """One transaction: (reset) old rows out, new rows in. Returns the old rows' media files."""
    database = Database(url)
    try:
        async with database.session(write=True) as session:
            old_files: list[str] = []
            found = await store.existing(session)
            if not found.empty:
                if not reset:
                    raise SeedError(
                        "reset", f"the database already has {found.users} users and {found.photos} photos; use --reset."
                    )
                with clock.stage("old rows deleted", found.rows):
                    old_files = sorted(await storage.named_files(session))
                    await store.wipe(session)
            with progress.stage("Database", store.row_count(plan)) as advance:
                written = await store.write(
                    session, plan, avatars=avatars, photos=photos, password_hash=password_hash, advance=advance
                )
            clock.stages += [Stage(f"insert {item.table}", item.rows, item.seconds) for item in written]
            with clock.stage("commit"):
                await session.commit()
        return old_files
    finally:
        await database.dispose()
