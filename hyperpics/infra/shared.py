"""State every worker must agree on: rate-limit counters and the versions of cached cards.

The embedded setup keeps it in process memory. With ``BROADCAST_URL=redis://…`` (several
workers) it lives in that Redis, so the eleventh login attempt is refused whichever worker
answers, and a card cached by one worker is not served after a follow made on another.

If Redis cannot be reached, each worker falls back to its own memory and says so in the
log: limits are then counted per worker again, and cards are re-rendered rather than
trusted (a version that cannot be read is a cache miss).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol, cast

from quart import Quart, current_app

from . import db
from .wakeups import CARDS_KEY

log = logging.getLogger("hyperpics.shared")

KEY_PREFIX = "hyperpics:"
_MAX_LOCAL_WINDOWS = 100_000


class Store(Protocol):
    async def hit(self, key: str, seconds: int, amount: int = 1) -> tuple[int, int]:
        """Count ``amount`` events in ``key``'s fixed window of ``seconds``: (count so far, seconds left)."""
        ...

    async def peek(self, key: str) -> tuple[int, int]:
        """(count, seconds left) of ``key``'s window; (0, 0) when none is open."""
        ...

    async def give_back(self, key: str, amount: int = 1) -> None:
        """Uncount events (a login that turned out to succeed); never below zero."""
        ...

    async def versions(self, keys: list[str]) -> list[int | None]:
        """The current version of each key (None: could not be read)."""
        ...

    async def bump(self, keys: list[str]) -> None:
        """A new version for each key."""
        ...

    async def close(self) -> None: ...


class LocalStore:
    """One process's memory: the embedded setup, and the fallback when Redis is away."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int, int]] = {}  # key: (started, seconds, count)
        self._versions: dict[str, int] = {}

    async def hit(self, key: str, seconds: int, amount: int = 1) -> tuple[int, int]:
        now = time.monotonic()
        started, _, count = self._windows.get(key, (now, seconds, 0))
        if now - started >= seconds:
            started, count = now, 0
        count += amount
        self._windows[key] = (started, seconds, count)
        if len(self._windows) > _MAX_LOCAL_WINDOWS:
            self._forget_expired(now)
        return count, max(1, int(seconds - (now - started)) + 1)

    async def peek(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        started, seconds, count = self._windows.get(key, (now, 0, 0))
        if now - started >= seconds:
            return 0, 0
        return count, max(1, int(seconds - (now - started)) + 1)

    async def give_back(self, key: str, amount: int = 1) -> None:
        if key in self._windows:
            started, seconds, count = self._windows[key]
            self._windows[key] = (started, seconds, max(0, count - amount))

    def _forget_expired(self, now: float) -> None:
        for key, (started, seconds, _) in list(self._windows.items()):
            if now - started >= seconds:
                del self._windows[key]

    async def versions(self, keys: list[str]) -> list[int | None]:
        return [self._versions.get(key, 0) for key in keys]

    async def bump(self, keys: list[str]) -> None:
        for key in keys:
            self._versions[key] = self._versions.get(key, 0) + 1

    async def close(self) -> None:
        pass


_GIVE_BACK = """
local count = redis.call('get', KEYS[1])
if count and tonumber(count) > 0 then
  return redis.call('decrby', KEYS[1], math.min(tonumber(count), tonumber(ARGV[1])))
end
return 0
"""


class RedisStore:
    """Shared by every worker that names the same Redis."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        # One retry on a fresh connection: after Redis restarts, the pooled ones are dead.
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._local = LocalStore()
        self._degraded = False

    def _fell_back(self, what: str, error: Exception) -> None:
        if not self._degraded:
            log.warning("Redis unreachable for %s (%s): counting in this worker's memory for now", what, error)
        self._degraded = True

    def _recovered(self) -> None:
        if self._degraded:
            log.warning("Redis reachable again: shared counters are back")
        self._degraded = False

    async def hit(self, key: str, seconds: int, amount: int = 1) -> tuple[int, int]:
        name = KEY_PREFIX + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                # The first hit starts the window; later ones only count in it.
                pipe.set(name, 0, ex=seconds, nx=True)
                pipe.incrby(name, amount)
                pipe.ttl(name)
                _, count, ttl = await pipe.execute()
        except Exception as error:
            self._fell_back("rate limits", error)
            return await self._local.hit(key, seconds, amount)
        self._recovered()
        return int(count), max(1, int(ttl))

    async def peek(self, key: str) -> tuple[int, int]:
        name = KEY_PREFIX + key
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.ttl(name)
                count, ttl = await pipe.execute()
        except Exception as error:
            self._fell_back("rate limits", error)
            return await self._local.peek(key)
        self._recovered()
        return (int(count), max(1, int(ttl))) if count is not None and ttl > 0 else (0, 0)

    async def give_back(self, key: str, amount: int = 1) -> None:
        try:
            # Only an open window, and not below zero: a key made here would never expire.
            await self._redis.eval(_GIVE_BACK, 1, KEY_PREFIX + key, amount)
        except Exception as error:
            self._fell_back("rate limits", error)
            await self._local.give_back(key, amount)
            return
        self._recovered()

    async def versions(self, keys: list[str]) -> list[int | None]:
        try:
            found = await self._redis.mget([KEY_PREFIX + key for key in keys])
        except Exception as error:
            self._fell_back("card versions", error)
            return [None] * len(keys)
        self._recovered()
        return [int(value) if value is not None else 0 for value in found]

    async def bump(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.incr(KEY_PREFIX + key)
                await pipe.execute()
        except Exception as error:
            # A bump lost while Redis is away leaves cards cached before it valid until
            # their time limit (CARD_TTL_SECONDS): stale for seconds, never for good.
            self._fell_back("card versions", error)
            return
        self._recovered()

    async def close(self) -> None:
        await self._redis.aclose()


def store(app: Quart | None = None) -> Store:
    return cast(Store, (app or current_app).extensions["hyperpics_shared"])


def card_key(user_id: int) -> str:
    return f"card:{user_id}"


async def card_version(user_id: int) -> int | None:
    """The version of ``user_id``'s card; a cached copy of another version is stale."""
    return (await store().versions([card_key(user_id)]))[0]


def init_app(app: Quart) -> None:
    url = app.config["BROADCAST_URL"]
    app.extensions["hyperpics_shared"] = RedisStore(url) if url.startswith("redis://") else LocalStore()

    async def _new_card_versions(info: dict[str, Any]) -> None:
        changed = info.get(CARDS_KEY)
        if changed:
            await store(app).bump([card_key(user_id) for user_id in sorted(changed)])

    db.on_commit(app, _new_card_versions)

    @app.after_serving
    async def _close() -> None:
        await store(app).close()
