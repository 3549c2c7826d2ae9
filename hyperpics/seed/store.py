"""Writing a plan into the database: Core ``insert()`` with lists of dicts, one transaction.

Ids are given explicitly, counted on from the largest id in each table: the plan refers to rows
by list index, and this turns index ``i`` into ``first_id + i`` without reading anything back;
on PostgreSQL the id sequences are then moved past the new rows (:func:`_advance_sequences`).
The search indexes (SQLite's FTS5 tables, PostgreSQL's ``search_*`` documents) are kept by
their triggers, so the inserted rows are searchable at once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra import media
from ..models import (
    AuditEntry,
    Base,
    Collect,
    Comment,
    Follow,
    Notification,
    Photo,
    Report,
    ReportTarget,
    Role,
    RoleName,
    Tag,
    User,
    photo_tags,
)
from .rows import Plan

CHUNK = 5_000
# Tables whose ids this module hands out (PostgreSQL's sequences must hear of them).
_ID_TABLES: tuple[Table, ...] = tuple(
    cast(Table, model.__table__) for model in (User, Tag, Photo, Comment, Notification, Report, AuditEntry)
)
KEPT_TABLES = {"roles"}  # written by the first migration; everything else is site content


@dataclass(frozen=True)
class Existing:
    users: int
    photos: int
    rows: int  # in every content table together

    @property
    def empty(self) -> bool:
        return self.rows == 0


async def existing(session: AsyncSession) -> Existing:
    counts = {}
    for table in Base.metadata.sorted_tables:
        if table.name not in KEPT_TABLES:
            counts[table.name] = (await session.execute(select(func.count()).select_from(table))).scalar_one()
    return Existing(users=counts["users"], photos=counts["photos"], rows=sum(counts.values()))


async def wipe(session: AsyncSession) -> None:
    """Delete every content row (children first); the roles stay."""
    for table in reversed(Base.metadata.sorted_tables):
        if table.name not in KEPT_TABLES:
            await session.execute(delete(table))


# --- plan -> rows ---------------------------------------------------------------------------


def _at(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class FirstIds:
    users: int
    tags: int
    photos: int
    comments: int
    notifications: int
    reports: int
    audit: int


async def first_ids(session: AsyncSession) -> FirstIds:
    """Past every id ever handed out, not only past those still there: ids are never reused
    (a report or an old link may still name a deleted row's id)."""
    dialect = session.get_bind().dialect.name

    async def issued(table: Table) -> int:
        if dialect == "sqlite":
            found = await session.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name})
            return found.scalar() or 0
        sequence = (await session.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})).scalar()
        if sequence is None:
            return 0
        # The name comes from the catalog. A sequence set with is_called false has not issued last_value yet.
        last, called = (await session.execute(text(f"SELECT last_value, is_called FROM {sequence}"))).one()
        return cast(int, last if called else last - 1)

    async def after(table: Table) -> int:
        largest: int = (await session.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
        return max(largest, await issued(table)) + 1

    return FirstIds(*[await after(table) for table in _ID_TABLES])


def _users(
    plan: Plan, ids: FirstIds, roles: dict[str, int], avatars: Sequence[media.StoredAvatar], password_hash: str
) -> Iterator[dict[str, Any]]:
    for index, (person, avatar) in enumerate(zip(plan.people, avatars, strict=True)):
        yield {
            "id": ids.users + index,
            "username": person.username,
            "email": person.email,
            "name": person.name,
            "password_hash": password_hash,  # one argon2 hash for every demo account
            "bio": person.bio,
            "website": person.website,
            "location": person.location,
            "avatar_small": avatar.small,
            "avatar_medium": avatar.medium,
            "avatar_large": avatar.large,
            "member_since": _at(person.member_since),
            "confirmed": person.confirmed,
            "locked": person.locked,
            "active": person.active,
            "public_collections": person.public_collections,
            "receive_comment_notification": person.receive_comment,
            "receive_follow_notification": person.receive_follow,
            "receive_collect_notification": person.receive_collect,
            "role_id": roles[person.role.value],
            "role_before_lock_id": roles[RoleName.USER.value] if person.locked else None,
        }


def _tags(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    for index, tag in enumerate(plan.tags):
        yield {"id": ids.tags + index, "name": tag.name, "created_at": _at(tag.created_at)}


def _photos(plan: Plan, ids: FirstIds, stored: Sequence[media.StoredPhoto]) -> Iterator[dict[str, Any]]:
    for index, (photo, files) in enumerate(zip(plan.photos, stored, strict=True)):
        yield {
            "id": ids.photos + index,
            "author_id": ids.users + photo.author,
            "description": photo.description,
            "alt_text": photo.alt_text,
            "visibility": photo.visibility,
            "filename_original": files.original,
            "filename_medium": files.medium,
            "filename_small": files.small,
            "width": files.width,
            "height": files.height,
            "derivatives": files.derivatives,
            "colour": files.colour,
            "can_comment": photo.can_comment,
            "created_at": _at(photo.created_at),
            "shuffle_key": _shuffle_key(index, photo.created_at),
        }


def _shuffle_key(index: int, created_at: int) -> float:
    """Explore's order for a seeded photo: evenly spread like the model's random draw, but the
    same for the same seed (a seed makes the same site)."""
    digest = hashlib.blake2b(f"{index}:{created_at}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def _photo_tags(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    for index, photo in enumerate(plan.photos):
        for tag in photo.tag_indexes:
            yield {"photo_id": ids.photos + index, "tag_id": ids.tags + tag}


def _follows(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    for row in plan.follows:
        yield {
            "follower_id": ids.users + row.follower,
            "followed_id": ids.users + row.followed,
            "created_at": _at(row.created_at),
        }


def _collects(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    for row in plan.collects:
        yield {"user_id": ids.users + row.user, "photo_id": ids.photos + row.photo, "created_at": _at(row.created_at)}


def _comments(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    for index, row in enumerate(plan.comments):
        yield {
            "id": ids.comments + index,
            "photo_id": ids.photos + row.photo,
            "author_id": ids.users + row.author,
            "reply_to_id": None if row.reply_to is None else ids.comments + row.reply_to,
            "body": row.body,
            "created_at": _at(row.created_at),
        }


def _notifications(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    for index, row in enumerate(plan.notifications):
        yield {
            "id": ids.notifications + index,
            "kind": row.kind,
            "receiver_id": ids.users + row.receiver,
            "actor_id": ids.users + row.actor,
            "photo_id": None if row.photo is None else ids.photos + row.photo,
            "comment_id": None if row.comment is None else ids.comments + row.comment,
            "created_at": _at(row.created_at),
            "read_at": _at(row.read_at),
        }


def _first_of_target(ids: FirstIds) -> dict[ReportTarget, int]:
    """The first id of each kind of row a report or an audit entry may name."""
    return {ReportTarget.PHOTO: ids.photos, ReportTarget.COMMENT: ids.comments, ReportTarget.USER: ids.users}


def _reports(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    first = _first_of_target(ids)
    for index, row in enumerate(plan.reports):
        yield {
            "id": ids.reports + index,
            "reporter_id": ids.users + row.reporter,
            "target_type": row.target_type,
            "target_id": first[row.target_type] + row.target,
            "reason": row.reason,
            "note": row.note,
            "status": row.status,
            "created_at": _at(row.created_at),
            "resolved_by_id": None if row.resolved_by is None else ids.users + row.resolved_by,
            "resolved_at": _at(row.resolved_at),
        }


def _audit(plan: Plan, ids: FirstIds) -> Iterator[dict[str, Any]]:
    first = _first_of_target(ids)
    for index, row in enumerate(plan.audit):
        yield {
            "id": ids.audit + index,
            "actor_id": ids.users + row.actor,
            "action": row.action,
            "target_type": row.target_type.value,
            "target_id": first[row.target_type] + row.target,
            "before": row.before,
            "after": row.after,
            "created_at": _at(row.created_at),
        }


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    table: str
    rows: int
    seconds: float


def row_count(plan: Plan) -> int:
    """Rows :func:`write` inserts (for a progress bar)."""
    return (
        len(plan.people)
        + len(plan.tags)
        + len(plan.photos)
        + sum(len(photo.tag_indexes) for photo in plan.photos)
        + len(plan.follows)
        + len(plan.collects)
        + len(plan.comments)
        + len(plan.notifications)
        + len(plan.reports)
        + len(plan.audit)
    )


async def _insert(
    session: AsyncSession, table: Table, rows: Iterator[dict[str, Any]], advance: Callable[[int], None]
) -> int:
    """Executemany in chunks, so memory stays flat and the progress bar moves."""
    written = 0
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            return written
        await session.execute(insert(table), chunk)
        written += len(chunk)
        advance(len(chunk))


async def write(
    session: AsyncSession,
    plan: Plan,
    *,
    avatars: Sequence[media.StoredAvatar],
    photos: Sequence[media.StoredPhoto],
    password_hash: str,
    advance: Callable[[int], None],
) -> list[Written]:
    """Insert the whole plan (parents before children); the caller commits."""
    roles = {name: role_id for role_id, name in (await session.execute(select(Role.id, Role.name))).all()}
    ids = await first_ids(session)
    steps: list[tuple[Table, Iterator[dict[str, Any]]]] = [
        (cast(Table, User.__table__), _users(plan, ids, roles, avatars, password_hash)),
        (cast(Table, Tag.__table__), _tags(plan, ids)),
        (cast(Table, Photo.__table__), _photos(plan, ids, photos)),
        (photo_tags, _photo_tags(plan, ids)),
        (cast(Table, Follow.__table__), _follows(plan, ids)),
        (cast(Table, Collect.__table__), _collects(plan, ids)),
        (cast(Table, Comment.__table__), _comments(plan, ids)),
        (cast(Table, Notification.__table__), _notifications(plan, ids)),
        (cast(Table, Report.__table__), _reports(plan, ids)),
        (cast(Table, AuditEntry.__table__), _audit(plan, ids)),
    ]
    written: list[Written] = []
    for table, rows in steps:
        started = time.perf_counter()
        count = await _insert(session, table, rows, advance)
        written.append(Written(table.name, count, time.perf_counter() - started))
    await _advance_sequences(session)
    return written


async def _advance_sequences(session: AsyncSession) -> None:
    """PostgreSQL: explicit ids leave the id sequences behind; move them past the new rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in _ID_TABLES:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
            )
        )
