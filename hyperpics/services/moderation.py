"""Moderation: what moderators and administrators may do to people and content, doing it,
and writing every action to the audit log.

The rules (enforced here, whatever page or button asked):
- moderators act on ordinary members only: never on moderators or administrators, nor on
  someone whose moderator role a lock is keeping aside;
- only administrators change roles or edit a profile (the views also ask for a fresh login);
- nobody locks or blocks themselves, and the last active administrator cannot be demoted,
  locked or blocked;
- unlocking gives back the role held before the lock;
- blocking ends every login of that person at once (their next request, fragment or stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..infra import db
from ..models import (
    AuditAction,
    Comment,
    Permission,
    Photo,
    Report,
    ReportStatus,
    ReportTarget,
    RoleName,
    Tag,
    User,
    photo_tags,
    utcnow,
)
from . import accounts, authority
from .authoring import delete_unused_tags, tag_ids_of_photos
from .authority import audit
from .authority import refusal as content_refusal
from .refusals import Conflict, Invalid, NotFound, Refused

# --- people -------------------------------------------------------------------------------

USER_ACTIONS = ("confirm", "lock", "unlock", "block", "unblock")
# What each action is called in messages: "Locked ana." / "ana is already locked."
PAST_TENSE = {
    "confirm": "confirmed",
    "lock": "locked",
    "unlock": "unlocked",
    "block": "blocked",
    "unblock": "unblocked",
}


async def user_for_moderation(session: AsyncSession, user_id: int) -> User:
    user = (
        await session.execute(select(User).options(joinedload(User.role_before_lock)).where(User.id == user_id))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("There is no such member.")
    return user


async def _ensure_not_last_admin(session: AsyncSession, target: User, doing: str) -> None:
    if (
        target.is_admin
        and target.active
        and target.confirmed
        and await accounts.other_active_admins(session, target) == 0
    ):
        raise Conflict(
            f"{target.username} is the last administrator and cannot be {doing}: "
            "make someone else an administrator first."
        )


def refusal(actor: User, target: User, action: str) -> str | None:
    """Why ``actor`` may not do ``action`` to ``target`` (None: they may). Needs the target's
    ``role_before_lock`` loaded. Buttons use this to hide what the server would refuse."""
    if not actor.can(Permission.MODERATE):
        return "You don't have permission to do this."
    if target.id == actor.id and action in ("lock", "block"):
        return f"You cannot {action} yourself."
    if target.has_moderator_rank and not actor.is_admin:
        return "Only an administrator can act on a moderator or an administrator."
    return None


async def moderate_user(session: AsyncSession, actor: User, target: User, action: str) -> str:
    """Do one of USER_ACTIONS; returns the message that says what changed."""
    if action not in USER_ACTIONS:
        raise NotFound("There is no such action.")
    await accounts.lock_with_the_administrators(session, target.id)  # decide on fresh rows
    reason = refusal(actor, target, action)
    if reason:
        raise Refused(reason)
    before = authority.user_state(target)
    if action == "confirm":
        if target.confirmed:
            raise Conflict(f"{target.username} has already confirmed their email.")
        target.confirmed = True
    elif action == "lock":
        if target.locked:
            raise Conflict(f"{target.username} is already locked.")
        await _ensure_not_last_admin(session, target, "locked")
        await _lock(session, target)
    elif action == "unlock":
        if not target.locked:
            raise Conflict(f"{target.username} is not locked.")
        await _unlock(session, target)
    elif action == "block":
        if not target.active:
            raise Conflict(f"{target.username} is already blocked.")
        await _ensure_not_last_admin(session, target, "blocked")
        target.active = False
        # Every open login ends: the next page, fragment or stream request is logged out.
        await accounts.revoke_sessions(session, target.id)
    elif action == "unblock":
        if target.active:
            raise Conflict(f"{target.username} is not blocked.")
        target.active = True
    await session.flush()
    audit(session, actor, AuditAction(f"user.{action}"), "user", target.id, before, authority.user_state(target))
    message = f"{PAST_TENSE[action].capitalize()} {target.username}."
    if action == "unlock":
        message = f"Unlocked {target.username}: their role is {target.role.name} again."
    return message


async def _lock(session: AsyncSession, target: User) -> None:
    target.role_before_lock = target.role
    target.role = await accounts.role_named(session, RoleName.LOCKED)
    target.locked = True


async def _unlock(session: AsyncSession, target: User) -> None:
    target.role = target.role_before_lock or await accounts.role_named(session, RoleName.USER)
    target.role_before_lock = None
    target.locked = False


async def set_role(session: AsyncSession, actor: User, target: User, role_name: str) -> str:
    """Administrators only. Choosing Locked locks; any other role also ends a lock."""
    if not actor.can(Permission.ADMINISTER):
        raise Refused("Only an administrator can change roles.")
    await accounts.lock_with_the_administrators(session, target.id)
    try:
        wanted = RoleName(role_name)
    except ValueError:
        raise Invalid("Choose one of the roles.") from None
    if target.role.name == wanted:
        raise Conflict(f"{target.username} is already {wanted.value}.")
    if wanted != RoleName.ADMINISTRATOR:
        await _ensure_not_last_admin(session, target, "demoted")
    before = authority.user_state(target)
    if wanted == RoleName.LOCKED:
        await _lock(session, target)
    else:
        target.role = await accounts.role_named(session, wanted)
        target.role_before_lock = None
        target.locked = False
    await session.flush()
    audit(session, actor, AuditAction.USER_ROLE, "user", target.id, before, authority.user_state(target))
    return f"{target.username} is now {wanted.value}."


@dataclass(frozen=True)
class ProfileEdit:
    name: str
    username: str
    email: str
    website: str
    location: str
    bio: str
    confirmed: bool
    role: str


def _profile(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "website": user.website,
        "location": user.location,
        "bio": user.bio,
        "confirmed": user.confirmed,
        "role": user.role.name,
    }


async def edit_profile(session: AsyncSession, actor: User, target: User, edit: ProfileEdit) -> None:
    """An administrator edits anyone's profile; refuses (Invalid) a taken name or email."""
    if not actor.can(Permission.ADMINISTER):
        raise Refused("Only an administrator can edit other people's profiles.")
    await accounts.lock_with_the_administrators(session, target.id)
    before = _profile(target)
    email = accounts.normalise_email(edit.email)
    if email != target.email and await accounts.email_taken(session, email, except_id=target.id):
        raise Invalid("Another account uses this email address.", field="email")
    await accounts.update_profile(
        session,
        target,
        accounts.ProfileChange(
            name=edit.name, username=edit.username, website=edit.website, location=edit.location, bio=edit.bio
        ),
    )
    if email != target.email:
        target.email = email
        try:
            async with session.begin_nested():  # the unique index settles a race for the address
                await session.flush()
        except IntegrityError:
            raise Invalid("Another account now uses this email address.", field="email") from None
    target.confirmed = edit.confirmed
    if edit.role != target.role.name:
        await set_role(session, actor, target, edit.role)  # the role rules, and its own audit row
    await session.flush()
    after = _profile(target)
    changed = [key for key in before if before[key] != after[key] and key != "role"]
    if changed:
        audit(
            session,
            actor,
            AuditAction.USER_EDIT,
            "user",
            target.id,
            {key: before[key] for key in changed},
            {key: after[key] for key in changed},
        )


