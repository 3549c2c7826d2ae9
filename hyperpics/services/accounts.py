"""Account rules: registration, login, confirmation, password and email changes, deletion.

Functions take the request's session and never commit; the edge does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, undefer

from ..infra import cpu, db, media, passwords, tokens
from ..infra.storage import discard_media_files
from ..infra.storage import photo_files as storage_photo_files
from ..infra.wakeups import SESSION, wake_after_commit
from ..models import THEMES, AuditAction, AuthSession, Photo, Role, RoleName, User, utcnow
from . import authority
from .authoring import delete_unused_tags, tag_ids_of_photos
from .refusals import Invalid


class EmailTaken(Exception):
    """Sign-up with an address that has an account: the page must not say so (its owner is
    told by mail instead), so this is not a refusal with a message for the form."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


@dataclass(frozen=True)
class Registration:
    name: str
    email: str
    username: str
    password: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def user_by_email(session: AsyncSession, email: str, *, with_password: bool = False) -> User | None:
    statement = select(User).where(User.email == normalise_email(email))
    if with_password:
        statement = statement.options(undefer(User.password_hash))
    return (await session.execute(statement)).scalar_one_or_none()


async def username_taken(session: AsyncSession, username: str, *, except_id: int | None = None) -> bool:
    statement = select(User.id).where(func.lower(User.username) == username.strip().lower())
    if except_id is not None:
        statement = statement.where(User.id != except_id)
    return (await session.execute(statement.limit(1))).first() is not None


async def email_taken(session: AsyncSession, email: str, *, except_id: int | None = None) -> bool:
    statement = select(User.id).where(User.email == normalise_email(email))
    if except_id is not None:
        statement = statement.where(User.id != except_id)
    return (await session.execute(statement.limit(1))).first() is not None


async def username_problem(session: AsyncSession, username: str) -> str | None:
    """Usernames are public (on every profile): a taken one may be said. Emails are not
    (see register)."""
    return "This username is taken." if await username_taken(session, username) else None


async def role_named(session: AsyncSession, name: RoleName) -> Role:
    return (await session.execute(select(Role).where(Role.name == name.value))).scalar_one()


async def register(session: AsyncSession, data: Registration, *, media_dir: str) -> User:
    """Create an unconfirmed member with an identicon. Whatever the address, the account starts
    as a member: the administrator's role comes only with proof of the address (confirm)."""
    if problem := await username_problem(session, data.username):
        raise Invalid(problem, field="username")
    # Hashed before the address is looked at: a taken address costs the same time as a new one.
    password_hash = await passwords.hash_password(data.password)
    email = normalise_email(data.email)
    if await email_taken(session, email):
        raise EmailTaken(email)
    role = await role_named(session, RoleName.USER)
    avatar = await cpu.run("drawing an identicon", media.make_identicon, media_dir)
    user = User(
        name=data.name.strip(),
        email=email,
        username=data.username.strip(),
        password_hash=password_hash,
        role=role,
        member_since=utcnow(),
        avatar_small=avatar.small,
        avatar_medium=avatar.medium,
        avatar_large=avatar.large,
    )
    try:
        # Two sign-ups racing for one name: the unique index decides, not a 500.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except BaseException as error:
        await discard_media_files(media_dir, avatar_paths(avatar.files()))
        if isinstance(error, IntegrityError):
            raise Invalid("This username or email was just taken. Choose another.", field="username") from None
        raise
    return user


