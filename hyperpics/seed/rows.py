"""The demo site's options, and its rows as plain data (:class:`Plan`), with the checks that
need no planning. A field naming another row holds that row's index in the plan's list:
``CollectRow.photo`` is an index into ``Plan.photos``. Times are whole seconds since the
epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..models import AuditAction, NotificationKind, ReportReason, ReportStatus, ReportTarget, RoleName, Visibility
from ..services.authoring import MAX_TAGS
from . import pictures, words

DAY = 86_400
HOUR = 3_600

ADMIN, MODERATOR, MEMBER = 0, 1, 2  # the people whose logins the seed prints
STAFF = (ADMIN, MODERATOR)

# Above this many candidate pairs, the fallback does not list them all (memory, time).
ENUMERATION_LIMIT = 3_000_000


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class SeedOptions:
    user_count: int = 50
    photo_count: int = 500
    tag_count: int = 30
    follow_count: int = 300
    collect_count: int = 1000
    comment_count: int = 2000
    report_count: int = 20
    seed: int = 0
    now: datetime = field(default_factory=_now)

    def count(self, option: str) -> int:
        """What the command line's ``--<option>`` asked for: ``count("photos")`` is ``photo_count``."""
        return int(getattr(self, f"{option.removesuffix('s')}_count"))


class SeedError(Exception):
    """The options cannot make a site; ``option`` names the one to change (without dashes)."""

    def __init__(self, option: str | None, message: str) -> None:
        super().__init__(message)
        self.option = option
        self.message = message


# --- the rows, by index ---------------------------------------------------------------------


@dataclass(slots=True)
class Person:
    username: str
    email: str
    name: str
    bio: str
    website: str
    location: str
    role: RoleName
    confirmed: bool
    locked: bool
    active: bool
    public_collections: bool
    receive_comment: bool
    receive_follow: bool
    receive_collect: bool
    member_since: int
    avatar_seed: str


@dataclass(slots=True)
class TagRow:
    name: str
    created_at: int


@dataclass(slots=True)
class PhotoRow:
    author: int
    picture: pictures.Picture
    description: str
    alt_text: str
    visibility: Visibility
    can_comment: bool
    created_at: int
    tag_indexes: tuple[int, ...]  # into Plan.tags


@dataclass(slots=True)
class FollowRow:
    follower: int
    followed: int
    created_at: int


@dataclass(slots=True)
class CollectRow:
    user: int
    photo: int
    created_at: int


@dataclass(slots=True)
class CommentRow:
    photo: int
    author: int
    reply_to: int | None
    body: str
    created_at: int


@dataclass(slots=True)
class NotificationRow:
    kind: NotificationKind
    receiver: int
    actor: int
    photo: int | None
    comment: int | None
    created_at: int
    read_at: int | None


@dataclass(slots=True)
class ReportRow:
    reporter: int
    target_type: ReportTarget
    target: int  # an index into people, photos or comments, by target_type
    reason: ReportReason
    note: str
    status: ReportStatus
    created_at: int
    resolved_by: int | None
    resolved_at: int | None


@dataclass(slots=True)
class AuditRow:
    actor: int
    action: AuditAction
    target_type: ReportTarget
    target: int  # an index into people, photos or comments, by target_type
    before: dict[str, object] | None
    after: dict[str, object] | None
    created_at: int


@dataclass
class Plan:
    options: SeedOptions
    people: list[Person]
    tags: list[TagRow]
    photos: list[PhotoRow]
    follows: list[FollowRow]
    collects: list[CollectRow]
    comments: list[CommentRow]
    notifications: list[NotificationRow]
    reports: list[ReportRow]
    audit: list[AuditRow]

    @property
    def sources_with_gps(self) -> int:
        return sum(1 for photo in self.photos if photo.picture.gps is not None)

    @property
    def sources_turned(self) -> int:
        return sum(1 for photo in self.photos if photo.picture.orientation != 1)


# --- checks that need no planning -----------------------------------------------------------


def special_counts(users: int) -> tuple[int, int, int]:
    """How many people are unconfirmed, locked and blocked (none on a tiny site)."""
    if users < 8:
        return 0, 0, 0
    return max(1, users // 15), max(1, users // 30), max(1, users // 30)


def max_follows(users: int) -> int:
    """Each person who can follow (everyone confirmed) follows each other person once."""
    return (users - special_counts(users)[0]) * (users - 1)


def tag_name_capacity() -> int:
    return len(words.TAG_WORDS) + len(words.ADJECTIVES) * len(words.NOUNS)


def check(options: SeedOptions) -> None:
    """Refuse what cannot be built, before anything is drawn or written."""
    for option in ("users", "photos", "tags", "follows", "collects", "comments", "reports"):
        if options.count(option) < 0:
            raise SeedError(option, f"--{option} cannot be negative.")
    if options.user_count < 3:
        raise SeedError("users", "--users must be at least 3 (an administrator, a moderator and a member).")
    if options.follow_count > max_follows(options.user_count):
        raise SeedError(
            "follows",
            f"--follows {options.follow_count} is more than {options.user_count} users can make: at most "
            f"{max_follows(options.user_count)} (each confirmed user follows each other user once).",
        )
    if options.photo_count == 0:
        for option in ("tags", "collects", "comments"):
            if options.count(option):
                raise SeedError(option, f"--{option} needs photos; with --photos 0 pass --{option} 0.")
    if options.tag_count > MAX_TAGS * options.photo_count:
        raise SeedError(
            "tags", f"--tags {options.tag_count} cannot all be used: a photo carries at most {MAX_TAGS} tags."
        )
    if options.tag_count > tag_name_capacity():
        raise SeedError("tags", f"--tags can be at most {tag_name_capacity()} (the demo word lists run out).")
    if options.now.tzinfo is None:
        raise SeedError("now", "the base time needs a time zone (UTC).")
