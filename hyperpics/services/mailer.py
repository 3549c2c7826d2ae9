"""The mails hyperpics sends, each with its signed link."""

from __future__ import annotations

from quart import current_app, url_for

from .. import mail, tokens
from ..models import User


def absolute(path: str) -> str:
    """Links in mail point at the public address (``BASE_URL``), not at whatever Host was used."""
    return current_app.config["BASE_URL"].rstrip("/") + path


async def send_confirmation(user: User) -> bool:
    token = tokens.make(user, tokens.Purpose.CONFIRM)
    link = absolute(url_for("auth.confirm", token=token))
    message = await mail.build(user.email, "Confirm your email address", "confirm", user=user, link=link)
    return await mail.send(message)


async def send_password_reset(user: User) -> bool:
    token = tokens.make(user, tokens.Purpose.RESET_PASSWORD)
    link = absolute(url_for("auth.reset_password", token=token))
    message = await mail.build(user.email, "Choose a new password", "reset_password", user=user, link=link)
    return await mail.send(message)


async def send_email_change(user: User, new_email: str, token: str) -> bool:
    link = absolute(url_for("settings.confirm_email", token=token))
    message = await mail.build(new_email, "Confirm your new email address", "change_email", user=user, link=link)
    return await mail.send(message)
