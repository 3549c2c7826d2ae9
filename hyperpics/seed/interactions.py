"""What the seeded people do with each other's photos: follows, collects and comments (with
replies), each only where the person could see the photo at that time.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from ..models import Visibility
from . import words
from .chance import Weighted, between, happens, unique_picks
from .rows import CollectRow, CommentRow, FollowRow, Person, PhotoRow, SeedError


def draw_follows(
    rng: random.Random,
    people: list[Person],
    count: int,
    activity: list[float],
    photos: list[PhotoRow],
    now_seconds: int,
) -> list[FollowRow]:
    photo_counts = [0] * len(people)
    for photo in photos:
        photo_counts[photo.author] += 1
    followers = [index for index, person in enumerate(people) if person.confirmed]
    by_activity = Weighted(followers, [activity[index] + 0.2 for index in followers])
    by_popularity = Weighted(range(len(people)), [1.0 + count**0.8 for count in photo_counts])

    def pick() -> tuple[int, int] | None:
        follower, followed = by_activity.pick(rng), by_popularity.pick(rng)
        return None if follower == followed else (follower, followed)

    def everything() -> Iterable[tuple[int, int]]:
        return ((a, b) for a in followers for b in range(len(people)) if a != b)

    pairs = unique_picks(
        rng, count, pick, everything, space=len(followers) * len(people), option="follows", what="follows"
    )
    rows = [
        FollowRow(a, b, between(rng, max(people[a].member_since, people[b].member_since) + 60, now_seconds - 60))
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


def _sees(viewer: int, candidate: PhotoRow, follow_times: dict[tuple[int, int], int]) -> bool:
    if candidate.author == viewer:
        return True
    if candidate.visibility == Visibility.PUBLIC:
        return True
    return candidate.visibility == Visibility.FOLLOWERS and (viewer, candidate.author) in follow_times


def draw_collects(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    count: int,
    activity: list[float],
    now_seconds: int,
) -> list[CollectRow]:
    if count == 0:
        return []
    follow_times = {(row.follower, row.followed): row.created_at for row in follows}
    collectors = [index for index, person in enumerate(people) if person.confirmed]
    by_activity = Weighted(collectors, [activity[index] + 0.2 for index in collectors])
    by_attention = Weighted(range(len(photos)), _photo_weights(rng, photos))

    def allowed(user: int, photo_index: int) -> bool:
        photo = photos[photo_index]
        return photo.author != user and photo.visibility != Visibility.PRIVATE and _sees(user, photo, follow_times)

    def pick() -> tuple[int, int] | None:
        user, photo = by_activity.pick(rng), by_attention.pick(rng)
        return (user, photo) if allowed(user, photo) else None

    def everything() -> Iterable[tuple[int, int]]:
        return ((user, photo) for user in collectors for photo in range(len(photos)) if allowed(user, photo))

    pairs = unique_picks(
        rng, count, pick, everything, space=len(collectors) * len(photos), option="collects", what="collects"
    )
    rows = []
    for user, photo_index in pairs:
        photo = photos[photo_index]
        start = max(photo.created_at, people[user].member_since, follow_times.get((user, photo.author), 0)) + 60
        rows.append(CollectRow(user, photo_index, between(rng, start, now_seconds - 60, skew=2.0)))
    rows.sort(key=lambda row: row.created_at)
    return rows


def draw_comments(
    rng: random.Random,
    people: list[Person],
    photos: list[PhotoRow],
    follows: list[FollowRow],
    count: int,
    activity: list[float],
    now_seconds: int,
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
    by_attention = Weighted(range(len(photos)), weights)
    commenters = [index for index, person in enumerate(people) if person.confirmed]
    by_activity = Weighted(commenters, [activity[index] + 0.2 for index in commenters])

    def reader(shown: PhotoRow, besides: int) -> int:
        """Someone other than ``besides`` (and the author) who can see the photo."""
        if shown.visibility == Visibility.FOLLOWERS:
            candidates = [person for person in followers_of[shown.author] if person != besides]
            return rng.choice(candidates) if candidates else shown.author
        while True:
            person = by_activity.pick(rng)
            if person not in (besides, shown.author):
                return person

    drafts: list[CommentRow] = []
    threads: dict[int, list[int]] = {}
    for _ in range(count):
        photo_index = by_attention.pick(rng)
        photo = photos[photo_index]
        thread = threads.setdefault(photo_index, [])
        parent = rng.choice(thread) if thread and happens(rng, 0.35) else None
        if parent is None:
            author = reader(photo, photo.author)
            start = max(photo.created_at, people[author].member_since, follow_times.get((author, photo.author), 0))
            body = rng.choice(words.COMMENTS)
            created = between(rng, start + 60, now_seconds - 60, skew=3.0)
        else:
            replied = drafts[parent]
            author = (
                photo.author if replied.author != photo.author and happens(rng, 0.5) else reader(photo, replied.author)
            )
            if author == replied.author:  # a followers-only photo with one follower: the author answers
                author = photo.author
            body = f"@{people[replied.author].username} {rng.choice(words.REPLIES)}"
            start = max(
                replied.created_at + 30, people[author].member_since + 60, follow_times.get((author, photo.author), 0)
            )
            created = between(rng, min(start, now_seconds), now_seconds, skew=4.0)
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
