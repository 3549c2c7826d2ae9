"""The demo site as plain data, decided up front from one seed.

Nothing here touches the database or the disk: :func:`build` turns :class:`SeedOptions` into a
:class:`Plan` whose rows refer to each other by list index. Every list is in time order, so
the ids the database hands out follow time as on a real site. Each part draws from its own
random stream (named after the part), so asking for more photos does not rename the people.

Times are whole seconds since the epoch, counted back from ``SeedOptions.now``: the same seed
and the same ``now`` give the same data; with the default ``now`` (the moment of the run) the
data is the same relative to that moment.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import random
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
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
    users: int = 50
    photos: int = 500
    tags: int = 30
    follows: int = 300
    collects: int = 1000
    comments: int = 2000
    reports: int = 20
    seed: int = 0
    now: datetime = field(default_factory=_now)


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
    tags: tuple[int, ...]


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
    target_type: str
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
        if getattr(options, option) < 0:
            raise SeedError(option, f"--{option} cannot be negative.")
    if options.users < 3:
        raise SeedError("users", "--users must be at least 3 (an administrator, a moderator and a member).")
    if options.follows > max_follows(options.users):
        raise SeedError(
            "follows",
            f"--follows {options.follows} is more than {options.users} users can make: at most "
            f"{max_follows(options.users)} (each confirmed user follows each other user once).",
        )
    if options.photos == 0:
        for option in ("tags", "collects", "comments"):
            if getattr(options, option):
                raise SeedError(option, f"--{option} needs photos; with --photos 0 pass --{option} 0.")
    if options.tags > MAX_TAGS * options.photos:
        raise SeedError("tags", f"--tags {options.tags} cannot all be used: a photo carries at most {MAX_TAGS} tags.")
    if options.tags > tag_name_capacity():
        raise SeedError("tags", f"--tags can be at most {tag_name_capacity()} (the demo word lists run out).")
    if options.now.tzinfo is None:
        raise SeedError("now", "the base time needs a time zone (UTC).")


# --- random helpers -------------------------------------------------------------------------


def _stream(seed: int, part: str) -> random.Random:
    # A str seed is hashed with SHA-512, not with Python's per-process string hash.
    return random.Random(f"hyperpics-demo:{seed}:{part}")


class _Weighted:
    """Pick an index with probability proportional to its weight, in O(log n)."""

    def __init__(self, items: Sequence[int], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.items[min(index, len(self.items) - 1)]


def _between(rng: random.Random, start: int, end: int, skew: float = 1.0) -> int:
    """A second in [start, end], drawn towards ``start`` when ``skew`` > 1."""
    if end <= start:
        return end
    return start + int((end - start) * rng.random() ** skew)


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _unique_picks[Key: Hashable](
    rng: random.Random,
    count: int,
    pick: Callable[[], Key | None],
    everything: Callable[[], Iterable[Key]],
    *,
    space: int,
    option: str,
    what: str,
) -> list[Key]:
    """``count`` distinct keys: weighted random picks first, then (for crowded requests) a
    uniform sample of whatever is left, or a clear error when there is not enough."""
    chosen: list[Key] = []
    seen: set[Key] = set()
    attempts = 0
    while len(chosen) < count and attempts < 30 * count + 1000:
        attempts += 1
        key = pick()
        if key is not None and key not in seen:
            seen.add(key)
            chosen.append(key)
    missing = count - len(chosen)
    if missing:
        if space > ENUMERATION_LIMIT:
            raise SeedError(
                option, f"--{option} {count}: only {len(chosen)} distinct {what} were found; ask for fewer."
            )
        rest = [key for key in everything() if key not in seen]
        if len(rest) < missing:
            raise SeedError(
                option, f"--{option} {count} is more than this site allows: at most {len(chosen) + len(rest)} {what}."
            )
        chosen.extend(rng.sample(rest, missing))
    return chosen


def _fill(template: str, **values: str) -> str:
    """str.format with Capitalised twins of every value ({Place} as well as {place})."""
    values.update({key.capitalize(): value[:1].upper() + value[1:] for key, value in list(values.items())})
    return template.format(**values)


# --- people ---------------------------------------------------------------------------------


def _username(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    styles = (
        f"{first}_{last}".lower(),
        f"{first}{last}".lower(),
        f"{first}{last}",
        f"{first[0]}{last}".lower(),
        f"{last}_{first}".lower(),
        f"{first.lower()}_{rng.choice(words.NOUNS)}",
    )
    name = rng.choice(styles)[:20]
    while name.lower() in taken:
        name = f"{name[:16]}{rng.randint(2, 999)}"
    taken.add(name.lower())
    return name


def _person(rng: random.Random, state: str, taken: set[str], now: int, *, username: str | None = None) -> Person:
    first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
    if username is None:
        username = _username(rng, first, last, taken)
    place = rng.choice(words.PLACES)[0]
    subject, subject2 = rng.sample(words.SUBJECTS, 2)
    bio = ""
    if state in {"staff", "member"} or _chance(rng, 0.8):
        bio = _fill(
            rng.choice(words.BIO_TEMPLATES),
            light=rng.choice(words.LIGHTS),
            city=place.split(",")[0],
            job=rng.choice(words.JOBS),
            hobby=rng.choice(words.HOBBIES),
            subject=subject,
            subject2=subject2,
        )[:120]
    slug = username.lower().replace("_", "-")
    website = ""
    if _chance(rng, 0.35):
        website = rng.choice(
            (f"https://{slug}.example.com", f"https://example.org/{slug}", f"https://photos.example.net/{slug}")
        )
    ago = {
        "staff": (390 * DAY, 400 * DAY),
        "member": (14 * DAY, 360 * DAY),
        "locked": (60 * DAY, 360 * DAY),
        "blocked": (60 * DAY, 360 * DAY),
        "unconfirmed": (2 * HOUR, 6 * DAY),
    }[state]
    opts_out = state not in {"staff"} and _chance(rng, 0.25)
    return Person(
        username=username,
        email=f"{username.lower()}@example.com",
        name=f"{first} {last}"[:30],
        bio=bio,
        website=website,
        location=place if _chance(rng, 0.7) else "",
        role=RoleName.LOCKED if state == "locked" else RoleName.USER,
        confirmed=state != "unconfirmed",
        locked=state == "locked",
        active=state != "blocked",
        public_collections=not _chance(rng, 0.1),
        receive_comment=not (opts_out and _chance(rng, 0.4)),
        receive_follow=not (opts_out and _chance(rng, 0.4)),
        receive_collect=not (opts_out and _chance(rng, 0.4)),
        member_since=now - rng.randint(*ago),
        avatar_seed=f"demo-{rng.getrandbits(64):016x}",
    )


def _people(rng: random.Random, count: int, now: int) -> list[Person]:
    unconfirmed, locked, blocked = special_counts(count)
    states = ["unconfirmed"] * unconfirmed + ["locked"] * locked + ["blocked"] * blocked
    states += ["member"] * (count - 3 - len(states))
    rng.shuffle(states)
    taken = {"admin", "moderator"}
    admin = _person(rng, "staff", taken, now, username="admin")
    moderator = _person(rng, "staff", taken, now, username="moderator")
    member = _person(rng, "staff", taken, now)
    # The three whose logins are printed: the oldest accounts, so they have the most history.
    people = [
        replace(admin, role=RoleName.ADMINISTRATOR, member_since=now - 400 * DAY),
        replace(moderator, role=RoleName.MODERATOR, member_since=now - 395 * DAY),
        replace(member, member_since=now - 390 * DAY),
    ]
    others = [_person(rng, state, taken, now) for state in states]
    others.sort(key=lambda person: person.member_since)
    return people + others


def _activity(rng: random.Random, people: list[Person]) -> list[float]:
    """How much each person does: a few people do most of it, as on any site."""
    weights = [min(25.0, rng.paretovariate(1.3)) if person.confirmed else 0.0 for person in people]
    weights[MEMBER] = max(weights[MEMBER], 5.0)
    return weights


# --- tags and photos ------------------------------------------------------------------------


def _tag_names(rng: random.Random, count: int) -> list[str]:
    names = list(words.TAG_WORDS)
    rng.shuffle(names)
    if count > len(names):
        pairs = [f"{adjective}-{noun}" for adjective in words.ADJECTIVES for noun in words.NOUNS]
        rng.shuffle(pairs)
        names += pairs
    return names[:count]


# Long edges from 440 to 1600 px, mostly small: media.process_photo's cost grows with the
# pixels (a 1600 px picture costs several times a 480 px one), and the grid shows 400 px copies.
_EDGES = ((440, 560), (560, 800), (800, 1200), (1200, 1600))
_EDGE_WEIGHTS = (82, 13, 4, 1)
_RATIOS = ((4, 3), (3, 2), (16, 9), (1, 1), (5, 4), (2, 1))


def _picture(rng: random.Random, gps: tuple[float, float] | None, orientation: int) -> pictures.Picture:
    low, high = rng.choices(_EDGES, _EDGE_WEIGHTS)[0]
    long_edge = rng.randint(low, high)
    wide, narrow = rng.choice(_RATIOS)
    short_edge = max(1, long_edge * narrow // wide)
    width, height = (short_edge, long_edge) if _chance(rng, 0.3) else (long_edge, short_edge)
    style = rng.choice(pictures.STYLES)
    colours, count = pictures.colours_for(style, rng)
    image_format = rng.choices(("JPEG", "PNG", "WEBP"), (93, 4, 3))[0]
    return pictures.Picture(width, height, style, colours, count, orientation, gps, image_format, rng.getrandbits(32))


def _photo(rng: random.Random, author: int, person: Person, now: int, *, first: bool) -> PhotoRow:
    place, latitude, longitude = rng.choice(words.PLACES)
    # The first photo always carries GPS and a turn, so every seed runs the stripping.
    gps = (
        (latitude + rng.uniform(-0.02, 0.02), longitude + rng.uniform(-0.02, 0.02))
        if first or _chance(rng, 0.25)
        else None
    )
    orientation = 6 if first else rng.choices((1, 6, 8, 3), (85, 8, 4, 3))[0]
    picture = _picture(rng, gps, orientation)
    description = _fill(
        rng.choice(words.CAPTIONS),
        place=place.split(",")[0],
        noun=rng.choice(words.NOUNS),
        adjective=rng.choice(words.ADJECTIVES),
    )
    return PhotoRow(
        author=author,
        picture=picture,
        description=description,
        alt_text=picture.alt_text() if _chance(rng, 0.85) else "",
        visibility=rng.choices((Visibility.PUBLIC, Visibility.FOLLOWERS, Visibility.PRIVATE), (85, 10, 5))[0],
        can_comment=_chance(rng, 0.94),
        created_at=_between(rng, person.member_since + HOUR, now - 10 * 60),
        tags=(),
    )


def _photos(rng: random.Random, people: list[Person], count: int, activity: list[float], now: int) -> list[PhotoRow]:
    authors = _Weighted(range(len(people)), activity)
    photos = []
    for index in range(count):
        author = authors.pick(rng)
        photos.append(_photo(rng, author, people[author], now, first=index == 0))
    photos.sort(key=lambda photo: photo.created_at)
    return photos


def _tag_photos(rng: random.Random, photos: list[PhotoRow], names: list[str]) -> tuple[list[PhotoRow], list[TagRow]]:
    """Tags on photos (popular ones more often); every tag ends up on at least one photo."""
    if not names:
        return photos, []
    popular = _Weighted(range(len(names)), [1 / (rank + 1) ** 0.8 for rank in range(len(names))])
    carried: list[list[int]] = []
    for _ in photos:
        wanted = rng.choices((0, 1, 2, 3, 4, 5), (15, 25, 25, 18, 10, 7))[0]
        chosen: list[int] = []
        for _ in range(wanted * 3):
            if len(chosen) == min(wanted, len(names)):
                break
            tag = popular.pick(rng)
            if tag not in chosen:
                chosen.append(tag)
        carried.append(chosen)
    used = {tag for chosen in carried for tag in chosen}
    for tag in range(len(names)):
        if tag not in used:
            photo_index = rng.randrange(len(photos))
            while len(carried[photo_index]) >= MAX_TAGS:
                photo_index = (photo_index + 1) % len(photos)
            carried[photo_index].append(tag)
    first_use = [0] * len(names)
    for photo, chosen in zip(reversed(photos), reversed(carried), strict=True):
        for tag in chosen:
            first_use[tag] = photo.created_at  # walking back in time, the earliest wins
    order = sorted(range(len(names)), key=lambda tag: (first_use[tag], tag))
    new_index = {old: new for new, old in enumerate(order)}
    tags = [TagRow(names[old], first_use[old]) for old in order]
    for photo, chosen in zip(photos, carried, strict=True):
        photo.tags = tuple(sorted(new_index[tag] for tag in chosen))
    return photos, tags


# --- follows, collects, comments ------------------------------------------------------------


def _follows(
    rng: random.Random, people: list[Person], count: int, activity: list[float], photos: list[PhotoRow], now: int
) -> list[FollowRow]:
    photo_counts = [0] * len(people)
    for photo in photos:
        photo_counts[photo.author] += 1
    followers = [index for index, person in enumerate(people) if person.confirmed]
    by_activity = _Weighted(followers, [activity[index] + 0.2 for index in followers])
    by_popularity = _Weighted(range(len(people)), [1.0 + count**0.8 for count in photo_counts])

    def pick() -> tuple[int, int] | None:
        follower, followed = by_activity.pick(rng), by_popularity.pick(rng)
        return None if follower == followed else (follower, followed)

    def everything() -> Iterable[tuple[int, int]]:
        return ((a, b) for a in followers for b in range(len(people)) if a != b)

    pairs = _unique_picks(
        rng, count, pick, everything, space=len(followers) * len(people), option="follows", what="follows"
    )
    rows = [
        FollowRow(a, b, _between(rng, max(people[a].member_since, people[b].member_since) + 60, now - 60))
        for a, b in pairs
    ]
    rows.sort(key=lambda row: row.created_at)
    return rows


def _photo_weights(rng: random.Random, photos: list[PhotoRow]) -> list[float]:
    """How much attention each photo gets: a few photos are everybody's favourites."""
    weights = []
    for photo in photos:
        weight = rng.lognormvariate(0, 0.9)
        if photo.visibility == Visibility.FOLLOWERS:
            weight *= 0.4
        elif photo.visibility == Visibility.PRIVATE:
            weight = 0.0
        weights.append(weight)
    return weights