# --- content ------------------------------------------------------------------------------


async def _close_reports(
    session: AsyncSession, actor: User, target: ReportTarget, target_id: int, status: ReportStatus
) -> int:
    result = await session.execute(
        update(Report)
        .where(Report.target_type == target, Report.target_id == target_id, Report.status == ReportStatus.OPEN)
        .values(status=status, resolved_by_id=actor.id, resolved_at=utcnow())
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def delete_photo(session: AsyncSession, actor: User, photo_id: int) -> tuple[str, list[str]]:
    """Like every delete here, returns the message and the files to remove once committed."""
    # Locked: of two moderators deleting it at once, the second finds it gone.
    photo = await db.lock_one(session, Photo, Photo.id == photo_id, load=[joinedload(Photo.author)])
    if photo is None:
        raise NotFound("This photo no longer exists.")
    if reason := await content_refusal(session, actor, photo.author_id):
        raise Refused(reason)
    files = [f"photos/{name}" for name in photo.files()]
    before = {"author": photo.author.username, "description": photo.description, "visibility": photo.visibility.value}
    tag_ids = await tag_ids_of_photos(session, Photo.id == photo.id)
    # Closed first, by this moderator: the delete would close them too, by nobody (0005).
    await _close_reports(session, actor, ReportTarget.PHOTO, photo.id, ReportStatus.RESOLVED)
    await session.execute(delete(Photo).where(Photo.id == photo.id))
    await delete_unused_tags(session, tag_ids)
    audit(session, actor, AuditAction.PHOTO_DELETE, "photo", photo.id, before, None)
    return f"Deleted photo {photo.id} by {photo.author.username}.", files


async def delete_comment(session: AsyncSession, actor: User, comment_id: int) -> tuple[str, list[str]]:
    comment = await db.lock_one(session, Comment, Comment.id == comment_id, load=[joinedload(Comment.author)])
    if comment is None:
        raise NotFound("This comment no longer exists.")
    if reason := await content_refusal(session, actor, comment.author_id):
        raise Refused(reason)
    before = {"author": comment.author.username, "photo": comment.photo_id, "body": comment.body[:500]}
    await _close_reports(session, actor, ReportTarget.COMMENT, comment.id, ReportStatus.RESOLVED)
    await session.execute(delete(Comment).where(Comment.id == comment.id))  # replies cascade
    audit(session, actor, AuditAction.COMMENT_DELETE, "comment", comment.id, before, None)
    return f"Deleted comment {comment.id} by {comment.author.username}.", []


async def delete_tag(session: AsyncSession, actor: User, tag_id: int) -> tuple[str, list[str]]:
    """Removes the tag from every photo (the photos stay)."""
    tag = await db.lock_one(session, Tag, Tag.id == tag_id)
    if tag is None:
        raise NotFound("This tag no longer exists.")
    photos = (
        await session.execute(select(func.count()).select_from(photo_tags).where(photo_tags.c.tag_id == tag.id))
    ).scalar_one()
    await session.execute(delete(Tag).where(Tag.id == tag.id))
    audit(session, actor, AuditAction.TAG_DELETE, "tag", tag.id, {"name": tag.name, "photos": photos}, None)
    return f"Deleted the tag #{tag.name} from {photos} photo{'' if photos == 1 else 's'}.", []


# --- the reports queue --------------------------------------------------------------------

REPORT_ACTIONS = ("resolve", "dismiss")


async def _lock_open_reports(session: AsyncSession, target: ReportTarget, target_id: int) -> int:
    """How many reports on the target are open, locked: two moderators settling the same
    group at once take turns, and the second finds nothing left to settle."""
    found = await db.lock(
        session, Report, Report.target_type == target, Report.target_id == target_id, Report.status == ReportStatus.OPEN
    )
    return len(found)


async def settle_reports(
    session: AsyncSession, actor: User, target_type: str, target_id: int, action: str
) -> tuple[str, list[str]]:
    """Resolve (delete the photo or comment, block the member) or dismiss every open report
    on one target. Returns the message and any files to remove after the commit."""
    try:
        target = ReportTarget(target_type)
    except ValueError:
        raise NotFound("There is no such kind of report.") from None
    if action not in REPORT_ACTIONS:
        raise NotFound("There is no such action.")
    count = await _lock_open_reports(session, target, target_id)
    if count == 0:
        raise Conflict("These reports have already been dealt with.")
    files: list[str] = []
    outcome = "dismissed"
    if action == "resolve":
        try:
            if target == ReportTarget.PHOTO:
                _, files = await delete_photo(session, actor, target_id)
                outcome = "photo deleted"
            elif target == ReportTarget.COMMENT:
                await delete_comment(session, actor, target_id)
                outcome = "comment deleted"
            else:
                member = await user_for_moderation(session, target_id)
                if member.active:
                    await moderate_user(session, actor, member, "block")
                outcome = "member blocked"
        except NotFound:
            outcome = f"{target.value} was already gone"
        await _close_reports(session, actor, target, target_id, ReportStatus.RESOLVED)
    else:
        await _close_reports(session, actor, target, target_id, ReportStatus.DISMISSED)
    status = "resolved" if action == "resolve" else "dismissed"
    after: dict[str, Any] = {"status": status, "reports": count}
    if action == "resolve":
        after["outcome"] = outcome
    audit(
        session,
        actor,
        AuditAction(f"report.{action}"),
        target.value,
        target_id,
        {"status": "open", "reports": count},
        after,
    )
    plural = "report" if count == 1 else f"{count} reports"
    return f"{plural.capitalize()} on {target.value} {target_id} {status}: {outcome}.", files
