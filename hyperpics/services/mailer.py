"""The mails hyperpics sends, each with its signed link."""

from __future__ import annotations

from quart import current_app, url_for
from sqlalchemy.orm import undefer

from .. import db, mail, tokens
from ..models import User


def absolute(path: str) -> str:
    """Links in mail point at the public address (``BASE_URL``), not at whatever Host was used."""
    return current_app.config["BASE_URL"].rstrip("/") + path


async def _new_link(user: User, purpose: tokens.Purpose, endpoint: str, **extra: str) -> str:
    """Issue a link (voiding the older ones of its kind) and make it durable before it is mailed:
    the account's row is read fresh and locked, so two requests at once issue two serials."""
    session = await db.session()
    fresh = await db.lock_one(session, User, User.id == user.id, load=[undefer(User.password_hash)])
    token = tokens.issue(fresh or user, purpose, **extra)
    await db.commit()
    return absolute(url_for(endpoint, token=token))


async def send_confirmation(user: User) -> bool:
    link = await _new_link(user, tokens.Purpose.CONFIRM, "auth.confirm")
    message = await mail.build(user.email, "Confirm your email address", "confirm", user=user, link=link)
    return await mail.send(message)


async def send_password_reset(user: User) -> bool:
    link = await _new_link(user, tokens.Purpose.RESET_PASSWORD, "auth.reset_password")
    message = await mail.build(user.email, "Choose a new password", "reset_password", user=user, link=link)
    return await mail.send(message)


async def send_email_change(user: User, new_email: str) -> bool:
    link = await _new_link(user, tokens.Purpose.CHANGE_EMAIL, "settings.confirm_email", email=new_email)
    message = await mail.build(new_email, "Confirm your new email address", "change_email", user=user, link=link)
    return await mail.send(message)


async def send_email_changed_notice(user: User, old_email: str) -> bool:
    """To the address an account has just left: if the owner did not do it, they learn of it."""
    message = await mail.build(old_email, "Your email address was changed", "email_changed", user=user)
    return await mail.send(message)
