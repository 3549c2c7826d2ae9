"""Password hashing (argon2id) and the rules a new password must meet.

Hashing is deliberately slow CPU work, so it always runs in a worker thread, and the
request's database connection is handed back first (:func:`cpu.run`).
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import TypedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import cpu

MIN_LENGTH = 8
MAX_LENGTH = 128


class _Cost(TypedDict, total=False):
    time_cost: int
    memory_cost: int
    parallelism: int


# "standard": argon2-cffi's defaults (RFC 9106's second recommendation, ~0.1-0.2 s here).
# "fast": a tiny cost for test suites, refused in production by the configuration check.
PROFILES: dict[str, _Cost] = {
    "standard": {},
    "fast": {"time_cost": 1, "memory_cost": 64, "parallelism": 1},
}

_hasher = PasswordHasher()


def use_profile(name: str) -> None:
    """Hash new passwords at this cost (verifying reads the cost from each hash)."""
    global _hasher
    _hasher = PasswordHasher(**PROFILES[name])
    _dummy_hash.cache_clear()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both answers take the same time.

    Made on first use: a hash costs ~0.2 s, too much for every start of a command."""
    return _hasher.hash("not-a-real-password-for-timing")


# What people tack on to a weak password to get it past a rule ("password1!"): digits, symbols, spaces.
_SUFFIX_CHARACTERS = string.digits + string.punctuation + string.whitespace
# Runs of letters, digits and keys (US keyboard rows, shifted digits) that read as one pattern.
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "!@#$%^&*()")
_RUNS_BOTH_WAYS = _RUNS + tuple(run[::-1] for run in _RUNS)
# Words an attacker of this site would try early that the general list lacks.
_SITE_WORDS = frozenset({"hyperpics", "photography", "administrator"})


@cache
def common_passwords() -> frozenset[str]:
    """The list shipped in ``data/common-passwords.txt`` (see its header for the source), and the site's own words.

    Read on first use rather than at import, so commands that check no password skip it."""
    text = resources.files("hyperpics").joinpath("data", "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#")) | _SITE_WORDS


def _is_run(lowered: str) -> bool:
    return any(lowered in run for run in _RUNS_BOTH_WAYS)


def _repeats_short_unit(lowered: str) -> bool:
    """``lowered`` is a unit shorter than the minimum written out at least twice ("12341234")."""
    longest_unit = min(MIN_LENGTH - 1, len(lowered) // 2)
    return any(lowered[size:] == lowered[:-size] for size in range(1, longest_unit + 1))


def _weakness(lowered: str, stem: str) -> str | None:
    """Why the password is guessable on its own, whoever chooses it."""
    if lowered in common_passwords():
        return "This password is too common: it is on a list of the most used passwords. Choose another."
    if stem in common_passwords():
        return (
            "This password is too common: it is one of the most used passwords with digits or symbols added. "
            "Choose another."
        )
    if len(set(lowered)) < 3:
        return "Use more than two different characters."
    if _repeats_short_unit(lowered):
        return "This password is a few characters repeated; choose another."
    if _is_run(lowered):
        return "This password is a run of letters, digits or keyboard keys; choose another."
    return None


def _made_from(lowered: str, stem: str, known: str, what: str) -> str | None:
    """Why the password is guessable by whoever knows ``known`` (called ``what``)."""
    if not known:
        return None
    if lowered == known:
        return f"Your password cannot be {what}."
    if lowered == known[::-1]:
        return f"Your password cannot be {what} reversed."
    if len(known) >= 3 and known in lowered:  # shorter ones turn up by chance in good passwords
        return f"Your password cannot contain {what}."
    if stem == known:
        return f"Your password cannot be {what} with digits or symbols added."
    return None


def _personal(lowered: str, stem: str, username: str, email: str) -> list[str]:
    found = [_made_from(lowered, stem, username.lower(), "your username")]
    email = email.lower()
    if email and lowered == email:
        found.append("Your password cannot be your email address.")
    else:
        found.append(_made_from(lowered, stem, email.split("@")[0], "the name in your email address"))
    return [problem for problem in found if problem]


def problems(password: str, *, username: str = "", email: str = "") -> list[str]:
    """Why ``password`` is not acceptable; empty when it is.

    A length problem comes alone: the other rules are advice on a password that must change anyway."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    lowered = password.lower()
    stem = lowered.rstrip(_SUFFIX_CHARACTERS)
    weakness = _weakness(lowered, stem)
    return ([weakness] if weakness else []) + _personal(lowered, stem, username, email)


async def hash_password(password: str) -> str:
    return await cpu.run("password hashing", _hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Check ``password``; with ``stored=None`` it spends the same time and returns False."""
    return await cpu.run("password verification", _verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
