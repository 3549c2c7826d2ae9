"""Writing notification rows. Rows are typed (kind, actor, target ids); templates word them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Notification, NotificationKind, User, utcnow

# Which setting switches each kind off.
OPT_OUT: dict[NotificationKind, str] = {
    NotificationKind.FOLLOW: "receive_follow_notification",
    NotificationKind.COMMENT: "receive_comment_notification",
    NotificationKind.REPLY: "receive_comment_notification",
    NotificationKind.COLLECT: "receive_collect_notification",
}


def notify(
    session: AsyncSession,
    kind: NotificationKind,
    *,
    receiver: User,
    actor: User,
    photo_id: int | None = None,
    comment_id: int | None = None,
) -> Notification | None:
    """Add a notification unless it is about one's own action or the receiver opted out."""
    if receiver.id == actor.id or not getattr(receiver, OPT_OUT[kind]):
        return None
    notification = Notification(
        kind=kind,
        receiver_id=receiver.id,
        actor_id=actor.id,
        photo_id=photo_id,
        comment_id=comment_id,
        created_at=utcnow(),
    )
    session.add(notification)
    return notification
