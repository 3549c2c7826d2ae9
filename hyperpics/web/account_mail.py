"""The mails hyperpics sends, each with its signed link.

Sign-up and forgotten-password mail goes out after the response (a background task), so that
the answer is the same, in the same time, whether or not an account uses the address: the
page never tells who has an account here, only the mailbox's owner learns it.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import cast

from quart import current_app
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from ..infra import db, mail, tokens
from ..models import User
from ..services import accounts
from .templating import render_template

log = logging.getLogger("hyperpics.account_mail")


def absolute(path: str) -> str:
    """Links in mail point at the public address (``BASE_URL``), not at whatever Host was used."""
    return cast(str, current_app.config["BASE_URL"]).rstrip("/") + path


async def _message(to: str, subject: str, template: str, **context: object) -> EmailMessage:
    """A mail rendered from ``templates/emails/<template>.txt`` and ``.html``."""
    text = await render_template(f"emails/{template}.txt", **context)
    return mail.message(to, subject, text, await render_template(f"emails/{template}.html", **context))


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
    return await mail.send(await _message(fresh.email, "Confirm your email address", "confirm", user=fresh, link=link))


async def send_email_changed_notice(user: User, old_email: str) -> bool:
    """To the address an account has just left: if the owner did not do it, they learn of it."""
    message = await _message(old_email, "Your email address was changed", "email_changed", user=user)
    return await mail.send(message)


# --- after the response -------------------------------------------------------------------


async def _mail_a_link_later(
    user_id: int | None, email: str | None, purpose: tokens.Purpose, endpoint: str, new_email: str | None = None
) -> None:
    try:
        async with db.database().session(write=False) as session:
            if user_id is None:
                found = await accounts.user_by_email(session, email or "")
                user_id = found.id if found is not None and found.active else None
            extra = {"email": new_email} if new_email else {}
            issued = await _issue(session, user_id, purpose, **extra) if user_id is not None else None
            await session.commit()
        if issued is None:
            return  # no such account: nobody is told, and the page said the same either way
        user, token = issued
        template, subject = _LINK_MAILS[purpose]
        to = new_email or user.email  # a change of address is confirmed from the new one
        await mail.send(await _message(to, subject, template, user=user, link=_link(endpoint, token)))
    except Exception:
        log.exception("could not send the %s mail", purpose.value)


_LINK_MAILS = {
    tokens.Purpose.CONFIRM: ("confirm", "Confirm your email address"),
    tokens.Purpose.RESET_PASSWORD: ("reset_password", "Choose a new password"),
    tokens.Purpose.CHANGE_EMAIL: ("change_email", "Confirm your new email address"),
}


def confirmation_later(user_id: int) -> None:
    current_app.add_background_task(_mail_a_link_later, user_id, None, tokens.Purpose.CONFIRM, "auth.confirm")


def password_reset_later(email: str) -> None:
    current_app.add_background_task(
        _mail_a_link_later, None, email, tokens.Purpose.RESET_PASSWORD, "auth.reset_password"
    )


def email_change_later(user_id: int, new_email: str) -> None:
    current_app.add_background_task(
        _mail_a_link_later, user_id, None, tokens.Purpose.CHANGE_EMAIL, "settings.confirm_email", new_email
    )


async def _address_has_an_account(email: str, template: str, subject: str) -> None:
    try:
        message = await _message(
            email,
            subject,
            template,
            email=email,
            login=absolute("/auth/login"),
            reset=absolute("/auth/forget-password"),
        )
        await mail.send(message)
    except Exception:
        log.exception("could not send the %s mail", template)


def already_registered_later(email: str) -> None:
    """Someone signed up with an address that has an account: only its owner is told."""
    current_app.add_background_task(_address_has_an_account, email, "already_registered", "You already have an account")


def address_in_use_later(email: str) -> None:
    """Someone asked to move another account to an address that has one: its owner is told."""
    current_app.add_background_task(
        _address_has_an_account, email, "address_in_use", "Someone tried to use your address"
    )
