"""What to announce once a transaction commits: whose open streams to wake, and whose
cached user cards no longer say the truth.

Services record it on the session (follows, which are written with Core statements, say
so themselves; new notifications, new photos and changed members are seen by the flush
hook below); the request edge announces it
only after the commit, through the broadcast hub and the shared card versions, so a
rolled-back action tells nobody and a card is never dropped before its change is visible.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..models import Comment, Notification, Photo, User

WAKE_KEY = "hyperpics_wake"
CARDS_KEY = "hyperpics_cards"
COMMENTS_KEY = "hyperpics_comments"

# Why a stream is woken.
NOTIFICATION = "notification"  # something new to read
SESSION = "session"  # a session of this user ended: each stream checks its own
RESYNC = "resync"  # the fan-out was interrupted: re-read the database


def wake_after_commit(session: Session | AsyncSession, user_id: int, reason: str) -> None:
    wakes: dict[int, str] = session.info.setdefault(WAKE_KEY, {})
    # A session check also reads notifications, so it is the stronger reason.
    if wakes.get(user_id) != SESSION:
        wakes[user_id] = reason


def comments_change_after_commit(
    session: Session | AsyncSession, photo_id: int, removed: list[int] | None = None
) -> None:
    """The comments of ``photo_id`` change once this commits: open photo pages read what is new
    (and drop the ``removed`` ids)."""
    changes: dict[int, list[int]] = session.info.setdefault(COMMENTS_KEY, {})
    changes.setdefault(photo_id, []).extend(removed or ())


def cards_change_after_commit(session: Session | AsyncSession, *user_ids: int) -> None:
    """The cards of these people say something else once this commits (counts, badges, names)."""
    session.info.setdefault(CARDS_KEY, set()).update(user_ids)


@event.listens_for(Session, "after_flush")
def _collect_announcements(session: Session, _context: object) -> None:
    for instance in session.new:
        if isinstance(instance, Notification):
            wake_after_commit(session, instance.receiver_id, NOTIFICATION)
        elif isinstance(instance, Photo):
            cards_change_after_commit(session, instance.author_id)
        elif isinstance(instance, Comment):
            comments_change_after_commit(session, instance.photo_id)
    for instance in session.dirty:
        if isinstance(instance, User) and session.is_modified(instance):
            cards_change_after_commit(session, instance.id)
