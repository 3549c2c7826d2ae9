"""The admin dashboard: the site's counts and a chart of the last days' activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Comment,
    Photo,
    Report,
    ReportStatus,
    ReportTarget,
    Tag,
    User,
    utcnow,
)


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
