"""Reports name their target by id: ids are never reused, and a report closes when its target
goes, whatever deleted it.

Once, a report on a photo its author had deleted stayed open, the next photo (someone else's)
took the same id, the queue showed it beside the old report, and "Resolve" deleted it.
"""

from __future__ import annotations

import pytest
from quart import Quart
from sqlalchemy import delete, select

from hyperpics.infra.db import database
from hyperpics.models import Comment, Photo, Report, ReportStatus, ReportTarget, User

from .conftest import Tab, fetch_user, make_user
from .factories import add_comment, add_photo, add_report, add_user

MODELS = {"photos": Photo, "comments": Comment, "users": User}


async def _make(app: Quart, table: str, number: int) -> int:
    if table == "users":
        return (await add_user(app, f"person{number}")).id
    photo = await add_photo(app, "ana")
    return photo if table == "photos" else await add_comment(app, "ana", photo, f"comment {number}")


async def _delete(app: Quart, model: type, row_id: int) -> None:
    async with database(app).session(write=True) as session:
        await session.execute(delete(model).where(model.id == row_id))
        await session.commit()


@pytest.mark.parametrize("table", list(MODELS))
async def test_the_id_of_a_deleted_row_is_never_given_again(app: Quart, table: str) -> None:
    await add_user(app, "ana")
    newest = await _make(app, table, 1)
    await _delete(app, MODELS[table], newest)  # the largest id: the one SQLite would reuse
    assert await _make(app, table, 2) > newest


async def _reports(app: Quart) -> list[Report]:
    async with database(app).session(write=False) as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def test_deleting_ones_own_photo_closes_its_reports(app: Quart, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    await make_user(app, tab, "ana")
    moderator = await make_user(app, new_tab(), "mo", role="Moderator")
    await add_user(app, "bob")
    photo = await add_photo(app, "ana")
    await add_report(app, "bob", ReportTarget.PHOTO, photo)
    assert (await tab.post(f"/photo/{photo}/delete")).status == 303

    [report] = await _reports(app)
    assert report.status == ReportStatus.RESOLVED and report.resolved_at is not None
    # Someone else's next photo does not inherit the report.
    newer = await add_photo(app, "bob")
    assert newer != photo
    queue = await moderator.get("/admin/reports")
    assert f"/photo/{photo}" not in queue.text and f"/photo/{newer}" not in queue.text
    refused = await moderator.post(f"/_/admin/reports/photo/{photo}/resolve", {"confirmed": "1"})
    assert refused.status == 409
    async with database(app).session(write=False) as session:
        assert await session.get(Photo, newer) is not None


async def test_reports_close_through_cascades(app: Quart) -> None:
    """A deleted photo takes its comments with it; a deleted account its photos and comments:
    the reports on all of them close, not only on the row deleted by name."""
    await add_user(app, "ana")
    await add_user(app, "bob")
    await add_user(app, "cy")
    photo = await add_photo(app, "ana")
    comment_by_bob = await add_comment(app, "bob", photo, "under ana's photo")
    others_photo = await add_photo(app, "cy")
    comment_by_ana = await add_comment(app, "ana", others_photo, "ana elsewhere")
    ana_id = (await fetch_user(app, "ana")).id
    for target, target_id in (
        (ReportTarget.COMMENT, comment_by_bob),
        (ReportTarget.COMMENT, comment_by_ana),
        (ReportTarget.USER, ana_id),
    ):
        await add_report(app, "cy", target, target_id)
    untouched = await add_report(app, "bob", ReportTarget.PHOTO, others_photo)

    await _delete(app, Photo, photo)  # bob's comment goes with it
    reports = {report.id: report for report in await _reports(app)}
    assert [r.status for r in reports.values()] == [ReportStatus.RESOLVED] + [ReportStatus.OPEN] * 3

    await _delete(app, User, ana_id)  # her comment on cy's photo goes with her
    statuses = {r.id: r.status for r in await _reports(app)}
    assert statuses == {**{i: ReportStatus.RESOLVED for i in statuses if i != untouched}, untouched: ReportStatus.OPEN}
