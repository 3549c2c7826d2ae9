"""State shared by every worker when BROADCAST_URL is redis://: rate limits count once for
all of them, and a follow made through one worker is on the card another worker serves.

Two apps on one database and one Redis stand for two workers (the real two-process setup is
in test_redis_fanout.py); the embedded default keeps both in process memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from quart import Quart

from hyperpics import create_app
from hyperpics.infra.shared import LocalStore, RedisStore

from .conftest import Tab, free_port, login, make_user
from .helpers import user_ids


@pytest.fixture
async def workers(app_config: dict[str, Any], tmp_path, shared_redis: str) -> AsyncIterator[list[Quart]]:
    client = redis.Redis.from_url(shared_redis)
    await client.flushdb()
    await client.aclose()
    config = {**app_config, "BROADCAST_URL": shared_redis, "RATE_LIMITS_ENABLED": True}
    apps = [create_app(config, instance_path=tmp_path / f"worker-{n}") for n in (1, 2)]
    async with apps[0].test_app(), apps[1].test_app():
        yield apps


async def test_the_eleventh_failed_login_is_refused_whichever_worker_answers(workers: list[Quart]) -> None:
    first, second = workers
    for attempt in range(10):
        page = await login(Tab(first if attempt % 2 else second), "nobody@example.com", "not the password")
        assert page.status == 422, attempt
    refused = await login(Tab(second), "nobody@example.com", "not the password")
    assert refused.status == 429
    assert "Too many failed logins" in refused.text and int(refused.headers["Retry-After"]) > 0
    # Another address from the same place is counted on its own.
    assert (await login(Tab(first), "somebody@example.com", "not the password")).status == 422


async def test_a_card_cached_by_one_worker_shows_a_follow_made_on_another(workers: list[Quart]) -> None:
    first, second = workers
    ana_on_first, ana_on_second = Tab(first), Tab(second)
    await make_user(first, ana_on_first, "ana")
    await make_user(first, Tab(first), "bruno")
    await login(ana_on_second, "ana@example.com")
    await ana_on_second.get("/")  # the welcome message is shown
    bruno = (await user_ids(first))["bruno"]
    card = f"/_/users/{bruno}/card"

    before = await ana_on_second.get(card, htmx=True)
    assert followers_on(before.text) == 0
    assert (await ana_on_second.get(card, htmx=True)).text == before.text  # cached now

    await ana_on_first.get("/")
    assert (await ana_on_first.post(f"/_/users/{bruno}/follow", htmx=True)).status == 200

    after = await ana_on_second.get(card, htmx=True)
    assert followers_on(after.text) == 1
    assert f"/_/users/{bruno}/unfollow" in after.text


def followers_on(card: str) -> int:
    match = re.search(r'class="follower-count-\d+">(\d+)<', card)
    assert match, card
    return int(match.group(1))


async def test_without_redis_each_worker_counts_on_its_own() -> None:
    """The embedded default: one process, its own memory."""
    store = LocalStore()
    assert [await store.hit("k", 60) for _ in range(3)][-1][0] == 3
    await store.bump(["card:1"])
    assert await store.versions(["card:1", "card:2"]) == [1, 0]


async def test_an_unreachable_redis_falls_back_to_this_workers_memory() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        assert (await store.hit("k", 60))[0] == 1
        assert (await store.hit("k", 60))[0] == 2  # still counted, here
        assert await store.versions(["card:1"]) == [None]  # unknown: no cached card is trusted
        await store.bump(["card:1"])  # does not raise
    finally:
        await store.close()
