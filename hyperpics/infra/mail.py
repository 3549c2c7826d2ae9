"""Outgoing mail: SMTP through aiosmtplib, or the log plus ``instance/outbox/``.

With no ``MAIL_SERVER`` configured every message is written to the log (with its link)
and saved as an ``.eml`` file, so a newcomer can confirm an account locally.
Sending never raises: callers learn success or failure and tell the user.
"""

from __future__ import annotations

import logging
import re
import secrets
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiofiles
import aiosmtplib
from quart import current_app

from ..models import utcnow
from .db import before_slow_work

log = logging.getLogger("hyperpics.mail")
SUBJECT_PREFIX = "[hyperpics] "


def message(to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A message from the site, as plain text with an HTML alternative."""
    built = EmailMessage()
    built["From"] = current_app.config["MAIL_SENDER"]
    built["To"] = to
    built["Subject"] = SUBJECT_PREFIX + subject
    built["Message-ID"] = make_msgid(domain="hyperpics")
    built.set_content(text)
    built.add_alternative(html, subtype="html")
    return built


async def send(message: EmailMessage) -> bool:
    """Deliver ``message``; False (and a log line) when the mail server could not take it."""
    await before_slow_work("sending mail")
    config = current_app.config
    if not config["MAIL_SERVER"]:
        await _to_outbox(message)
        return True
    try:
        await aiosmtplib.send(
            message,
            hostname=config["MAIL_SERVER"],
            port=config["MAIL_PORT"],
            username=config["MAIL_USERNAME"] or None,
            password=config["MAIL_PASSWORD"] or None,
            start_tls=bool(config["MAIL_USE_TLS"]),
            timeout=config["MAIL_TIMEOUT"],
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        log.warning("mail to %s not sent: %s", message["To"], error)
        return False
    return True


async def _to_outbox(message: EmailMessage) -> None:
    outbox = Path(current_app.instance_path) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", str(message["Subject"]).lower()).strip("-")[:40]
    name = f"{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}-{slug}.eml"
    async with aiofiles.open(outbox / name, "wb") as handle:
        await handle.write(bytes(message))
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    log.warning(
        "No HYPERPICS_MAIL_SERVER: mail to %s kept in %s\n--- %s ---\n%s",
        message["To"],
        outbox / name,
        message["Subject"],
        text,
    )
