"""Rows made straight in the database, for tests that are not about how they come to be.

Sign-up, confirmation and upload have tests of their own; everywhere else a member is a row
(then a real login over HTTP), and a photo is a row whose files nobody opens. Every test
module builds its rows here, so a change to a model is made once.

Who is named by a username or an id, whichever the test has at hand.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from quart import Quart
from sqlalchemy import insert, select

from hyperpics.infra import media, passwords
from hyperpics.infra.db import database
from hyperpics.infra.storage import commit_with_files
from hyperpics.models import (
    Collect,
    Comment,
    Follow,
    Notification,
    NotificationKind,
    Photo,
    Report,
    ReportReason,
    ReportTarget,
    Role,
    RoleName,
    Tag,
    User,
    Visibility,
    utcnow,
)
from hyperpics.services.accounts import avatar_paths, role_named

PASSWORD = "correct horse battery"

Who = str | int  # a username or a user id


async def add_user(
    app: Quart,
    username: str,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    confirmed: bool = True,
    role: str = RoleName.USER.value,
    **columns: Any,
) -> User:
    """A member as registration and confirmation would leave them (an identicon included),
    plus ``columns``."""
    password_hash = await passwords.hash_password(password)
    new_files: list[str] = []
    if "avatar_small" not in columns:
        avatar = media.make_identicon(app.config["MEDIA_DIR"])
        columns.update(avatar_small=avatar.small, avatar_medium=avatar.medium, avatar_large=avatar.large)
        new_files = avatar_paths(avatar.files())
    async with database(app).session(write=True) as session:
        user = User(
            username=username,
            email=(email or f"{username}@example.com").lower(),
            name=name or username.title(),
            password_hash=password_hash,
            role=await role_named(session, RoleName(role)),
            confirmed=confirmed,
            member_since=utcnow(),
            **columns,
        )
        session.add(user)
        await commit_with_files(session.commit, app.config["MEDIA_DIR"], new_files)
        return user


async def add_photo(
    app: Quart,
    author: Who,
    visibility: Visibility = Visibility.PUBLIC,
    *,
    description: str | None = None,
    alt_text: str = "",
    tags: list[str] | tuple[str, ...] = (),
    minutes_ago: float = 0,
    width: int = 1200,
    height: int = 800,
) -> int:
    """A photo row by ``author`` (a username or an id); pages never open its files."""
    async with database(app).session(write=True) as session:
        author_id = await _user_id(session, author)
        author_name = str(author)
        stem = secrets.token_hex(16)
        photo = Photo(
            author_id=author_id,
            filename_original=f"{stem}.jpg",
            filename_medium=f"{stem}_m.jpg",
            filename_small=f"{stem}_s.jpg",
            width=width,
            height=height,
            description=description if description is not None else f"a {visibility.value} photo by {author_name}",
            alt_text=alt_text,
            visibility=visibility,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        if tags:
            existing = {
                tag.name: tag for tag in (await session.execute(select(Tag).where(Tag.name.in_(tags)))).scalars()
            }
            photo.tags = [existing.get(name) or Tag(name=name, created_at=utcnow()) for name in tags]
        session.add(photo)
        await session.commit()
        return photo.id


async def add_photos(app: Quart, author: Who, count: int, **options: Any) -> list[int]:
    """``count`` photos, newest last (each a minute younger than the one before)."""
    return [await add_photo(app, author, minutes_ago=count - index, **options) for index in range(count)]


async def _user_id(session: Any, who: Who) -> int:
    if isinstance(who, int):
        return who
    return (await session.execute(select(User.id).where(User.username == who))).scalar_one()


async def add_members(
    app: Quart, names: Sequence[str], *, role: str = RoleName.USER.value, **columns: Any
) -> list[int]:
    """Many confirmed members at once, in one statement, with no password anyone could use
    (hashing one is too slow for dozens) and no avatar files: people who are listed, never
    logged in. Each joined a minute before the one named after them. Their ids, in order."""
    async with database(app).session(write=True) as session:
        role_id = (await session.execute(select(Role.id).where(Role.name == role))).scalar_one()
        now = utcnow()
        rows = [
            {
                "username": name,
                "email": f"{name}@example.com",
                "name": name.title(),
                "password_hash": "!",
                "confirmed": True,
                "role_id": role_id,
                "member_since": now - timedelta(minutes=index),
                **columns,
            }
            for index, name in enumerate(names)
        ]
        await session.execute(insert(User), rows)
        ids = dict((await session.execute(select(User.username, User.id).where(User.username.in_(names)))).all())
        await session.commit()
    return [ids[name] for name in names]


def _when(minute: float | None) -> datetime:
    """``minute`` minutes into the day before (a known order), or now when not given."""
    if minute is None:
        return utcnow()
    return utcnow() - timedelta(days=1) + timedelta(minutes=minute)


async def add_follows(app: Quart, *rows: tuple[Who, Who] | tuple[Who, Who, float]) -> None:
    """(follower, followed[, minute]) rows, inserted in the order given: a ``minute`` dates
    the follow that many minutes into the day before, so lists have a known order."""
    async with database(app).session(write=True) as session:
        for follower, followed, *minute in rows:
            session.add(
                Follow(
                    follower_id=await _user_id(session, follower),
                    followed_id=await _user_id(session, followed),
                    created_at=_when(minute[0] if minute else None),
                )
            )
        await session.commit()


async def add_collects(app: Quart, *rows: tuple[Who, int] | tuple[Who, int, float]) -> None:
    """(collector, photo id[, minute]) rows, inserted in the order given (``minute`` as in
    add_follows)."""
    async with database(app).session(write=True) as session:
        for collector, photo_id, *minute in rows:
            session.add(
                Collect(
                    user_id=await _user_id(session, collector),
                    photo_id=photo_id,
                    created_at=_when(minute[0] if minute else None),
                )
            )
        await session.commit()


async def add_tags(app: Quart, *names: str) -> None:
    """Tags no photo carries yet."""
    async with database(app).session(write=True) as session:
        session.add_all(Tag(name=name, created_at=utcnow()) for name in names)
        await session.commit()


async def add_comment(
    app: Quart,
    author: Who,
    photo_id: int,
    body: str,
    reply_to: int | None = None,
    *,
    minutes_ago: float = 0,
) -> int:
    """A comment by ``author`` (a username or an id) on ``photo_id``."""
    async with database(app).session(write=True) as session:
        comment = Comment(
            photo_id=photo_id,
            author_id=await _user_id(session, author),
            body=body,
            reply_to_id=reply_to,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(comment)
        await session.commit()
        return comment.id


async def add_report(
    app: Quart, reporter: Who, target: ReportTarget, target_id: int, reason: str = "spam", note: str = ""
) -> int:
    """An open report by ``reporter`` on a photo, comment or member."""
    async with database(app).session(write=True) as session:
        report = Report(
            reporter_id=await _user_id(session, reporter),
            target_type=target,
            target_id=target_id,
            reason=ReportReason(reason),
            note=note,
            created_at=utcnow(),
        )
        session.add(report)
        await session.commit()
        return report.id


async def add_notification(
    app: Quart,
    kind: NotificationKind,
    receiver: Who,
    actor: Who,
    *,
    photo: int | None = None,
    comment: int | None = None,
    minutes_ago: float = 0,
) -> int:
    """A notification row as a social action would write it, without the action (and so
    without waking anyone's stream)."""
    async with database(app).session(write=True) as session:
        notification = Notification(
            kind=kind,
            receiver_id=await _user_id(session, receiver),
            actor_id=await _user_id(session, actor),
            photo_id=photo,
            comment_id=comment,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(notification)
        await session.commit()
        return notification.id