def avatar_paths(names: list[str]) -> list[str]:
    return [f"{media.AVATARS_DIR}/{name}" for name in names]


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The user with this email and password; the same error whether the email exists or not."""
    user = await user_by_email(session, email, with_password=True)
    valid = await passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not valid:
        raise Invalid("Invalid email or password.")
    if not user.active:
        raise Invalid("Your account is blocked. Contact the site's moderators if you think this is a mistake.")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_password(password)
    return user


async def check_password(session: AsyncSession, user: User, password: str) -> bool:
    stored = (await session.execute(select(User.password_hash).where(User.id == user.id))).scalar_one()
    return await passwords.verify_password(stored, password)


async def revoke_sessions(session: AsyncSession, user_id: int, *, keep_id: int | None = None) -> None:
    """End every open login of a user (except ``keep_id``): they are refused on their next request."""
    statement = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if keep_id is not None:
        statement = statement.where(AuthSession.id != keep_id)
    await session.execute(statement)
    wake_after_commit(session, user_id, SESSION)


# --- links sent by mail -------------------------------------------------------------------


async def session_stands(session: AsyncSession, session_id: int) -> bool:
    """Whether login session ``session_id`` still stands: not revoked, its user not blocked
    (what an open stream checks when woken, and now and then)."""
    found = (
        await session.execute(
            select(AuthSession.revoked_at, User.active)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id)
        )
    ).first()
    return found is not None and found.revoked_at is None and bool(found.active)


async def user_for_token(
    session: AsyncSession, token: str, purpose: tokens.Purpose, *, lock: bool = False
) -> tuple[User, dict[str, Any]]:
    """The user a still-valid, unused token is for; raises TokenError otherwise.

    With ``lock`` (the request is about to use the token up) the account's row is read fresh
    and locked, so the same link clicked twice at once is used once.
    """
    payload = tokens.read(token, purpose)
    with_password = undefer(User.password_hash)
    if lock:
        user = await db.lock_one(session, User, User.id == payload["uid"], load=[with_password])
    else:
        statement = select(User).options(with_password).where(User.id == payload["uid"])
        user = (await session.execute(statement)).scalar_one_or_none()
    if user is None:
        raise tokens.TokenError("This link is for an account that no longer exists.")
    if tokens.superseded(user, purpose, payload):
        raise tokens.TokenError("A newer link was sent since this one: use the one in the latest mail.")
    if not tokens.matches(user, purpose, payload):
        raise tokens.TokenError("This link has already been used. Ask for a new one if you still need it.")
    return user, payload


async def address_proven(session: AsyncSession, user: User, *, admin_email: str | None) -> None:
    """A link mailed to the user's address was used (confirmation, password reset, email
    change; the caller checked its token): the address is confirmed, and if it is the site's
    administrator address (ADMIN_EMAIL) a member becomes Administrator now, not at sign-up:
    registering that address first proves nothing."""
    user.confirmed = True
    if not admin_email or user.email != normalise_email(admin_email):
        return
    if user.role.name != RoleName.USER or user.locked or not user.active:
        return  # a moderator's or a locked member's role stays as moderation left it
    before = authority.user_state(user)
    user.role = await role_named(session, RoleName.ADMINISTRATOR)
    authority.audit(session, user, AuditAction.USER_ROLE, "user", user.id, before, authority.user_state(user))


async def reset_password(session: AsyncSession, token: str, new_password: str, *, admin_email: str | None) -> User:
    user, _ = await user_for_token(session, token, tokens.Purpose.RESET_PASSWORD)
    ensure_password_allowed(user, new_password)
    password_hash = await passwords.hash_password(new_password)  # slow: before any lock
    user, _ = await user_for_token(session, token, tokens.Purpose.RESET_PASSWORD, lock=True)
    user.password_hash = password_hash
    # Whoever could reset the password can read the mail: the address is confirmed too.
    await address_proven(session, user, admin_email=admin_email)
    await revoke_sessions(session, user.id)
    return user


def ensure_password_allowed(user: User, password: str) -> None:
    problems = passwords.problems(password, username=user.username, email=user.email)
    if problems:
        raise Invalid(" ".join(problems), field="password")


async def change_password(session: AsyncSession, user: User, old_password: str, new_password: str) -> None:
    if not await check_password(session, user, old_password):
        raise Invalid("Your current password is not correct.", field="old_password")
    ensure_password_allowed(user, new_password)
    user.password_hash = await passwords.hash_password(new_password)


async def start_email_change(session: AsyncSession, user: User, new_email: str) -> str:
    """Check the new address; returns it normalised, for the link to be mailed to it."""
    email = normalise_email(new_email)
    if email == user.email:
        raise Invalid("This is already your email address.", field="email")
    if await email_taken(session, email, except_id=user.id):
        raise EmailTaken(email)  # not said on the page: its owner is told by mail
    return email


async def finish_email_change(session: AsyncSession, token: str, *, admin_email: str | None) -> User:
    user, payload = await user_for_token(session, token, tokens.Purpose.CHANGE_EMAIL, lock=True)
    email = str(payload.get("email", ""))
    if not email:
        raise tokens.TokenError("This link is not valid.")
    if await email_taken(session, email, except_id=user.id):
        raise tokens.TokenError("Another account now uses this email address.")
    user.email = email
    try:
        async with session.begin_nested():  # the unique index settles a race for the address
            await session.flush()
    except IntegrityError:
        raise tokens.TokenError("Another account now uses this email address.") from None
    await address_proven(session, user, admin_email=admin_email)
    return user


@dataclass(frozen=True)
class ProfileChange:
    name: str
    username: str
    website: str
    location: str
    bio: str


async def update_profile(session: AsyncSession, user: User, change: ProfileChange) -> None:
    if change.username.lower() != user.username.lower() and await username_taken(
        session, change.username, except_id=user.id
    ):
        raise Invalid("This username is taken.", field="username")
    user.name, user.username = change.name, change.username
    user.website, user.location, user.bio = change.website, change.location, change.bio
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        await session.refresh(user)  # the rollback expired it; templates cannot load it later
        raise Invalid("This username was just taken.", field="username") from None


def set_theme(user: User, theme: str) -> None:
    """The colour scheme ``user``'s pages use: one of THEMES."""
    if theme not in THEMES:
        raise Invalid(f"Choose one of: {', '.join(THEMES)}.", field="theme")
    user.theme = theme


