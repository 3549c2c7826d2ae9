"""The social layer: follows, collects, comments, profiles and user cards.

Each function takes the session and the acting user, enforces its rule, writes the
notification rows the action causes, and never commits. Listings are one query each (with
correlated subqueries for counts and relationship flags), whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from ..infra import db
from ..infra.wakeups import cards_change_after_commit, comments_change_after_commit
from ..models import (
    AuditAction,
    Collect,
    Comment,
    Follow,
    NotificationKind,
    Photo,
    Report,
    ReportReason,
    ReportTarget,
    User,
    utcnow,
)
from . import authority, notifications
from .photos import VIEWER_ID, Card, FeedPage, cards_of, cards_query, decode_cursor, sight, viewer_params, visible_for
from .refusals import Conflict, Invalid, NotFound, Refused

USERS_PER_PAGE = 20
COMMENTS_PER_PAGE = 15
COMMENT_MAX_LENGTH = 2000


# --- people -------------------------------------------------------------------------------


USER_TABLES = ("users", "roles")  # what a user row (with its role) is made from


async def user_named(session: AsyncSession, username: str) -> User:
    user = (
        await session.execute(select(User).where(func.lower(User.username) == username.strip().lower()))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("There is nobody with that username.")
    return user


async def user_with_id(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("There is nobody with that id.")
    return user


def _follows(follower: SQLColumnExpression[int] | int, followed: SQLColumnExpression[int] | int) -> ColumnElement[bool]:
    # Never correlate the follows table itself: listings of followers join it too.
    return (
        select(Follow.follower_id)
        .where(Follow.follower_id == follower, Follow.followed_id == followed)
        .correlate_except(Follow)
        .exists()
    )


@dataclass(frozen=True)
class Relationship:
    """How the viewer and another user relate (both False for anonymous or oneself)."""

    following: bool = False
    followed_by: bool = False

    @property
    def badge(self) -> str:
        if self.following and self.followed_by:
            return "Follow each other"
        if self.followed_by:
            return "Follows you"
        return ""


@dataclass(frozen=True)
class Profile:
    user: User
    photos: int
    collections: int | None  # None: hidden from this viewer
    followers: int
    following: int
    relationship: Relationship


def collections_visible(viewer: User | None, owner: User) -> bool:
    return owner.public_collections or (viewer is not None and viewer.id == owner.id)


@cache
def _profile_statement(kind: str) -> Select[Any]:
    """The numbers of ``user_id``'s profile as viewers of rule ``kind`` (and ``viewer_id``)
    see them, in one query. Built once per rule: building took longer than running."""
    user_id, viewer_id = bindparam("user_id", type_=Integer), bindparam(VIEWER_ID, type_=Integer)
    photos_visible = select(func.count()).select_from(Photo).where(Photo.author_id == user_id, visible_for(kind))
    collected = (
        select(func.count())
        .select_from(Collect)
        .join(Photo, Photo.id == Collect.photo_id)
        .where(Collect.user_id == user_id, visible_for(kind))
    )
    return select(
        photos_visible.scalar_subquery(),
        collected.scalar_subquery(),
        select(func.count()).select_from(Follow).where(Follow.followed_id == user_id).scalar_subquery(),
        select(func.count()).select_from(Follow).where(Follow.follower_id == user_id).scalar_subquery(),
        _follows(viewer_id, user_id),
        _follows(user_id, viewer_id),
    )


async def profile(session: AsyncSession, viewer: User | None, user: User) -> Profile:
    """The numbers in a profile header or a user card, in one query."""
    parameters = {"user_id": user.id, **viewer_params(viewer)}
    row = (await session.execute(_profile_statement(sight(viewer)), parameters)).one()
    own = viewer is not None and viewer.id == user.id
    return Profile(
        user=user,
        photos=row[0],
        collections=row[1] if collections_visible(viewer, user) else None,
        followers=row[2],
        following=row[3],
        relationship=Relationship() if own else Relationship(bool(row[4]), bool(row[5])),
    )


# --- following ----------------------------------------------------------------------------


async def follow(session: AsyncSession, actor: User, target: User) -> bool:
    """Follow ``target``; following twice is harmless. True when a new follow was made."""
    if actor.id == target.id:
        raise Invalid("You cannot follow yourself.")
    if not target.active:
        raise NotFound("This account is blocked.")
    added = await session.execute(
        db.insert_unless_present(session, Follow, follower_id=actor.id, followed_id=target.id, created_at=utcnow())
    )
    if not cast(CursorResult[Any], added).rowcount:
        return False  # already following (or a double click racing itself)
    cards_change_after_commit(session, actor.id, target.id)
    notifications.notify(session, NotificationKind.FOLLOW, receiver=target, actor=actor)
    return True


async def unfollow(session: AsyncSession, actor: User, target: User) -> bool:
    result = await session.execute(
        delete(Follow).where(Follow.follower_id == actor.id, Follow.followed_id == target.id)
    )
    if cast(CursorResult[Any], result).rowcount:
        cards_change_after_commit(session, actor.id, target.id)
    return bool(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True)
class PersonRow:
    user: User
    since: datetime
    relationship: Relationship
    is_viewer: bool


@dataclass(frozen=True)
class PeoplePage:
    rows: list[PersonRow]
    page: int
    pages: int
    total: int


async def _people(
    session: AsyncSession,
    viewer: User | None,
    query: Select[User, datetime],
    total_query: Select[int],
    page: int,
    per_page: int,
) -> PeoplePage:
    viewer_id = viewer.id if viewer is not None else -1
    total = (await session.execute(total_query)).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = (
        await session.execute(
            query.add_columns(_follows(viewer_id, User.id), _follows(User.id, viewer_id))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    return PeoplePage(
        rows=[
            PersonRow(
                user=row[0],
                since=row[1],
                relationship=Relationship(bool(row[2]), bool(row[3])) if row[0].id != viewer_id else Relationship(),
                is_viewer=row[0].id == viewer_id,
            )
            for row in rows
        ],
        page=page,
        pages=pages,
        total=total,
    )


async def followers(session: AsyncSession, viewer: User | None, user: User, page: int) -> PeoplePage:
    """Who follows ``user``, newest first."""
    query = (
        select(User, Follow.created_at)
        .join(Follow, Follow.follower_id == User.id)
        .where(Follow.followed_id == user.id)
        .order_by(Follow.created_at.desc(), User.id.desc())
    )
    total = select(func.count()).select_from(Follow).where(Follow.followed_id == user.id)
    return await _people(session, viewer, query, total, page, USERS_PER_PAGE)


async def following(session: AsyncSession, viewer: User | None, user: User, page: int) -> PeoplePage:
    """Whom ``user`` follows, newest first."""
    query = (
        select(User, Follow.created_at)
        .join(Follow, Follow.followed_id == User.id)
        .where(Follow.follower_id == user.id)
        .order_by(Follow.created_at.desc(), User.id.desc())
    )
    total = select(func.count()).select_from(Follow).where(Follow.follower_id == user.id)
    return await _people(session, viewer, query, total, page, USERS_PER_PAGE)


# --- collecting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectState:
    photo_id: int
    collected: bool
    count: int


async def collect(session: AsyncSession, actor: User, photo: Photo) -> bool:
    """Collect a photo the actor can see; collecting twice is harmless."""
    added = await session.execute(
        db.insert_unless_present(session, Collect, user_id=actor.id, photo_id=photo.id, created_at=utcnow())
    )
    if not cast(CursorResult[Any], added).rowcount:
        return False
    notifications.notify(session, NotificationKind.COLLECT, receiver=photo.author, actor=actor, photo_id=photo.id)
    return True


async def uncollect(session: AsyncSession, actor: User, photo: Photo) -> bool:
    result = await session.execute(delete(Collect).where(Collect.user_id == actor.id, Collect.photo_id == photo.id))
    return bool(cast(CursorResult[Any], result).rowcount)


async def collect_state(session: AsyncSession, viewer: User | None, photo_id: int) -> CollectState:
    viewer_id = viewer.id if viewer is not None else -1
    row = (
        await session.execute(
            select(
                exists().where(Collect.user_id == viewer_id, Collect.photo_id == photo_id),
                select(func.count()).select_from(Collect).where(Collect.photo_id == photo_id).scalar_subquery(),
            )
        )
    ).one()
    return CollectState(photo_id, bool(row[0]), row[1])


def _shows_collections(viewer: User | None) -> ColumnElement[bool]:
    """Collectors whose collections are private stay hidden, except from themselves."""
    if viewer is None:
        return User.public_collections.is_(True)
    return or_(User.public_collections.is_(True), User.id == viewer.id)


async def collectors(session: AsyncSession, viewer: User | None, photo: Photo, page: int) -> PeoplePage:
    """Who collected the photo, oldest first, without those who keep collections private."""
    shown = and_(Collect.photo_id == photo.id, _shows_collections(viewer))
    query = (
        select(User, Collect.created_at)
        .join(Collect, Collect.user_id == User.id)
        .where(shown)
        .order_by(Collect.created_at, User.id)
    )
    total = select(func.count()).select_from(Collect).join(User, User.id == Collect.user_id).where(shown)
    return await _people(session, viewer, query, total, page, USERS_PER_PAGE)


async def collections(
    session: AsyncSession, viewer: User | None, owner: User, cursor: str | None, per_page: int = 12
) -> FeedPage:
    """The photos ``owner`` collected, most recently collected first (a keyset on collect time)."""
    if not collections_visible(viewer, owner):
        raise Refused(f"{owner.name} keeps their collections private.")
    position = decode_cursor(cursor)
    query = cards_query(viewer).join(Collect, and_(Collect.photo_id == Photo.id, Collect.user_id == owner.id))
    if position is not None:
        created, photo_id = position
        query = query.where(or_(Collect.created_at < created, and_(Collect.created_at == created, Photo.id < photo_id)))
    rows = (
        await session.execute(
            query.add_columns(Collect.created_at)
            .order_by(Collect.created_at.desc(), Photo.id.desc())
            .limit(per_page + 1)
        )
    ).all()
    cards = cards_of(rows[:per_page])
    next_cursor = None
    if len(rows) > per_page and cards:
        last = rows[per_page - 1]
        next_cursor = f"{last[3].timestamp():.6f}_{last[0].id}"
    return FeedPage(cards, next_cursor)


# --- comments -----------------------------------------------------------------------------


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


async def report(
    session: AsyncSession, reporter: User, target: ReportTarget, target_id: int, owner_id: int, reason: str, note: str
) -> Report:
    """One open report per reporter and target; reporting one's own things is refused."""
    if reporter.id == owner_id:
        raise Refused("You cannot report your own content.")
    try:
        reason_value = ReportReason(reason)
    except ValueError:
        raise Invalid("Choose a reason for the report.", field="reason") from None
    row = Report(
        reporter_id=reporter.id,
        target_type=target,
        target_id=target_id,
        reason=reason_value,
        note=note.strip()[:500],
        created_at=utcnow(),
    )
    try:
        # Inside a savepoint: a duplicate rolls back the savepoint (and the row with it),
        # never the request's transaction.
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict("You have already reported this; a moderator will look at it.") from None
    return row


# --- collects of a list of photos (for buttons on cards) ----------------------------------


async def collected_ids(session: AsyncSession, viewer: User | None, cards: list[Card]) -> set[int]:
    """Which of these photos the viewer has collected (one query for a whole grid)."""
    if viewer is None or not cards:
        return set()
    ids = [card.photo.id for card in cards]
    rows = await session.execute(
        select(Collect.photo_id).where(Collect.user_id == viewer.id, Collect.photo_id.in_(ids))
    )
    return set(rows.scalars())