def _sees(person: int, photo: PhotoRow, follow_times: dict[tuple[int, int], int]) -> bool:
    if photo.author == person:
        return True
    if photo.visibility == Visibility.PUBLIC:
        return True
    return photo.visibility == Visibility.FOLLOWERS and (person, photo.author) in follow_times


def _collects(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    count: int,
    activity: list[float],
    now: int,
) -> list[CollectRow]:
    if count == 0:
        return []
    follow_times = {(row.follower, row.followed): row.created_at for row in follows}
    collectors = [index for index, person in enumerate(people) if person.confirmed]
    by_activity = _Weighted(collectors, [activity[index] + 0.2 for index in collectors])
    by_attention = _Weighted(range(len(photos)), _photo_weights(rng, photos))

    def allowed(user: int, photo_index: int) -> bool:
        photo = photos[photo_index]
        return photo.author != user and photo.visibility != Visibility.PRIVATE and _sees(user, photo, follow_times)

    def pick() -> tuple[int, int] | None:
        user, photo = by_activity.pick(rng), by_attention.pick(rng)
        return (user, photo) if allowed(user, photo) else None

    def everything() -> Iterable[tuple[int, int]]:
        return ((user, photo) for user in collectors for photo in range(len(photos)) if allowed(user, photo))

    pairs = _unique_picks(
        rng, count, pick, everything, space=len(collectors) * len(photos), option="collects", what="collects"
    )
    rows = []
    for user, photo_index in pairs:
        photo = photos[photo_index]
        start = max(photo.created_at, people[user].member_since, follow_times.get((user, photo.author), 0)) + 60
        rows.append(CollectRow(user, photo_index, _between(rng, start, now - 60, skew=2.0)))
    rows.sort(key=lambda row: row.created_at)
    return rows


