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

import gc
import random
from dataclasses import replace

from ..models import RoleName, Visibility
from ..services.authoring import MAX_TAGS
from . import pictures, words
from .chance import Weighted, between, fill, happens, stream
from .interactions import draw_collects, draw_comments, draw_follows
from .moderation_plan import draw_notifications, draw_reports, draw_sanctions, settle_reports
from .rows import DAY, HOUR, MEMBER, Person, PhotoRow, Plan, SeedOptions, TagRow, check, special_counts

# --- people ---------------------------------------------------------------------------------


def _username(rng: random.Random, first_name: str, last_name: str, taken: set[str]) -> str:
    styles = (
        f"{first_name}_{last_name}".lower(),
        f"{first_name}{last_name}".lower(),
        f"{first_name}{last_name}",
        f"{first_name[0]}{last_name}".lower(),
        f"{last_name}_{first_name}".lower(),
        f"{first_name.lower()}_{rng.choice(words.NOUNS)}",
    )
    name = rng.choice(styles)[:20]
    while name.lower() in taken:
        name = f"{name[:16]}{rng.randint(2, 999)}"
    taken.add(name.lower())
    return name


def _person(
    rng: random.Random, standing: str, taken: set[str], now_seconds: int, *, username: str | None = None
) -> Person:
    first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
    if username is None:
        username = _username(rng, first, last, taken)
    place = rng.choice(words.PLACES)[0]
    subject, subject2 = rng.sample(words.SUBJECTS, 2)
    bio = ""
    if standing in {"staff", "member"} or happens(rng, 0.8):
        bio = fill(
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
    if happens(rng, 0.35):
        website = rng.choice(
            (f"https://{slug}.example.com", f"https://example.org/{slug}", f"https://photos.example.net/{slug}")
        )
    ago = {
        "staff": (390 * DAY, 400 * DAY),
        "member": (14 * DAY, 360 * DAY),
        "locked": (60 * DAY, 360 * DAY),
        "blocked": (60 * DAY, 360 * DAY),
        "unconfirmed": (2 * HOUR, 6 * DAY),
    }[standing]
    opts_out = standing not in {"staff"} and happens(rng, 0.25)
    return Person(
        username=username,
        email=f"{username.lower()}@example.com",
        name=f"{first} {last}"[:30],
        bio=bio,
        website=website,
        location=place if happens(rng, 0.7) else "",
        role=RoleName.LOCKED if standing == "locked" else RoleName.USER,
        confirmed=standing != "unconfirmed",
        locked=standing == "locked",
        active=standing != "blocked",
        public_collections=not happens(rng, 0.1),
        receive_comment=not (opts_out and happens(rng, 0.4)),
        receive_follow=not (opts_out and happens(rng, 0.4)),
        receive_collect=not (opts_out and happens(rng, 0.4)),
        member_since=now_seconds - rng.randint(*ago),
        avatar_seed=f"demo-{rng.getrandbits(64):016x}",
    )


def _people(rng: random.Random, count: int, now_seconds: int) -> list[Person]:
    unconfirmed, locked, blocked = special_counts(count)
    states = ["unconfirmed"] * unconfirmed + ["locked"] * locked + ["blocked"] * blocked
    states += ["member"] * (count - 3 - len(states))
    rng.shuffle(states)
    taken = {"admin", "moderator"}
    admin = _person(rng, "staff", taken, now_seconds, username="admin")
    moderator = _person(rng, "staff", taken, now_seconds, username="moderator")
    member = _person(rng, "staff", taken, now_seconds)
    # The three whose logins are printed: the oldest accounts, so they have the most history.
    people = [
        replace(admin, role=RoleName.ADMINISTRATOR, member_since=now_seconds - 400 * DAY),
        replace(moderator, role=RoleName.MODERATOR, member_since=now_seconds - 395 * DAY),
        replace(member, member_since=now_seconds - 390 * DAY),
    ]
    others = [_person(rng, state, taken, now_seconds) for state in states]
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
    width, height = (short_edge, long_edge) if happens(rng, 0.3) else (long_edge, short_edge)
    style = rng.choice(pictures.STYLES)
    colours, count = pictures.colours_for(style, rng)
    image_format = rng.choices(("JPEG", "PNG", "WEBP"), (93, 4, 3))[0]
    return pictures.Picture(width, height, style, colours, count, orientation, gps, image_format, rng.getrandbits(32))


def _photo(rng: random.Random, author: int, person: Person, now_seconds: int, *, first: bool) -> PhotoRow:
    place, latitude, longitude = rng.choice(words.PLACES)
    # The first photo always carries GPS and a turn, so every seed runs the stripping.
    gps = (
        (latitude + rng.uniform(-0.02, 0.02), longitude + rng.uniform(-0.02, 0.02))
        if first or happens(rng, 0.25)
        else None
    )
    orientation = 6 if first else rng.choices((1, 6, 8, 3), (85, 8, 4, 3))[0]
    picture = _picture(rng, gps, orientation)
    description = fill(
        rng.choice(words.CAPTIONS),
        place=place.split(",")[0],
        noun=rng.choice(words.NOUNS),
        adjective=rng.choice(words.ADJECTIVES),
    )
    return PhotoRow(
        author=author,
        picture=picture,
        description=description,
        alt_text=picture.alt_text() if happens(rng, 0.85) else "",
        visibility=rng.choices((Visibility.PUBLIC, Visibility.FOLLOWERS, Visibility.PRIVATE), (85, 10, 5))[0],
        can_comment=happens(rng, 0.94),
        created_at=between(rng, person.member_since + HOUR, now_seconds - 10 * 60),
        tag_indexes=(),
    )


def _photos(
    rng: random.Random, people: list[Person], count: int, activity: list[float], now_seconds: int
) -> list[PhotoRow]:
    authors = Weighted(range(len(people)), activity)
    photos = []
    for index in range(count):
        author = authors.pick(rng)
        photos.append(_photo(rng, author, people[author], now_seconds, first=index == 0))
    photos.sort(key=lambda photo: photo.created_at)
    return photos


def _tag_photos(rng: random.Random, photos: list[PhotoRow], names: list[str]) -> tuple[list[PhotoRow], list[TagRow]]:
    """Tags on photos (popular ones more often); every tag ends up on at least one photo."""
    if not names:
        return photos, []
    popular = Weighted(range(len(names)), [1 / (rank + 1) ** 0.8 for rank in range(len(names))])
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
        photo.tag_indexes = tuple(sorted(new_index[tag] for tag in chosen))
    return photos, tags


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
    now_seconds = int(options.now.timestamp())
    seed = options.seed
    people = _people(stream(seed, "people"), options.user_count, now_seconds)
    activity = _activity(stream(seed, "activity"), people)
    photos = _photos(stream(seed, "photos"), people, options.photo_count, activity, now_seconds)
    photos, tags = _tag_photos(stream(seed, "tags"), photos, _tag_names(stream(seed, "tag-names"), options.tag_count))
    follows = draw_follows(stream(seed, "follows"), people, options.follow_count, activity, photos, now_seconds)
    collects = draw_collects(
        stream(seed, "collects"), people, photos, follows, options.collect_count, activity, now_seconds
    )
    comments = draw_comments(
        stream(seed, "comments"), people, photos, follows, options.comment_count, activity, now_seconds
    )
    notifications = draw_notifications(
        stream(seed, "notifications"), people, photos, follows, collects, comments, now_seconds
    )
    reports = draw_reports(stream(seed, "reports"), people, photos, comments, options.report_count, now_seconds)
    sanctions = draw_sanctions(
        stream(seed, "sanctions"), people, photos, follows, collects, comments, reports, now_seconds
    )
    audit = settle_reports(stream(seed, "settle"), people, reports, sanctions, now_seconds)
    return Plan(options, people, tags, photos, follows, collects, comments, notifications, reports, audit)
