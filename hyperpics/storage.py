"""Files under MEDIA_DIR: photo files at the top, avatars under ``avatars/``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import aiofiles.os

log = logging.getLogger("hyperpics.storage")


def media_path(media_dir: str | Path, name: str) -> Path:
    """The path of a stored file; refuses names that would leave the media folder."""
    root = Path(media_dir).resolve()
    path = (root / name).resolve()
    if root not in path.parents:
        raise ValueError(f"not a media file name: {name!r}")
    return path


async def remove_media_files(media_dir: str | Path, names: Iterable[str]) -> None:
    """Delete files, ignoring ones already gone (a retry must not fail)."""
    for name in names:
        try:
            await aiofiles.os.remove(media_path(media_dir, name))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            log.warning("could not remove media file %s: %s", name, error)
