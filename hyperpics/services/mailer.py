"""The mails hyperpics sends, each with its signed link.

Sign-up and forgotten-password mail goes out after the response (a background task), so that
the answer is the same, in the same time, whether or not an account uses the address: the
page never tells who has an account here, only the mailbox's owner learns it.
"""

from __future__ import annotations

import logging

from quart import current_app
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from .. import db, mail, tokens
from ..models import User
from . import accounts

log = logging.getLogger("hyperpics.mailer")


def absolute(path: str) -> str:
    """Links in mail point at the public address (``BASE_URL``), not at whatever Host was used."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def _link(endpoint: str, token: str) -> str:
    # Built from the URL map: background tasks have no request to build it from.
    return absolute(current_app.url_map.bind("").build(endpoint, {"token": token}))


async def _issue(session: AsyncSession, user_id: int, purpose: tokens.Purpose, **extra: str) -> tuple[User, str] | None:
    """A new link for the account (voiding the older ones of its kind). The row is read fresh
    and locked, so two requests at once issue two serials; the caller commits before mailing."""
    user = await db.lock_one(session, User, User.id == user_id, load=[undefer(User.password_hash)])
    return None if user is None else (user, tokens.issue(user, purpose, **extra))


async def _in_request(user: User, purpose: tokens.Purpose, endpoint: str, **extra: str) -> tuple[User, str]:
    issued = await _issue(await db.session(), user.id, purpose, **extra)
    await db.commit()  # durable before it is mailed: a link that was not saved would not open
    fresh, token = issued or (user, "")
    return fresh, _link(endpoint, token)


async def send_confirmation(user: User) -> bool:
    fresh, link = await _in_request(user, tokens.Purpose.CONFIRM, "auth.confirm")
    return await mail.send(await mail.build(fresh.email, "Confirm your email address", "confirm", user=fresh, link=link))


async def send_email_change(user: User, new_email: str) -> bool:
    fresh, link = await _in_request(user, tokens.Purpose.CHANGE_EMAIL, "settings.confirm_email", email=new_email)
    message = await mail.build(new_email, "Confirm your new email address", "change_email", user=fresh, link=link)
    return await mail.send(message)


async def send_email_changed_notice(user: User, old_email: str) -> bool:
    """To the address an account has just left: if the owner did not do it, they learn of it."""
    message = await mail.build(old_email, "Your email address was changed", "email_changed", user=user)
    return await mail.send(message)


# --- after the response -------------------------------------------------------------------


async def _mail_a_link_later(user_id: int | None, email: str | None, purpose: tokens.Purpose, endpoint: str) -> None:
    try:
        async with db.database().session(write=False) as session:
            if user_id is None:
                found = await accounts.user_by_email(session, email or "")
                user_id = found.id if found is not None and found.active else None
            issued = await _issue(session, user_id, purpose) if user_id is not None else None
            await session.commit()
        if issued is None:
            return  # no such account: nobody is told, and the page said the same either way
        user, token = issued
        template, subject = _LINK_MAILS[purpose]
        await mail.send(await mail.build(user.email, subject, template, user=user, link=_link(endpoint, token)))
    except Exception:
        log.exception("could not send the %s mail", purpose.value)


_LINK_MAILS = {
    tokens.Purpose.CONFIRM: ("confirm", "Confirm your email address"),
    tokens.Purpose.RESET_PASSWORD: ("reset_password", "Choose a new password"),
}


def confirmation_later(user_id: int) -> None:
    current_app.add_background_task(_mail_a_link_later, user_id, None, tokens.Purpose.CONFIRM, "auth.confirm")


def password_reset_later(email: str) -> None:
    current_app.add_background_task(
        _mail_a_link_later, None, email, tokens.Purpose.RESET_PASSWORD, "auth.reset_password"
    )


async def _already_registered(email: str) -> None:
    try:
        message = await mail.build(email, "You already have an account", "already_registered", email=email,
                                   login=absolute("/auth/login"), reset=absolute("/auth/forget-password"))
        await mail.send(message)
    except Exception:
        log.exception("could not send the already-registered mail")


def already_registered_later(email: str) -> None:
    """Someone signed up with an address that has an account: only its owner is told."""
    current_app.add_background_task(_already_registered, email)
