"""What an author does with photos: the details of new ones, tags parsed and found or made,
edits, deletion (with the tags nobody uses any more), and a photo found by its file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    delete,
    exists,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ..infra import db
from ..infra.media import StoredPhoto
from ..models import AuditAction, Photo, Tag, User, Visibility, photo_tags, utcnow
from . import authority
from .photos import EDIT_REFUSAL, can_edit
from .refusals import Invalid, Refused

MAX_TAGS = 20
TAG_PATTERN = re.compile(r"^[\w-]+(?: [\w-]+)*$")  # words of letters, digits, - and _, one space between
TAG_MAX_LENGTH = 64


@dataclass(frozen=True)
class NewDetails:
    """What an upload form says about every photo it sends (checked before any is decoded)."""

    description: str = ""
    tag_names: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PUBLIC


def new_details(*, description: str, tags: str, visibility: str | None) -> NewDetails:
    """Check the upload form's shared fields; :class:`Invalid` names the field at fault."""
    description = (description or "").strip()
    if len(description) > 500:
        raise Invalid("A description has at most 500 characters.", field="description")
    try:
        chosen = Visibility(visibility) if visibility else Visibility.PUBLIC
    except ValueError:
        raise Invalid("Choose who can see the photo.", field="visibility") from None
    return NewDetails(description, tuple(parse_tags(tags)), chosen)


async def tags_for_new_photos(session: AsyncSession, details: NewDetails) -> list[Tag]:
    """The tags of ``details``, created if new; resolved before the photos are added, so that a
    savepoint taken here never holds (and cannot roll back) a photo row."""
    return await _tags_named(session, list(details.tag_names))


def create_photo(
    session: AsyncSession,
    author: User,
    stored: StoredPhoto,
    details: NewDetails = NewDetails(),
    tags: Sequence[Tag] = (),
) -> Photo:
    photo = Photo(
        author_id=author.id,
        filename_original=stored.original,
        filename_medium=stored.medium,
        filename_small=stored.small,
        width=stored.width,
        height=stored.height,
        description=details.description,
        visibility=details.visibility,
        derivatives=stored.derivatives,
        colour=stored.colour,
        created_at=utcnow(),
        tags=list(tags),
    )
    session.add(photo)
    return photo


def parse_tags(text: str) -> list[str]:
    """Tag names from free text, lower-cased, '#' dropped, each once.

    With a comma anywhere, commas separate the tags and a tag may hold several words
    ("mountains, blue hour": two tags); without one, every word is a tag ("sunset beach").
    A word marked with "#" after another is always a tag of its own."""
    text = text or ""
    items = text.split(",") if "," in text else text.split()
    # "#" starts a tag wherever it is: "#sunset #beach, film" is three tags, not two.
    items = [word for item in items for word in (item.split() if " #" in item.strip() else [item])]
    names: list[str] = []
    for raw in items:
        name = " ".join(raw.split()).lstrip("#").strip().lower()
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH or not TAG_PATTERN.match(name):
            raise Invalid(
                f"“{raw.strip()[:30]}” is not a valid tag: use letters, digits, - and _ "
                f"(at most {TAG_MAX_LENGTH}), and commas between tags of several words.",
                field="tags",
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise Invalid(f"At most {MAX_TAGS} tags per photo.", field="tags")
    return names


async def _tags_named(session: AsyncSession, names: list[str]) -> list[Tag]:
    if not names:
        return []
    # Held until the commit, so that no one deletes them as unused meanwhile (delete_unused_tags).
    existing = {tag.name: tag for tag in await db.lock(session, Tag, Tag.name.in_(names), key_share=True)}
    tags: list[Tag] = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name, created_at=utcnow())
            try:
                # Another request may create the same tag at the same moment.
                async with session.begin_nested():
                    session.add(tag)
                    await session.flush()
            except IntegrityError:
                tag = (await session.execute(select(Tag).where(Tag.name == name))).scalar_one()
        tags.append(tag)
    return tags


async def update_details(
    session: AsyncSession,
    actor: User,
    photo: Photo,
    *,
    description: str,
    alt_text: str,
    tags: str,
    visibility: str | None,
) -> Photo:
    """Change what the author says about a photo, and who sees it: the author alone."""
    if not can_edit(actor, photo):
        raise Refused(EDIT_REFUSAL)
    names = parse_tags(tags)
    # Two edits of one photo take turns, each from the tags the other left.
    await db.lock(session, Photo, Photo.id == photo.id, load=[selectinload(Photo.tags)])
    if visibility is not None:
        try:
            photo.visibility = Visibility(visibility)
        except ValueError:
            raise Invalid("Choose who can see the photo.", field="visibility") from None
    photo.description = description.strip()
    photo.alt_text = alt_text.strip()
    dropped = [tag.id for tag in photo.tags if tag.name not in names]
    photo.tags = await _tags_named(session, names)
    await session.flush()
    await delete_unused_tags(session, dropped)
    return photo


async def tag_ids_of_photos(session: AsyncSession, which: ColumnElement[bool]) -> list[int]:
    """The tags carried by the photos ``which`` selects (read before deleting those photos)."""
    found = await session.execute(
        select(photo_tags.c.tag_id).join(Photo, Photo.id == photo_tags.c.photo_id).where(which).distinct()
    )
    return list(found.scalars())


async def delete_unused_tags(session: AsyncSession, tag_ids: Sequence[int]) -> None:
    """Of these tags, those no photo carries any more go (so they are not found, or listed,
    with 0 photos).

    They are locked first. A request tagging a photo with one of them at this moment holds
    it (see _tags_named): it either commits first, and the tag is kept, or it waits and then
    makes the tag anew.
    """
    ids = sorted(set(tag_ids))
    if not ids:
        return
    await db.lock(session, Tag, Tag.id.in_(ids))
    await session.execute(delete(Tag).where(Tag.id.in_(ids), ~exists().where(photo_tags.c.tag_id == Tag.id)))


async def delete_photo(session: AsyncSession, actor: User, photo: Photo, *, reason: str = "") -> list[str]:
    """Delete the photo (its author, or a moderator by authority's rule, which is audited with
    the reason given); returns its files for removal after commit."""
    if refused := await authority.refusal(session, actor, photo.author_id):
        raise Refused(refused)
    files = [f"photos/{name}" for name in photo.files()]
    tag_ids = await tag_ids_of_photos(session, Photo.id == photo.id)
    await session.execute(delete(Photo).where(Photo.id == photo.id))
    await delete_unused_tags(session, tag_ids)
    if actor.id != photo.author_id:
        before = {"author_id": photo.author_id, "description": photo.description, "visibility": photo.visibility.value}
        authority.audit(
            session, actor, AuditAction.PHOTO_DELETE, "photo", photo.id, before, {"reason": reason.strip()[:500]}
        )
    return files


async def photo_by_file(session: AsyncSession, filename: str) -> Photo | None:
    """The photo ``filename`` (one of its copies, or its original) belongs to, if any.

    Copies share the original's stem; the original is a JPEG or a PNG (a WebP copy does not say
    which), so both are asked for, by the unique index."""
    stem = re.sub(r"_[a-z0-9]+$", "", filename.rpartition(".")[0])
    photo = (
        await session.execute(select(Photo).where(Photo.filename_original.in_([f"{stem}.jpg", f"{stem}.png"])))
    ).scalar_one_or_none()
    return photo if photo is not None and filename in photo.files() else None