def _comments(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    count: int,
    activity: list[float],
    now: int,
) -> list[CommentRow]:
    if count == 0:
        return []
    follow_times = {(row.follower, row.followed): row.created_at for row in follows}
    followers_of: dict[int, list[int]] = {}
    for row in follows:
        if people[row.follower].confirmed:
            followers_of.setdefault(row.followed, []).append(row.follower)
    weights = _photo_weights(rng, photos)
    for index, photo in enumerate(photos):
        # Comments need a photo that takes them and someone other than its author who sees it.
        if not photo.can_comment or (photo.visibility == Visibility.FOLLOWERS and not followers_of.get(photo.author)):
            weights[index] = 0.0
    if not any(weights):
        raise SeedError("comments", "no seeded photo takes comments; ask for more photos or --comments 0.")
    by_attention = _Weighted(range(len(photos)), weights)
    commenters = [index for index, person in enumerate(people) if person.confirmed]
    by_activity = _Weighted(commenters, [activity[index] + 0.2 for index in commenters])

    def reader(photo: PhotoRow, besides: int) -> int:
        """Someone other than ``besides`` (and the author) who can see the photo."""
        if photo.visibility == Visibility.FOLLOWERS:
            candidates = [person for person in followers_of[photo.author] if person != besides]
            return rng.choice(candidates) if candidates else photo.author
        while True:
            person = by_activity.pick(rng)
            if person not in (besides, photo.author):
                return person

    drafts: list[CommentRow] = []
    threads: dict[int, list[int]] = {}
    for _ in range(count):
        photo_index = by_attention.pick(rng)
        photo = photos[photo_index]
        thread = threads.setdefault(photo_index, [])
        parent = rng.choice(thread) if thread and _chance(rng, 0.35) else None
        if parent is None:
            author = reader(photo, photo.author)
            start = max(photo.created_at, people[author].member_since, follow_times.get((author, photo.author), 0))
            body = rng.choice(words.COMMENTS)
            created = _between(rng, start + 60, now - 60, skew=3.0)
        else:
            replied = drafts[parent]
            author = (
                photo.author if replied.author != photo.author and _chance(rng, 0.5) else reader(photo, replied.author)
            )
            if author == replied.author:  # a followers-only photo with one follower: the author answers
                author = photo.author
            body = f"@{people[replied.author].username} {rng.choice(words.REPLIES)}"
            start = max(
                replied.created_at + 30, people[author].member_since + 60, follow_times.get((author, photo.author), 0)
            )
            created = _between(rng, min(start, now), now, skew=4.0)
        thread.append(len(drafts))
        drafts.append(CommentRow(photo_index, author, parent, body, created))
    # In time order (a reply never before what it answers: equal times keep drawing order).
    order = sorted(range(len(drafts)), key=lambda index: (drafts[index].created_at, index))
    new_index = {old: new for new, old in enumerate(order)}
    comments = [drafts[old] for old in order]
    for comment in comments:
        if comment.reply_to is not None:
            comment.reply_to = new_index[comment.reply_to]
    return comments


