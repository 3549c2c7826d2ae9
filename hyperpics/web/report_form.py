"""Filing a report from a :class:`~hyperpics.forms.photos.ReportForm`: the part the photo,
comment and member report views share (their answers differ, the filing does not)."""

from __future__ import annotations

from ..forms.photos import ReportForm
from ..infra import db
from ..models import ReportTarget, User
from ..services import reporting
from ..services.refusals import Conflict, Invalid


async def file_report(
    form: ReportForm, reporter: User, target: ReportTarget, target_id: int, owner_id: int
) -> int | None:
    """None once filed; otherwise the status to answer the form with (422 invalid, 409 already
    reported), the reason added to the form. Other refusals (one's own content) go to the
    error handler."""
    if not form.validate():
        return Invalid.status
    try:
        await reporting.report(
            await db.session(), reporter, target, target_id, owner_id, form.reason.data, form.note.data or ""
        )
    except (Conflict, Invalid) as error:
        form.add_error(error.field, error.message)
        return error.status
    return None
