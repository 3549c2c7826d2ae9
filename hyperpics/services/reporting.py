"""Members report a photo, a comment or a person to the moderators: one open report per
reporter and target (moderation.py settles them).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Report, ReportReason, ReportTarget, User, utcnow
from .refusals import Conflict, Invalid, Refused


async def report(
    session: AsyncSession, reporter: User, target: ReportTarget, target_id: int, owner_id: int, reason: str, note: str
) -> Report:
    """One open report per reporter and target; reporting one's own things is refused."""
    if reporter.id == owner_id:
        raise Refused("You cannot report your own content.")
    try:
        reason_value = ReportReason(reason)
    except ValueError:
        raise Invalid("Choose a reason for the report.", field="reason") from None
    row = Report(
        reporter_id=reporter.id,
        target_type=target,
        target_id=target_id,
        reason=reason_value,
        note=note.strip()[:500],
        created_at=utcnow(),
    )
    try:
        # Inside a savepoint: a duplicate rolls back the savepoint (and the row with it),
        # never the request's transaction.
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict("You have already reported this; a moderator will look at it.") from None
    return row