# --- notifications and reports --------------------------------------------------------------


def _notifications(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    collects: list[CollectRow],
    comments: list[CommentRow],
    now: int,
) -> list[NotificationRow]:
    """What services.social would have written for these rows: same kinds, same opt-outs."""
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
        read = _chance(rng, 0.9 if now - created > 3 * DAY else 0.35)
        read_at = _between(rng, min(created + 60, now), now, skew=3.0) if read else None
        rows.append(NotificationRow(kind, receiver, actor, photo, comment_index, created, read_at))
    return rows


_REASON_WEIGHTS = {
    ReportReason.SPAM: 35,
    ReportReason.NUDITY: 10,
    ReportReason.HARASSMENT: 20,
    ReportReason.COPYRIGHT: 15,
    ReportReason.OTHER: 20,
}


def _reports(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    comments: list[CommentRow],
    count: int,
    now: int,
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
    kinds = [kind for kind, found in targets.items() if found]
    kind_weights = [{ReportTarget.PHOTO: 5, ReportTarget.COMMENT: 3, ReportTarget.USER: 2}[kind] for kind in kinds]

    def owner(kind: ReportTarget, target: int) -> int:
        if kind == ReportTarget.PHOTO:
            return photos[target].author
        if kind == ReportTarget.COMMENT:
            return comments[target].author
        return target

    def pick() -> tuple[int, ReportTarget, int] | None:
        kind = rng.choices(kinds, kind_weights)[0]
        reporter = rng.choice(reporters)
        target = rng.choice(reported_people if kind == ReportTarget.USER else targets[kind])
        return None if owner(kind, target) == reporter else (reporter, kind, target)

    def everything() -> Iterable[tuple[int, ReportTarget, int]]:
        return (
            (reporter, kind, target)
            for reporter in reporters
            for kind in kinds
            for target in targets[kind]
            if owner(kind, target) != reporter
        )

    space = len(reporters) * sum(len(found) for found in targets.values())
    picks = _unique_picks(rng, count, pick, everything, space=space, option="reports", what="reports")
    rows = []
    for reporter, kind, target in picks:
        if kind == ReportTarget.PHOTO:
            since = photos[target].created_at
        elif kind == ReportTarget.COMMENT:
            since = comments[target].created_at
        else:
            since = people[target].member_since
        created = _between(rng, max(since, people[reporter].member_since) + 60, now - 60, skew=1.5)
        reason = rng.choices(list(_REASON_WEIGHTS), list(_REASON_WEIGHTS.values()))[0]
        note = rng.choice(words.REPORT_NOTES[reason.value]) if _chance(rng, 0.5) else ""
        rows.append(ReportRow(reporter, kind, target, reason, note, ReportStatus.OPEN, created, None, None))
    rows.sort(key=lambda row: row.created_at)
    return rows


# --- moderation: locks, blocks, settled reports and their audit log -------------------------------


def _sanctions(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    collects: list[CollectRow],
    comments: list[CommentRow],
    reports: list[ReportRow],
    now: int,
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
        person: _between(rng, min(moment + HOUR, now), min(moment + 3 * DAY, now)) for person, moment in latest.items()
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


def _settle(
    rng: random.Random, people: list[Person], reports: list[ReportRow], sanctions: dict[int, int], now: int
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
                AuditRow(actors[person], AuditAction.USER_LOCK, "user", person, before, after, sanctions[person])
            )
        if not people[person].active:
            before, after = _state(people[person]), _state(people[person], active=False)
            audit.append(
                AuditRow(actors[person], AuditAction.USER_BLOCK, "user", person, before, after, sanctions[person])
            )
    by_target: dict[tuple[ReportTarget, int], list[ReportRow]] = {}
    for report in reports:
        by_target.setdefault((report.target_type, report.target), []).append(report)
    for (kind, target), found in by_target.items():
        if kind == ReportTarget.USER and not people[target].active:
            status, actor, when, outcome = ReportStatus.RESOLVED, actors[target], sanctions[target], "member blocked"
        elif _chance(rng, 0.25):
            latest = max(report.created_at for report in found)
            status, actor, outcome = ReportStatus.DISMISSED, rng.choice(STAFF), ""
            when = _between(rng, min(latest + 600, now), now)
        else:
            continue
        for report in found:
            report.status, report.resolved_by, report.resolved_at = status, actor, when
        action = AuditAction.REPORT_RESOLVE if status == ReportStatus.RESOLVED else AuditAction.REPORT_DISMISS
        before = {"status": ReportStatus.OPEN.value, "reports": len(found)}
        after = {"status": status.value, "reports": len(found)}
        if status == ReportStatus.RESOLVED:
            after["outcome"] = outcome
        audit.append(AuditRow(actor, action, kind.value, target, before, after, when))
    audit.sort(key=lambda row: row.created_at)
    return audit


# --- the whole site -------------------------------------------------------------------------


def build(options: SeedOptions) -> Plan:
    check(options)
    # Millions of small acyclic objects: the cyclic collector would rescan them over and
    # over (it tripled the time at 100,000 photos) and has nothing to find.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(options)
    finally:
        if collecting:
            gc.enable()


def _build(options: SeedOptions) -> Plan:
    now = int(options.now.timestamp())
    seed = options.seed
    people = _people(_stream(seed, "people"), options.users, now)
    activity = _activity(_stream(seed, "activity"), people)
    photos = _photos(_stream(seed, "photos"), people, options.photos, activity, now)
    photos, tags = _tag_photos(_stream(seed, "tags"), photos, _tag_names(_stream(seed, "tag-names"), options.tags))
    follows = _follows(_stream(seed, "follows"), people, options.follows, activity, photos, now)
    collects = _collects(_stream(seed, "collects"), people, photos, follows, options.collects, activity, now)
    comments = _comments(_stream(seed, "comments"), people, photos, follows, options.comments, activity, now)
    notifications = _notifications(_stream(seed, "notifications"), people, photos, follows, collects, comments, now)
    reports = _reports(_stream(seed, "reports"), people, photos, comments, options.reports, now)
    sanctions = _sanctions(_stream(seed, "sanctions"), people, photos, follows, collects, comments, reports, now)
    audit = _settle(_stream(seed, "settle"), people, reports, sanctions, now)
    return Plan(options, people, tags, photos, follows, collects, comments, notifications, reports, audit)