def set_preferences(user: User, **flags: bool) -> None:
    """Notification opt-outs and privacy: only these boolean columns may be set this way."""
    allowed = {
        "receive_follow_notification",
        "receive_comment_notification",
        "receive_collect_notification",
        "public_collections",
    }
    for name, value in flags.items():
        if name not in allowed:
            raise ValueError(name)
        setattr(user, name, bool(value))


async def replace_avatar(session: AsyncSession, user: User, stored: media.StoredAvatar) -> list[str]:
    """Point the user at new avatar files; returns the old files for removal after commit."""
    old = avatar_paths(user.avatar_files())
    user.avatar_small, user.avatar_medium, user.avatar_large = stored.small, stored.medium, stored.large
    return old


# --- deletion -----------------------------------------------------------------------------


async def lock_with_the_administrators(session: AsyncSession, user_id: int) -> None:
    """Lock ``user_id``'s row and every active administrator's, in id order, and read them
    fresh: a change that could leave the site without an administrator runs under it.

    Two administrators blocking each other at once then take turns (the same order for
    everyone: no deadlock), and the second one finds the first no longer active.
    """
    administrators = (
        select(User.id)
        .join(Role, Role.id == User.role_id)
        .where(Role.name == RoleName.ADMINISTRATOR, User.active.is_(True))
    )
    await db.lock(
        session, User, or_(User.id == user_id, User.id.in_(administrators)), load=[joinedload(User.role_before_lock)]
    )


async def other_active_admins(session: AsyncSession, user: User) -> int:
    """Administrators besides ``user`` who can still log in (the site must keep one)."""
    return (
        await session.execute(
            select(func.count())
            .select_from(User)
            .join(Role, Role.id == User.role_id)
            .where(
                Role.name == RoleName.ADMINISTRATOR,
                User.active.is_(True),
                User.confirmed.is_(True),
                User.id != user.id,
            )
        )
    ).scalar_one()


async def delete_account(session: AsyncSession, user: User, typed_username: str) -> list[str]:
    """Delete the user and everything that is theirs; returns the media files to remove.

    Rows go by the database's ON DELETE CASCADE; the files are removed by the caller once
    the deletion has committed, so a failed commit never loses a file.
    """
    if typed_username.strip() != user.username:
        raise Invalid("Type your username exactly as shown to confirm.", field="username")
    await lock_with_the_administrators(session, user.id)
    if user.is_admin and await other_active_admins(session, user) == 0:
        raise Invalid("You are the last administrator: make someone else an administrator first.")
    photo_files = (
        await session.execute(
            select(Photo.filename_original, Photo.width, Photo.height, Photo.derivatives).where(
                Photo.author_id == user.id
            )
        )
    ).all()
    files = [f"{media.PHOTOS_DIR}/{name}" for row in photo_files for name in storage_photo_files(*row)]
    avatars = user.avatar_files()
    tag_ids = await tag_ids_of_photos(session, Photo.author_id == user.id)
    await session.execute(delete(User).where(User.id == user.id))
    await delete_unused_tags(session, tag_ids)
    return files + avatar_paths(avatars)
