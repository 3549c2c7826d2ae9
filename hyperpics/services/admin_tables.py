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
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..models import (
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


def contains_text(column: SQLColumnExpression[str], text: str) -> ColumnElement[bool]:
    """The table's free-text filter: ``text`` anywhere in ``column``, whatever the case."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def ordered_by(
    expression: SQLColumnExpression[Any], query: TableQuery, tiebreak: SQLColumnExpression[Any]
) -> list[Any]:
    """The ORDER BY for the query's sort: ``expression`` its way, then ``tiebreak`` the same way."""
    if query.descending:
        return [expression.desc(), tiebreak.desc()]
    return [expression.asc(), tiebreak.asc()]


async def read_page(
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
                contains_text(User.username, query.text),
                contains_text(User.name, query.text),
                contains_text(User.email, query.text),
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
        .order_by(*ordered_by(sort, query, User.id))
    )
    rows, total, query = await read_page(session, query, statement, User, where)
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
        author_matches = select(User.id).where(contains_text(User.username, query.text))
        where.append(
            or_(
                contains_text(Photo.description, query.text),
                contains_text(Photo.alt_text, query.text),
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
        .order_by(*ordered_by(sort, query, Photo.id))
    )
    rows, total, query = await read_page(session, query, statement, Photo, where)
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
        author_matches = select(User.id).where(contains_text(User.username, query.text))
        where.append(or_(contains_text(Comment.body, query.text), Comment.author_id.in_(author_matches)))
    if only_ids is not None:
        where.append(Comment.id.in_(only_ids))
    author_name = (
        select(func.lower(User.username)).where(User.id == Comment.author_id).correlate(Comment).scalar_subquery()
    )
    sort = {"posted": Comment.created_at, "reports": reports, "author": author_name}[query.sort]
    statement = (
        select(Comment, reports.label("reports"))
        .options(joinedload(Comment.author), joinedload(Comment.photo))
        .order_by(*ordered_by(sort, query, Comment.id))
    )
    rows, total, query = await read_page(session, query, statement, Comment, where)
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
        where.append(contains_text(Tag.name, query.text))
    if only_ids is not None:
        where.append(Tag.id.in_(only_ids))
    sort = {"photos": photo_count, "name": Tag.name, "created": Tag.created_at}[query.sort]
    statement = select(Tag, photo_count.label("photos")).order_by(*ordered_by(sort, query, Tag.id))
    rows, total, query = await read_page(session, query, statement, Tag, where)
    return TablePage(query, [TagRow(row.Tag, row.photos) for row in rows], total)
