"""Comments on a photo: pages of threads, counts, adding, replying, deleting, and turning
comments off. Each rule never commits; the open photo pages learn of a change after it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from ..infra.wakeups import comments_change_after_commit
from ..models import AuditAction, Comment, NotificationKind, Photo, User, utcnow
from . import authority, notifications
from .refusals import Invalid, NotFound, Refused

COMMENTS_PER_PAGE = 15
COMMENT_MAX_LENGTH = 2000


@dataclass(frozen=True)
class CommentThread:
    """A top-level comment and every reply under it, in time order. Replies are one level
    deep, as on most photo sites: a reply to a reply joins the same thread and names whom
    it answers."""

    comment: Comment
    replies: list[Comment]


@dataclass(frozen=True)
class CommentsPage:
    """A page of threads. Pages count top-level comments, so a thread is never split;
    ``total`` counts every comment, replies included."""

    threads: list[CommentThread]
    page: int
    pages: int
    total: int

    @property
    def comments(self) -> list[Comment]:
        return [item for thread in self.threads for item in (thread.comment, *thread.replies)]


def can_delete_comment(viewer: User | None, comment: Comment, photo: Photo) -> bool:
    """Whether to offer the delete button (needs ``comment.author``); see authority.refusal."""
    return authority.may_show_delete(viewer, comment.author, owner_ids=(photo.author_id,))


# Every comment, and the replies among them (top-level ones are the difference), in one row.
_COMMENT_COUNT = select(func.count(), func.count(Comment.reply_to_id)).where(Comment.photo_id == bindparam("photo_id"))


def _threads_statement() -> Select[Any]:
    """A page of top-level comments and every reply under them (a recursive walk down from
    the page's top comments, which also names each row's thread), with their authors and
    what they reply to: one statement for the whole page. Built once: building it cost
    more than running it."""
    tops = (
        select(Comment.id)
        .where(Comment.photo_id == bindparam("photo_id"), Comment.reply_to_id.is_(None))
        .order_by(Comment.created_at, Comment.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("tops")
    )
    thread = select(tops.c.id.label("id"), tops.c.id.label("root_id")).cte("thread", recursive=True)
    thread = thread.union_all(select(Comment.id, thread.c.root_id).where(Comment.reply_to_id == thread.c.id))
    return (
        select(Comment, thread.c.root_id)
        .join(thread, thread.c.id == Comment.id)
        .options(joinedload(Comment.author), joinedload(Comment.reply_to).joinedload(Comment.author))
    )  # unordered: a page's few rows are sorted in Python (the database would sort them in a temporary B-tree)


_COMMENTS_PAGE = _threads_statement()


def _threaded(rows: Any) -> list[CommentThread]:
    threads: dict[int, CommentThread] = {}
    for comment, root_id in sorted(rows, key=lambda row: (row[0].created_at, row[0].id)):
        if comment.id == root_id:
            threads[root_id] = CommentThread(comment, [])
        else:
            threads[root_id].replies.append(comment)  # time order: a reply comes after its root
    return list(threads.values())


# What a page of comments is made from (page_cache keeps it while they are unchanged).
COMMENTS_TABLES = ("comments", "users", "roles")


async def comments(session: AsyncSession, photo: Photo, page: int | None) -> CommentsPage:
    """A page of threads, oldest first; ``page=None`` means the last (latest) page."""
    total, replies = (await session.execute(_COMMENT_COUNT, {"photo_id": photo.id})).one()
    pages = max(1, -(-(total - replies) // COMMENTS_PER_PAGE))
    page = pages if page is None else min(max(page, 1), pages)
    parameters = {"photo_id": photo.id, "limit": COMMENTS_PER_PAGE, "offset": (page - 1) * COMMENTS_PER_PAGE}
    rows = (await session.execute(_COMMENTS_PAGE, parameters)).unique().all()
    return CommentsPage(_threaded(rows), page, pages, total)


async def comment_count(session: AsyncSession, photo_id: int) -> int:
    return (await session.execute(_COMMENT_COUNT, {"photo_id": photo_id})).one()[0]


async def thread_roots(session: AsyncSession, comment_ids: list[int]) -> dict[int, int]:
    """The top-level comment of each comment's thread (a recursive walk up), in one query."""
    if not comment_ids:
        return {}
    up = (
        select(Comment.id.label("leaf"), Comment.id.label("id"), Comment.reply_to_id.label("parent"))
        .where(Comment.id.in_(comment_ids))
        .cte("up", recursive=True)
    )
    up = up.union_all(select(up.c.leaf, Comment.id, Comment.reply_to_id).where(Comment.id == up.c.parent))
    rows = await session.execute(select(up.c.leaf, up.c.id).where(up.c.parent.is_(None)))
    return {leaf: root for leaf, root in rows.all()}


async def thread_root(session: AsyncSession, comment: Comment) -> int:
    """The thread ``comment`` sits in (needs ``comment.reply_to`` loaded); a query only for
    replies to replies."""
    if comment.reply_to is None:
        return comment.id
    if comment.reply_to.reply_to_id is None:
        return comment.reply_to.id
    return (await thread_roots(session, [comment.id]))[comment.id]


async def page_of_thread(session: AsyncSession, photo: Photo, root_id: int) -> int:
    """The page of comments that shows the thread of top-level comment ``root_id``."""
    root = aliased(Comment)
    before = (
        select(func.count())
        .select_from(Comment)
        .join(root, root.id == root_id)
        .where(
            Comment.photo_id == photo.id,
            Comment.reply_to_id.is_(None),
            or_(
                Comment.created_at < root.created_at, and_(Comment.created_at == root.created_at, Comment.id < root.id)
            ),
        )
    )
    return (await session.execute(before)).scalar_one() // COMMENTS_PER_PAGE + 1


