"""What the activity leaves for the site to handle: the notifications it caused, members'
reports, and the moderators' locks, blocks and settled reports with their audit log.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from ..models import AuditAction, NotificationKind, ReportReason, ReportStatus, ReportTarget, RoleName, Visibility
from . import words
from .chance import between, happens, unique_picks
from .rows import (
    DAY,
    HOUR,
    STAFF,
    AuditRow,
    CollectRow,
    CommentRow,
    FollowRow,
    NotificationRow,
    Person,
    PhotoRow,
    ReportRow,
    SeedError,
)


def draw_notifications(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    collects: list[CollectRow],
    comments: list[CommentRow],
    now_seconds: int,
) -> list[NotificationRow]:
    """What the services (people, collecting, commenting) would have written for these rows:
    same kinds, same opt-outs."""
    events: list[tuple[NotificationKind, int, int, int | None, int | None, int]] = []
    events += [(NotificationKind.FOLLOW, row.followed, row.follower, None, None, row.created_at) for row in follows]
    events += [
        (NotificationKind.COLLECT, photos[row.photo].author, row.user, row.photo, None, row.created_at)
        for row in collects
    ]
    for index, comment in enumerate(comments):
        photo_author = photos[comment.photo].author
        replied_author = None if comment.reply_to is None else comments[comment.reply_to].author
        if replied_author is not None:
            events.append(
                (NotificationKind.REPLY, replied_author, comment.author, comment.photo, index, comment.created_at)
            )
        if replied_author is None or replied_author != photo_author:
            events.append(
                (NotificationKind.COMMENT, photo_author, comment.author, comment.photo, index, comment.created_at)
            )
    wants = {
        NotificationKind.FOLLOW: [person.receive_follow for person in people],
        NotificationKind.COLLECT: [person.receive_collect for person in people],
        NotificationKind.COMMENT: [person.receive_comment for person in people],
        NotificationKind.REPLY: [person.receive_comment for person in people],
    }
    rows = []
    for kind, receiver, actor, photo, comment_index, created in sorted(events, key=lambda event: event[5]):
        if receiver == actor or not wants[kind][receiver]:
            continue
        read = happens(rng, 0.9 if now_seconds - created > 3 * DAY else 0.35)
        read_at = between(rng, min(created + 60, now_seconds), now_seconds, skew=3.0) if read else None
        rows.append(NotificationRow(kind, receiver, actor, photo, comment_index, created, read_at))
    return rows


_REASON_WEIGHTS = {
    ReportReason.SPAM: 35,
    ReportReason.NUDITY: 10,
    ReportReason.HARASSMENT: 20,
    ReportReason.COPYRIGHT: 15,
    ReportReason.OTHER: 20,
}


def draw_reports(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    comments: list[CommentRow],
    count: int,
    now_seconds: int,
) -> list[ReportRow]:
    if count == 0:
        return []
    reporters = [
        index for index, person in enumerate(people) if person.confirmed and person.active and index not in STAFF
    ]
    if not reporters:
        raise SeedError("reports", "--reports needs members who can report; ask for more --users.")
    public_photos = [index for index, photo in enumerate(photos) if photo.visibility == Visibility.PUBLIC]
    public_comments = [
        index for index, comment in enumerate(comments) if photos[comment.photo].visibility == Visibility.PUBLIC
    ]
    members = [index for index in range(len(people)) if index not in STAFF]
    # Locked and blocked people were reported more than most (it is how they came to be).
    sanctioned = [index for index in members if people[index].locked or not people[index].active]
    reported_people = members + sanctioned * 6
    targets: dict[ReportTarget, list[int]] = {
        ReportTarget.PHOTO: public_photos,
        ReportTarget.COMMENT: public_comments,
        ReportTarget.USER: members,
    }
    kinds = [target_type for target_type, found in targets.items() if found]
    kind_weights = [
        {ReportTarget.PHOTO: 5, ReportTarget.COMMENT: 3, ReportTarget.USER: 2}[target_type] for target_type in kinds
    ]

    def owner(target_type: ReportTarget, target: int) -> int:
        if target_type == ReportTarget.PHOTO:
            return photos[target].author
        if target_type == ReportTarget.COMMENT:
            return comments[target].author
        return target

    def pick() -> tuple[int, ReportTarget, int] | None:
        target_type = rng.choices(kinds, kind_weights)[0]
        reporter = rng.choice(reporters)
        target = rng.choice(reported_people if target_type == ReportTarget.USER else targets[target_type])
        return None if owner(target_type, target) == reporter else (reporter, target_type, target)

    def everything() -> Iterable[tuple[int, ReportTarget, int]]:
        return (
            (reporter, target_type, target)
            for reporter in reporters
            for target_type in kinds
            for target in targets[target_type]
            if owner(target_type, target) != reporter
        )

    space = len(reporters) * sum(len(found) for found in targets.values())
    picks = unique_picks(rng, count, pick, everything, space=space, option="reports", what="reports")
    rows = []
    for reporter, target_type, target in picks:
        if target_type == ReportTarget.PHOTO:
            since = photos[target].created_at
        elif target_type == ReportTarget.COMMENT:
            since = comments[target].created_at
        else:
            since = people[target].member_since
        created = between(rng, max(since, people[reporter].member_since) + 60, now_seconds - 60, skew=1.5)
        reason = rng.choices(list(_REASON_WEIGHTS), list(_REASON_WEIGHTS.values()))[0]
        note = rng.choice(words.REPORT_NOTES[reason.value]) if happens(rng, 0.5) else ""
        rows.append(ReportRow(reporter, target_type, target, reason, note, ReportStatus.OPEN, created, None, None))
    rows.sort(key=lambda row: row.created_at)
    return rows


# --- moderation: locks, blocks, settled reports and their audit log -------------------------------


def draw_sanctions(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    collects: list[CollectRow],
    comments: list[CommentRow],
    reports: list[ReportRow],
    now_seconds: int,
) -> dict[int, int]:
    """When each locked or blocked person was locked or blocked: after everything they did
    and every report about them."""
    latest = {index: person.member_since for index, person in enumerate(people) if person.locked or not person.active}
    if not latest:
        return {}
    moments: list[tuple[int, int]] = [(photo.author, photo.created_at) for photo in photos]
    moments += [(row.follower, row.created_at) for row in follows]
    moments += [(row.user, row.created_at) for row in collects]
    moments += [(row.author, row.created_at) for row in comments]
    moments += [(row.target, row.created_at) for row in reports if row.target_type == ReportTarget.USER]
    for person, moment in moments:
        if person in latest and moment > latest[person]:
            latest[person] = moment
    return {
        person: between(rng, min(moment + HOUR, now_seconds), min(moment + 3 * DAY, now_seconds))
        for person, moment in latest.items()
    }


def _state(person: Person, **changes: object) -> dict[str, object]:
    """A member's state as the audit log records it (services.moderation's before/after)."""
    state: dict[str, object] = {
        "username": person.username,
        "role": RoleName.USER.value,
        "locked": False,
        "active": True,
        "confirmed": person.confirmed,
    }
    state.update(changes)
    return state


def settle_reports(
    rng: random.Random, people: list[Person], reports: list[ReportRow], sanctions: dict[int, int], now_seconds: int
) -> list[AuditRow]:
    """Close reports as moderators would, and log it all.

    Reports about a blocked member were resolved by the block; on other targets some were
    dismissed, all of a target's open reports at once (as the queue's buttons do); the rest
    stay open for the demo's moderators.
    """
    audit: list[AuditRow] = []
    actors = {person: rng.choices(STAFF, (3, 7))[0] for person in sorted(sanctions)}
    for person in sorted(sanctions):
        if people[person].locked:
            before, after = _state(people[person]), _state(people[person], role=RoleName.LOCKED.value, locked=True)
            audit.append(
                AuditRow(
                    actors[person], AuditAction.USER_LOCK, ReportTarget.USER, person, before, after, sanctions[person]
                )
            )
        if not people[person].active:
            before, after = _state(people[person]), _state(people[person], active=False)
            audit.append(
                AuditRow(
                    actors[person], AuditAction.USER_BLOCK, ReportTarget.USER, person, before, after, sanctions[person]
                )
            )
    by_target: dict[tuple[ReportTarget, int], list[ReportRow]] = {}
    for report in reports:
        by_target.setdefault((report.target_type, report.target), []).append(report)
    for (target_type, target), found in by_target.items():
        if target_type == ReportTarget.USER and not people[target].active:
            status, actor, when, outcome = ReportStatus.RESOLVED, actors[target], sanctions[target], "member blocked"
        elif happens(rng, 0.25):
            latest = max(report.created_at for report in found)
            status, actor, outcome = ReportStatus.DISMISSED, rng.choice(STAFF), ""
            when = between(rng, min(latest + 600, now_seconds), now_seconds)
        else:
            continue
        for report in found:
            report.status, report.resolved_by, report.resolved_at = status, actor, when
        action = AuditAction.REPORT_RESOLVE if status == ReportStatus.RESOLVED else AuditAction.REPORT_DISMISS
        before = {"status": ReportStatus.OPEN.value, "reports": len(found)}
        after = {"status": status.value, "reports": len(found)}
        if status == ReportStatus.RESOLVED:
            after["outcome"] = outcome
        audit.append(AuditRow(actor, action, target_type, target, before, after, when))
    audit.sort(key=lambda row: row.created_at)
    return audit
