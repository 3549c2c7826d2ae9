"""Rows made straight in the database, for tests that are not about how they come to be.

Sign-up, confirmation and upload have tests of their own; everywhere else a member is a row
(then a real login over HTTP), and a photo is a row whose files nobody opens.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from quart import Quart
from sqlalchemy import select

from hyperpics import media, passwords
from hyperpics.db import database
from hyperpics.models import (
    Comment,
    Photo,
    Report,
    ReportReason,
    ReportTarget,
    RoleName,
    Tag,
    User,
    Visibility,
    utcnow,
)
from hyperpics.services.accounts import avatar_paths, role_named
from hyperpics.storage import commit_with_files

PASSWORD = "correct horse battery"


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
    author: str | int,
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


async def add_photos(app: Quart, author: str | int, count: int, **options: Any) -> list[int]:
    """``count`` photos, newest last (each a minute younger than the one before)."""
    return [
        await add_photo(app, author, minutes_ago=count - index, **options)
        for index in range(count)
    ]


async def _user_id(session: Any, who: str | int) -> int:
    if isinstance(who, int):
        return who
    return (await session.execute(select(User.id).where(User.username == who))).scalar_one()


async def add_comment(
    app: Quart,
    author: str | int,
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
    app: Quart, reporter: str | int, target: ReportTarget, target_id: int, reason: str = "spam", note: str = ""
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
