"""Files under MEDIA_DIR (photos under ``photos/``, avatars under ``avatars/``), named here by
their path relative to it: which ones the rows name, how new ones go live, removing them.

A new file is written pending (:mod:`hyperpics.infra.media`) and published, renamed to its final
name, only after the commit that adds the rows naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

import aiofiles.os
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Photo, User
from . import media

log = logging.getLogger("hyperpics.storage")


def media_path(media_dir: str | Path, name: str) -> Path:
    """The path of a stored file; refuses names that would leave the media folder."""
    root = Path(media_dir).resolve()
    path = (root / name).resolve()
    if root not in path.parents:
        raise ValueError(f"not a media file name: {name!r}")
    return path


def photo_files(original: str, width: int, height: int, derivatives: int) -> list[str]:
    """A photo row's files (Photo.files, from its columns alone)."""
    return [original, *(copy.name for copy in media.photo_copies(original, width, height, derivatives))]


async def named_files(session: AsyncSession) -> set[str]:
    """Every file a row names: one query per table that names files.

    The media sweep removes what is not in here, so a new column naming a file belongs here.
    """
    photos = await session.execute(select(Photo.filename_original, Photo.width, Photo.height, Photo.derivatives))
    named = {f"{media.PHOTOS_DIR}/{name}" for row in photos for name in photo_files(*row)}
    avatars = await session.execute(select(User.avatar_small, User.avatar_medium, User.avatar_large))
    named.update(f"{media.AVATARS_DIR}/{name}" for row in avatars for name in row if name)
    return named


async def remove_media_files(media_dir: str | Path, names: Iterable[str]) -> None:
    """Delete files, ignoring ones already gone (a retry must not fail)."""
    for name in names:
        try:
            await aiofiles.os.remove(media_path(media_dir, name))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            log.warning("could not remove media file %s: %s", name, error)


async def discard_media_files(media_dir: str | Path, names: Iterable[str]) -> None:
    """Delete the pending files of ``names``: the rows that were to name them were not committed."""
    await remove_media_files(media_dir, [media.pending_name(name) for name in names])


async def publish_media_files(media_dir: str | Path, names: Iterable[str]) -> None:
    """Rename the pending files of ``names`` to their final names."""
    for name in names:
        try:
            path = media_path(media_dir, name)
            await aiofiles.os.replace(media_path(media_dir, media.pending_name(name)), path)
        except FileNotFoundError:
            if not await aiofiles.os.path.exists(path):  # else the media sweep got there first
                log.warning("could not publish media file %s: its pending file is gone", name)
        except (OSError, ValueError) as error:
            log.warning("could not publish media file %s: %s", name, error)


async def commit_with_files(commit: Callable[[], Awaitable[None]], media_dir: str | Path, names: Sequence[str]) -> None:
    """Commit the rows that name ``names`` (written pending), then publish the files.

    A commit that fails takes the files back. If this process dies after the commit, or is
    cancelled while committing (done or not, nobody knows), the files stay pending and the
    media sweep decides by the rows: published if a row names them, removed if none does.
    """
    try:
        await commit()
    except Exception:
        await discard_media_files(media_dir, names)
        raise
    await publish_media_files(media_dir, names)
