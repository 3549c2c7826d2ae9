"""What the admin pages show: the dashboard's counts and chart, and the six tables.

A :class:`TableSpec` says what a table can be asked (its sorts, filters and page size); a
:class:`TableQuery` is one such ask, and each table loads its page in a fixed number of
statements (a count, the rows with their counts as subqueries, and for the reports queue one
query per target kind), so the statements per page never grow with the page size. How a table
is shown and addressed (headers, bulk actions, query strings) is the admin views' business
(views/admin_tables.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..models import (
    AuditAction,
    AuditEntry,
    Collect,
    Comment,
    Photo,
    Report,
    ReportStatus,
    ReportTarget,
    Role,
    RoleName,
    Tag,
    User,
    photo_tags,
    utcnow,
)

# --- what a table can be asked ------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    name: str
    sorts: tuple[str, ...]
    default_sort: str
    filters: Mapping[str, tuple[str, ...]]  # filter name -> allowed values ("" = no filter)
    per_page: int
    searchable: bool = True
    # Sorts that read best from the top down (names A–Z); the rest start with the largest.
    ascending_first: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableQuery:
    spec: TableSpec
    sort: str
    descending: bool
    filters: dict[str, str]
    text: str
    page: int

    @property
    def filtered(self) -> bool:
        return bool(self.text or any(self.filters.values()))


@dataclass
class TablePage:
    query: TableQuery
    rows: list[Any]
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.spec.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.query.page - 1) * self.query.spec.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.query.page * self.query.spec.per_page)


def _contains(column: SQLColumnExpression[str], text: str) -> ColumnElement[bool]:
    return func.lower(column).contains(text.lower(), autoescape=True)


def _order(expression: SQLColumnExpression[Any], query: TableQuery, tiebreak: SQLColumnExpression[Any]) -> list[Any]:
    if query.descending:
        return [expression.desc(), tiebreak.desc()]
    return [expression.asc(), tiebreak.asc()]


async def _page(
    session: AsyncSession,
    query: TableQuery,
    statement: Select[*tuple[Any, ...]],
    count_from: Any,
    where: Sequence[ColumnElement[bool]],
) -> tuple[list[Any], int, TableQuery]:
    """Count, clamp the page into range, then load it (two statements)."""
    total = (await session.execute(select(func.count()).select_from(count_from).where(*where))).scalar_one()
    per_page = query.spec.per_page
    last_page = max(1, math.ceil(total / per_page))
    if query.page > last_page:
        query = replace(query, page=last_page)
    rows = (await session.execute(statement.where(*where).limit(per_page).offset((query.page - 1) * per_page))).all()
    return list(rows), total, query


def _open_reports_on(target: ReportTarget, target_id: SQLColumnExpression[int]) -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(Report)
        .where(Report.target_type == target, Report.target_id == target_id, Report.status == ReportStatus.OPEN)
        .scalar_subquery()
    )


# --- users --------------------------------------------------------------------------------

USERS = TableSpec(
    name="users",
    sorts=("joined", "username", "photos", "reports"),
    default_sort="joined",
    filters={
        "status": ("", "unconfirmed", "locked", "blocked", "reported"),
        "role": ("", *(role.value for role in RoleName)),
    },
    per_page=30,
    ascending_first=("username",),
)


@dataclass(frozen=True)
class UserRow:
    user: User
    photos: int
    reports: int


async def users(session: AsyncSession, query: TableQuery, *, only_ids: Sequence[int] | None = None) -> TablePage:
    photo_count = (
        select(func.count()).select_from(Photo).where(Photo.author_id == User.id).correlate(User).scalar_subquery()
    )
    reports = _open_reports_on(ReportTarget.USER, User.id)
    where: list[ColumnElement[bool]] = []
    status, role = query.filters["status"], query.filters["role"]
    if status == "unconfirmed":
        where.append(User.confirmed.is_(False))
    elif status == "locked":
        where.append(User.locked.is_(True))
    elif status == "blocked":
        where.append(User.active.is_(False))
    elif status == "reported":
        where.append(reports > 0)
    if role:
        where.append(User.role_id == select(Role.id).where(Role.name == role).scalar_subquery())
    if query.text:
        where.append(
            or_(
                _contains(User.username, query.text),
                _contains(User.name, query.text),
                _contains(User.email, query.text),
            )
        )
    if only_ids is not None:
        where.append(User.id.in_(only_ids))
    sort = {
        "joined": User.member_since,
        "username": func.lower(User.username),
        "photos": photo_count,
        "reports": reports,
    }[query.sort]
    statement = (
        select(User, photo_count.label("photos"), reports.label("reports"))
        .options(joinedload(User.role_before_lock))
        .order_by(*_order(sort, query, User.id))
    )
    rows, total, query = await _page(session, query, statement, User, where)
    return TablePage(query, [UserRow(row.User, row.photos, row.reports) for row in rows], total)


# --- photos -------------------------------------------------------------------------------

PHOTOS = TableSpec(
    name="photos",
    sorts=("uploaded", "reports", "collects", "author"),
    default_sort="uploaded",
    filters={"status": ("", "reported"), "visibility": ("", "public", "followers", "private")},
    per_page=20,
    ascending_first=("author",),
)


@dataclass(frozen=True)
class PhotoRow:
    photo: Photo
    collects: int
    comments: int
    reports: int


async def photos(session: AsyncSession, query: TableQuery, *, only_ids: Sequence[int] | None = None) -> TablePage:
    collects = (
        select(func.count()).select_from(Collect).where(Collect.photo_id == Photo.id).correlate(Photo).scalar_subquery()
    )
    comments = (
        select(func.count()).select_from(Comment).where(Comment.photo_id == Photo.id).correlate(Photo).scalar_subquery()
    )
    reports = _open_reports_on(ReportTarget.PHOTO, Photo.id)
    where: list[ColumnElement[bool]] = []
    if query.filters["status"] == "reported":
        where.append(reports > 0)
    if query.filters["visibility"]:
        where.append(Photo.visibility == query.filters["visibility"])
    if query.text:
        author_matches = select(User.id).where(_contains(User.username, query.text))
        where.append(
            or_(
                _contains(Photo.description, query.text),
                _contains(Photo.alt_text, query.text),
                Photo.author_id.in_(author_matches),
            )
        )
    if only_ids is not None:
        where.append(Photo.id.in_(only_ids))
    author_name = select(func.lower(User.username)).where(User.id == Photo.author_id).correlate(Photo).scalar_subquery()
    sort = {"uploaded": Photo.created_at, "reports": reports, "collects": collects, "author": author_name}[query.sort]
    statement = (
        select(Photo, collects.label("collects"), comments.label("comments"), reports.label("reports"))
        .options(joinedload(Photo.author))
        .order_by(*_order(sort, query, Photo.id))
    )
    rows, total, query = await _page(session, query, statement, Photo, where)
    return TablePage(query, [PhotoRow(row.Photo, row.collects, row.comments, row.reports) for row in rows], total)


# --- comments -----------------------------------------------------------------------------

COMMENTS = TableSpec(
    name="comments",
    sorts=("posted", "reports", "author"),
    default_sort="posted",
    filters={"status": ("", "reported", "replies")},
    per_page=30,
    ascending_first=("author",),
)


@dataclass(frozen=True)
class CommentRow:
    comment: Comment
    reports: int


async def comments(session: AsyncSession, query: TableQuery, *, only_ids: Sequence[int] | None = None) -> TablePage:
    reports = _open_reports_on(ReportTarget.COMMENT, Comment.id)
    where: list[ColumnElement[bool]] = []
    if query.filters["status"] == "reported":
        where.append(reports > 0)
    elif query.filters["status"] == "replies":
        where.append(Comment.reply_to_id.is_not(None))
    if query.text:
        author_matches = select(User.id).where(_contains(User.username, query.text))
        where.append(or_(_contains(Comment.body, query.text), Comment.author_id.in_(author_matches)))
    if only_ids is not None:
        where.append(Comment.id.in_(only_ids))
    author_name = (
        select(func.lower(User.username)).where(User.id == Comment.author_id).correlate(Comment).scalar_subquery()
    )
    sort = {"posted": Comment.created_at, "reports": reports, "author": author_name}[query.sort]
    statement = (
        select(Comment, reports.label("reports"))
        .options(joinedload(Comment.author), joinedload(Comment.photo))
        .order_by(*_order(sort, query, Comment.id))
    )
    rows, total, query = await _page(session, query, statement, Comment, where)
    return TablePage(query, [CommentRow(row.Comment, row.reports) for row in rows], total)


# --- tags ---------------------------------------------------------------------------------

TAGS = TableSpec(
    name="tags",
    sorts=("photos", "name", "created"),
    default_sort="photos",
    filters={},
    per_page=50,
    ascending_first=("name",),
)


@dataclass(frozen=True)
class TagRow:
    tag: Tag
    photos: int


async def tags(session: AsyncSession, query: TableQuery, *, only_ids: Sequence[int] | None = None) -> TablePage:
    photo_count = (
        select(func.count())
        .select_from(photo_tags)
        .where(photo_tags.c.tag_id == Tag.id)
        .correlate(Tag)
        .scalar_subquery()
    )
    where: list[ColumnElement[bool]] = []
    if query.text:
        where.append(_contains(Tag.name, query.text))
    if only_ids is not None:
        where.append(Tag.id.in_(only_ids))
    sort = {"photos": photo_count, "name": Tag.name, "created": Tag.created_at}[query.sort]
    statement = select(Tag, photo_count.label("photos")).order_by(*_order(sort, query, Tag.id))
    rows, total, query = await _page(session, query, statement, Tag, where)
    return TablePage(query, [TagRow(row.Tag, row.photos) for row in rows], total)


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
        people = select(User.id).where(_contains(User.username, query.text))
        where.append(
            or_(
                AuditEntry.actor_id.in_(people),
                and_(AuditEntry.target_type == "user", AuditEntry.target_id.in_(people)),
            )
        )
    statement = (
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .order_by(*_order(AuditEntry.created_at, query, AuditEntry.id))
    )
    rows, total, query = await _page(session, query, statement, AuditEntry, where)
    return TablePage(query, [AuditRow(row.AuditEntry) for row in rows], total)


# --- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    photos: int
    photos_reported: int
    users: int
    users_locked: int
    users_blocked: int
    users_unconfirmed: int
    comments: int
    comments_reported: int
    tags: int
    reports_open: int


def _reported(target: ReportTarget) -> ColumnElement[int]:
    return (
        select(func.count(func.distinct(Report.target_id)))
        .where(Report.target_type == target, Report.status == ReportStatus.OPEN)
        .scalar_subquery()
    )


async def counts(session: AsyncSession) -> Counts:
    """Every number on the dashboard in one statement."""

    def total(model: Any, *where: ColumnElement[bool]) -> ColumnElement[int]:
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    row = (
        await session.execute(
            select(
                total(Photo).label("photos"),
                _reported(ReportTarget.PHOTO).label("photos_reported"),
                total(User).label("users"),
                total(User, User.locked.is_(True)).label("users_locked"),
                total(User, User.active.is_(False)).label("users_blocked"),
                total(User, User.confirmed.is_(False)).label("users_unconfirmed"),
                total(Comment).label("comments"),
                _reported(ReportTarget.COMMENT).label("comments_reported"),
                total(Tag).label("tags"),
                total(Report, Report.status == ReportStatus.OPEN).label("reports_open"),
            )
        )
    ).one()
    return Counts(**row._mapping)


CHART_DAYS = 30


@dataclass(frozen=True)
class DailySeries:
    """Uploads and sign-ups per day, oldest first, for a small bar chart."""

    days: list[date]
    uploads: list[int]
    signups: list[int]

    @property
    def peak(self) -> int:
        return max([1, *self.uploads, *self.signups])

    @property
    def total_uploads(self) -> int:
        return sum(self.uploads)

    @property
    def total_signups(self) -> int:
        return sum(self.signups)


async def daily_activity(session: AsyncSession, today: date | None = None) -> DailySeries:
    today = today or utcnow().date()
    days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    since = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)

    # One statement: both series as a union, tagged by kind.
    upload_day, signup_day = func.date(Photo.created_at), func.date(User.member_since)
    union = (
        select(literal("uploads").label("kind"), upload_day.label("day"), func.count().label("n"))
        .where(Photo.created_at >= since)
        .group_by(upload_day)
        .union_all(
            select(literal("signups").label("kind"), signup_day.label("day"), func.count().label("n"))
            .where(User.member_since >= since)
            .group_by(signup_day)
        )
    )
    found: dict[str, dict[str, int]] = {"uploads": {}, "signups": {}}
    for kind, day, number in (await session.execute(union)).all():
        found[kind][str(day)] = number
    return DailySeries(
        days=days,
        uploads=[found["uploads"].get(day.isoformat(), 0) for day in days],
        signups=[found["signups"].get(day.isoformat(), 0) for day in days],
    )
