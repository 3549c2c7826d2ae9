"""Password hashing (argon2id) and the rules a new password must meet.

Hashing is deliberately slow CPU work, so it always runs in a worker thread, and the
request's database connection is handed back first (:func:`cpu.run`).
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import cpu

MIN_LENGTH = 8
MAX_LENGTH = 128

# "standard": argon2-cffi's defaults (RFC 9106's second recommendation, ~0.1-0.2 s here).
# "fast": a tiny cost for test suites, refused in production by the configuration check.
PROFILES: dict[str, dict[str, int]] = {
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

# The most used passwords that pass the length rule (from public breach corpora).
COMMON_PASSWORDS = frozenset(
    """
    12345678 123456789 1234567890 password password1 password123 qwertyuiop qwerty123
    11111111 00000000 iloveyou 1q2w3e4r 1q2w3e4r5t qwertyui 123123123 87654321 abcd1234
    sunshine princess football baseball welcome1 superman trustno1 letmein1 passw0rd
    monkey123 dragon123 master123 starwars whatever zaq12wsx 1qaz2wsx qazwsxedc
    changeme administrator adminadmin asdfghjkl asdf1234 aaaaaaaa photography hyperpics
    """.split()
)


def problems(password: str, *, username: str = "", email: str = "") -> list[str]:
    """Why ``password`` is not acceptable; empty when it is."""
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        found.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        found.append("This password is too common; choose another.")
    elif len(set(password)) < 3 and password:
        found.append("Use more than two different characters.")
    if username and lowered == username.lower():
        found.append("Your password cannot be your username.")
    if email and (lowered == email.lower() or lowered == email.lower().split("@")[0]):
        found.append("Your password cannot be your email address.")
    return found


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
