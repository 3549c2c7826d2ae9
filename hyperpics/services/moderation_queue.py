"""What moderators work through and what they did: the reports queue (one row per reported
thing, with its reasons, reporters and notes) and the audit log, each an admin table
(admin_tables.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..models import (
    AuditAction,
    AuditEntry,
    Comment,
    Photo,
    Report,
    ReportStatus,
    ReportTarget,
    User,
)
from .admin_tables import TablePage, TableQuery, TableSpec, contains_text, ordered_by, read_page

# --- the reports queue, one row per reported thing ----------------------------------------

REPORTS = TableSpec(
    name="reports",
    sorts=("reports", "latest", "oldest"),
    default_sort="reports",
    filters={"status": ("", "closed"), "target": ("", *(target.value for target in ReportTarget))},
    per_page=20,
    searchable=False,
)


@dataclass
class ReportGroup:
    target_type: ReportTarget
    target_id: int
    count: int
    first_at: datetime
    last_at: datetime
    status: ReportStatus | None  # None while open
    reasons: dict[str, int] = field(default_factory=dict)
    reporters: list[str] = field(default_factory=list)  # newest first
    notes: list[tuple[str, str]] = field(default_factory=list)  # (reporter, note)
    target: Photo | Comment | User | None = None  # None when it was deleted

    @property
    def key(self) -> str:
        return f"{self.target_type.value}-{self.target_id}"


async def reports(session: AsyncSession, query: TableQuery, *, only: tuple[str, int] | None = None) -> TablePage:
    closed = query.filters["status"] == "closed"
    where: list[ColumnElement[bool]] = [
        Report.status != ReportStatus.OPEN if closed else Report.status == ReportStatus.OPEN
    ]
    if query.filters["target"]:
        where.append(Report.target_type == query.filters["target"])
    if only is not None:
        where.append(and_(Report.target_type == only[0], Report.target_id == only[1]))
    count = func.count().label("count")
    first_at = func.min(Report.created_at).label("first_at")
    last_at = func.max(Report.created_at).label("last_at")
    # A closed group shows how it ended; all its reports were closed by one action.
    status = func.max(Report.status).label("status")
    sorts: dict[str, ColumnElement[Any]] = {"reports": count, "latest": last_at, "oldest": first_at}
    sort = sorts[query.sort]
    descending = query.descending if query.sort != "oldest" else not query.descending
    groups = select(Report.target_type, Report.target_id).where(*where).group_by(Report.target_type, Report.target_id)
    total = (await session.execute(select(func.count()).select_from(groups.subquery()))).scalar_one()
    per_page = query.spec.per_page
    last_page = max(1, math.ceil(total / per_page))
    if query.page > last_page:
        query = replace(query, page=last_page)
    tiebreak = func.max(Report.id)
    statement = (
        select(Report.target_type, Report.target_id, count, first_at, last_at, status)
        .where(*where)
        .group_by(Report.target_type, Report.target_id)
        .order_by(sort.desc() if descending else sort.asc(), tiebreak.desc())
        .limit(per_page)
        .offset((query.page - 1) * per_page)
    )
    page_groups = [
        ReportGroup(
            ReportTarget(row.target_type),
            row.target_id,
            row.count,  # type: ignore[arg-type]  # the "count" column: typing sees Row's tuple.count method
            row.first_at,
            row.last_at,
            ReportStatus(row.status) if closed else None,
        )
        for row in (await session.execute(statement)).all()
    ]
    await _fill_groups(session, page_groups, where)
    return TablePage(query, page_groups, total)


async def _fill_groups(session: AsyncSession, groups: list[ReportGroup], where: list[ColumnElement[bool]]) -> None:
    """Reasons, notes and the reported things for one page of groups (at most four queries)."""
    if not groups:
        return
    by_key = {(group.target_type, group.target_id): group for group in groups}
    keys = [and_(Report.target_type == kind, Report.target_id == target_id) for kind, target_id in by_key]
    details = await session.execute(
        select(Report.target_type, Report.target_id, Report.reason, Report.note, User.username)
        .join(User, User.id == Report.reporter_id)
        .where(*where, or_(*keys))
        .order_by(Report.created_at.desc(), Report.id.desc())
    )
    for row in details:
        group = by_key[(ReportTarget(row.target_type), row.target_id)]
        group.reasons[row.reason.value] = group.reasons.get(row.reason.value, 0) + 1
        group.reporters.append(row.username)
        if row.note and len(group.notes) < 3:
            group.notes.append((row.username, row.note))
    wanted: dict[ReportTarget, list[int]] = {}
    for kind, target_id in by_key:
        wanted.setdefault(kind, []).append(target_id)
    loaders: dict[ReportTarget, Select[Photo] | Select[Comment] | Select[User]] = {
        ReportTarget.PHOTO: select(Photo)
        .options(joinedload(Photo.author))
        .where(Photo.id.in_(wanted.get(ReportTarget.PHOTO, []))),
        ReportTarget.COMMENT: select(Comment)
        .options(joinedload(Comment.author))
        .where(Comment.id.in_(wanted.get(ReportTarget.COMMENT, []))),
        ReportTarget.USER: select(User).where(User.id.in_(wanted.get(ReportTarget.USER, []))),
    }
    for kind, statement in loaders.items():
        if kind not in wanted:
            continue
        for target in (await session.execute(statement)).scalars():
            by_key[(kind, target.id)].target = target


# --- the audit log ------------------------------------------------------------------------

AUDIT_ACTIONS = tuple(action.value for action in AuditAction)

AUDIT = TableSpec(
    name="audit",
    sorts=("time",),
    default_sort="time",
    filters={"action": ("", *AUDIT_ACTIONS)},
    per_page=50,
)


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field the action touched."""
        before, after = self.entry.before or {}, self.entry.after or {}
        keys = list(dict.fromkeys([*before, *after]))
        return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


async def audit_log(session: AsyncSession, query: TableQuery) -> TablePage:
    where: list[ColumnElement[bool]] = []
    if query.filters["action"]:
        where.append(AuditEntry.action == query.filters["action"])
    if query.text:
        # Who did it, or whom it was done to.
        people = select(User.id).where(contains_text(User.username, query.text))
        where.append(
            or_(
                AuditEntry.actor_id.in_(people),
                and_(AuditEntry.target_type == "user", AuditEntry.target_id.in_(people)),
            )
        )
    statement = (
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .order_by(*ordered_by(AuditEntry.created_at, query, AuditEntry.id))
    )
    rows, total, query = await read_page(session, query, statement, AuditEntry, where)
    return TablePage(query, [AuditRow(row.AuditEntry) for row in rows], total)
