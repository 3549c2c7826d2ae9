"""Who may act on content that is someone else's, and the audit row every such action leaves.

One rule for every route that deletes a photo or a comment, whichever page it came from (the
photo page, the comment thread, the admin tables, the reports queue):

- one's own content: always;
- someone else's: MODERATE, and a moderator acts on ordinary members' content only (also a
  member whose moderator role a lock keeps aside); administrators act on anyone's;
- nobody but the author changes a photo's text, tags or visibility (authoring.update_details).

Every action on someone else's content is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..models import AuditAction, AuditEntry, Permission, User, utcnow

RANK_REFUSAL = "Only an administrator can act on the content of a moderator or an administrator."


async def refusal(session: AsyncSession, actor: User, author_id: int, *, owner_ids: tuple[int, ...] = ()) -> str | None:
    """Why ``actor`` may not act on content by ``author_id`` (None: they may). ``owner_ids``
    are others with an owner's right to it (a photo's author over the comments under it)."""
    if not actor.active:
        return "Your account cannot do this."
    if actor.id == author_id or actor.id in owner_ids:
        return None
    if not actor.can(Permission.MODERATE):
        return "Only its author or a moderator can do this."
    if actor.is_admin:
        return None
    author = (
        await session.execute(select(User).options(joinedload(User.role_before_lock)).where(User.id == author_id))
    ).scalar_one_or_none()
    if author is not None and author.has_moderator_rank:
        return RANK_REFUSAL
    return None


def may_show_delete(viewer: User | None, author: User, *, owner_ids: tuple[int, ...] = ()) -> bool:
    """Whether to offer a delete button: :func:`refusal` without a query (a lock keeping a
    moderator's role aside is not seen here; the server still refuses)."""
    if viewer is None or not viewer.active:
        return False
    if viewer.id == author.id or viewer.id in owner_ids:
        return True
    return viewer.can(Permission.MODERATE) and (viewer.is_admin or not author.is_moderator)


def user_state(user: User) -> dict[str, Any]:
    # The username is kept so the log still names the member after a rename or deletion.
    return {
        "username": user.username,
        "role": user.role.name,
        "locked": user.locked,
        "active": user.active,
        "confirmed": user.confirmed,
    }


def audit(
    session: AsyncSession,
    actor: User,
    action: AuditAction,
    target_type: str,
    target_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
            created_at=utcnow(),
        )
    )
