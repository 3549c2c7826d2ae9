"""Turning the files of one upload request into photos, one verdict per file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from ..infra import cpu, image_checks, media
from ..infra.storage import discard_media_files
from ..models import Photo, User
from . import authoring

log = logging.getLogger("hyperpics.uploads")

# Pillow work of one request: two images at a time (the machines have two cores).
PARALLEL_IMAGES = 2


# The status of a file refused on its own (one photo per request): too large, not a kind of
# image we take, or anything else wrong with it.
REFUSAL_STATUS = {"too-large": 413, "not-an-image": 415, "svg": 415, "unsupported-format": 415}


def refusal_status(reason: str) -> int:
    return REFUSAL_STATUS.get(reason, 422)


@dataclass
class FileResult:
    """What happened to one uploaded file."""

    file_name: str
    photo: Photo | None = None
    reason: str = ""
    message: str = ""

    @property
    def accepted(self) -> bool:
        return self.photo is not None


@dataclass
class UploadResult:
    files: list[FileResult] = field(default_factory=list)
    stored: list[media.StoredPhoto] = field(default_factory=list)

    @property
    def accepted(self) -> list[FileResult]:
        return [item for item in self.files if item.accepted]

    @property
    def rejected(self) -> list[FileResult]:
        return [item for item in self.files if not item.accepted]

    def written_files(self) -> list[str]:
        return [f"{media.PHOTOS_DIR}/{name}" for stored in self.stored for name in stored.files()]


@dataclass(frozen=True)
class Upload:
    """One file of the request: its name as sent and its (spooled) stream."""

    file_name: str
    stream: IO[bytes]


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _process(upload: Upload, media_dir: str, max_bytes: int) -> media.StoredPhoto:
    """Runs in a worker thread: size check, read, decode, store."""
    size = _size(upload.stream)
    if size > max_bytes:
        raise image_checks.RejectedImage(
            "too-large", f"This file is {size / 1_048_576:.1f} MB; the limit is {max_bytes // 1_048_576} MB per photo."
        )
    return media.process_photo(upload.stream.read(), media_dir, upload.file_name)


NO_DETAILS = authoring.NewDetails()  # an upload that says nothing about its photos


async def save_uploads(
    session: AsyncSession,
    author: User,
    uploads: Sequence[Upload],
    *,
    media_dir: str,
    max_bytes: int,
    max_files: int,
    details: authoring.NewDetails = NO_DETAILS,
) -> UploadResult:
    """Process every file (in threads) and add a Photo row for each accepted one, carrying
    ``details`` (checked beforehand with :func:`authoring.new_details`).

    Files are on disk, pending, when this returns; the caller commits and publishes
    ``result.written_files()`` (:func:`storage.commit_with_files`).
    """
    result = UploadResult()
    limiter = asyncio.Semaphore(PARALLEL_IMAGES)

    async def handle(index: int, upload: Upload) -> tuple[FileResult, media.StoredPhoto | None]:
        name = upload.file_name or f"file {index + 1}"
        if index >= max_files:
            message = f"Only {max_files} photos per upload; this one was not sent on."
            return FileResult(name, reason="too-many-files", message=message), None
        async with limiter:
            try:
                stored = await cpu.run("processing a photo", _process, upload, media_dir, max_bytes)
            except image_checks.RejectedImage as rejection:
                return FileResult(name, reason=rejection.reason, message=rejection.message), None
            except Exception:  # a decoder bug must cost one file, not the whole upload
                log.exception("could not process upload %r", name)
                return FileResult(name, reason="failed", message="This image could not be processed."), None
        result.stored.append(stored)
        return FileResult(name), stored

    try:
        outcomes = await asyncio.gather(*(handle(i, u) for i, u in enumerate(uploads)))
        # The database only now, once every image is decoded (no write lock held meanwhile).
        tags = await authoring.tags_for_new_photos(session, details) if result.stored else []
        # Rows in the order the files were chosen, whatever order they finished in.
        for item, stored in outcomes:
            if stored is not None:
                item.photo = authoring.create_photo(session, author, stored, details, tags)
            result.files.append(item)
        if result.accepted:
            await session.flush()
    except BaseException:
        await discard_media_files(media_dir, result.written_files())
        raise
    return result
