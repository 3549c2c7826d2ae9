"""Whom to wake once a transaction commits.

Services record on the session that a user's open streams should look again (a new
notification, or one of their sessions ended); the request edge announces it through the
broadcast hub only after the commit, so a rolled-back action tells nobody.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .models import Notification

WAKE_KEY = "hyperpics_wake"

# Why a stream is woken.
NOTIFICATION = "notification"  # something new to read
SESSION = "session"  # a session of this user ended: each stream checks its own
RESYNC = "resync"  # the fan-out was interrupted: re-read the database


def wake_after_commit(session: Session | AsyncSession, user_id: int, reason: str) -> None:
    wakes: dict[int, str] = session.info.setdefault(WAKE_KEY, {})
    # A session check also reads notifications, so it is the stronger reason.
    if wakes.get(user_id) != SESSION:
        wakes[user_id] = reason


@event.listens_for(Session, "after_flush")
def _collect_new_notifications(session: Session, _context: object) -> None:
    for instance in session.new:
        if isinstance(instance, Notification):
            wake_after_commit(session, instance.receiver_id, NOTIFICATION)
