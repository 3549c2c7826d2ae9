"""The seed's randomness: one stream per part of the site (so asking for more photos does not
rename the people), weighted picks, skewed times, and unique picks that fall back to listing
the candidates when random draws keep colliding.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Hashable, Iterable, Sequence

from .rows import ENUMERATION_LIMIT, SeedError


def stream(seed: int, part: str) -> random.Random:
    # A str seed is hashed with SHA-512, not with Python's per-process string hash.
    return random.Random(f"hyperpics-demo:{seed}:{part}")


class Weighted:
    """Pick an index with probability proportional to its weight, in O(log n)."""

    def __init__(self, items: Sequence[int], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.items[min(index, len(self.items) - 1)]


def between(rng: random.Random, start: int, end: int, skew: float = 1.0) -> int:
    """A second in [start, end], drawn towards ``start`` when ``skew`` > 1."""
    if end <= start:
        return end
    return start + int((end - start) * rng.random() ** skew)


def happens(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def unique_picks[Key: Hashable](
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


def fill(template: str, **values: str) -> str:
    """str.format with Capitalised twins of every value ({Place} as well as {place})."""
    values.update({key.capitalize(): value[:1].upper() + value[1:] for key, value in list(values.items())})
    return template.format(**values)