async def comments_since(
    session: AsyncSession, photo: Photo, after_id: int, limit: int = 50
) -> list[tuple[Comment, int]]:
    """Comments on ``photo`` newer than ``after_id`` (oldest first, bounded), each with its
    thread's top-level comment id: what an open photo page has not shown yet."""
    rows = (
        (
            await session.execute(
                select(Comment)
                .options(joinedload(Comment.author), joinedload(Comment.reply_to).joinedload(Comment.author))
                .where(Comment.photo_id == photo.id, Comment.id > after_id)
                .order_by(Comment.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    roots = await thread_roots(session, [row.id for row in rows if row.reply_to is not None])
    return [(row, roots.get(row.id, row.id)) for row in rows]


async def newest_comment_id(session: AsyncSession, photo_id: int) -> int:
    return (
        await session.execute(select(func.coalesce(func.max(Comment.id), 0)).where(Comment.photo_id == photo_id))
    ).scalar_one()


async def comment_on_photo(session: AsyncSession, photo: Photo, comment_id: int) -> Comment:
    """The comment with what its markup reads: its author, and the comment it replies to
    with that one's author."""
    comment = (
        await session.execute(
            select(Comment)
            .options(joinedload(Comment.author), joinedload(Comment.reply_to).joinedload(Comment.author))
            .where(Comment.id == comment_id, Comment.photo_id == photo.id)
        )
    ).scalar_one_or_none()
    if comment is None:
        raise NotFound("This comment does not exist on this photo.")
    return comment


async def photo_id_of_comment(session: AsyncSession, comment_id: int) -> int | None:
    return (await session.execute(select(Comment.photo_id).where(Comment.id == comment_id))).scalar_one_or_none()


async def add_comment(
    session: AsyncSession, actor: User, photo: Photo, body: str, reply_to_id: int | None = None
) -> Comment:
    if not photo.can_comment:
        raise Refused("The author has turned comments off for this photo.")
    text = body.strip()
    if not text:
        raise Invalid("Write something first.", field="body")
    if len(text) > COMMENT_MAX_LENGTH:
        raise Invalid(f"A comment has at most {COMMENT_MAX_LENGTH} characters.", field="body")
    reply_to: Comment | None = None
    if reply_to_id is not None:
        try:
            reply_to = await comment_on_photo(session, photo, reply_to_id)
        except NotFound:
            raise Invalid("You can only reply to a comment on this photo.", field="body") from None
    comment = Comment(
        photo_id=photo.id,
        author_id=actor.id,
        body=text,
        reply_to_id=reply_to.id if reply_to else None,
        created_at=utcnow(),
    )
    session.add(comment)
    await session.flush()
    # One notification per person: a reply to the photo's author counts as the reply.
    if reply_to is not None:
        notifications.notify(
            session,
            NotificationKind.REPLY,
            receiver=reply_to.author,
            actor=actor,
            photo_id=photo.id,
            comment_id=comment.id,
        )
    if reply_to is None or reply_to.author_id != photo.author_id:
        notifications.notify(
            session,
            NotificationKind.COMMENT,
            receiver=photo.author,
            actor=actor,
            photo_id=photo.id,
            comment_id=comment.id,
        )
    return comment


async def check_may_delete_comment(session: AsyncSession, actor: User, photo: Photo, comment: Comment) -> None:
    """The photo's author keeps their own page clean; anyone else needs the moderator's rule."""
    if refused := await authority.refusal(session, actor, comment.author_id, owner_ids=(photo.author_id,)):
        raise Refused(refused)


async def _thread_ids(session: AsyncSession, comment_id: int) -> list[int]:
    """The comment and the replies to it, at any depth."""
    thread = select(Comment.id).where(Comment.id == comment_id).cte("thread", recursive=True)
    thread = thread.union_all(select(Comment.id).where(Comment.reply_to_id == thread.c.id))
    return list((await session.execute(select(thread.c.id))).scalars())


async def replies_count(session: AsyncSession, comment: Comment) -> int:
    """How many replies (at any depth) would go with ``comment``."""
    return len(await _thread_ids(session, comment.id)) - 1


async def delete_comment(session: AsyncSession, actor: User, photo: Photo, comment: Comment) -> list[int]:
    """Delete a comment and, as the database cascades, the replies to it (at any depth).

    Returns the ids of every comment removed, so an open page can drop them all.
    """
    await check_may_delete_comment(session, actor, photo, comment)
    removed = await _thread_ids(session, comment.id)
    await session.execute(delete(Comment).where(Comment.id == comment.id))
    comments_change_after_commit(session, photo.id, removed)  # open pages of the photo drop them
    if actor.id != comment.author_id:
        before = {
            "author_id": comment.author_id,
            "photo": photo.id,
            "body": comment.body[:500],
            "replies": len(removed) - 1,
        }
        authority.audit(session, actor, AuditAction.COMMENT_DELETE, "comment", comment.id, before, None)
    return removed


async def set_comments_enabled(session: AsyncSession, actor: User, photo: Photo, enabled: bool) -> None:
    """Only the photo's author turns its comments on or off."""
    if actor.id != photo.author_id:
        raise Refused("Only the photo's author can turn comments on or off.")
    photo.can_comment = enabled
