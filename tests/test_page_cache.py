"""Anonymous pages served from memory (page_cache.py): the same page for every anonymous
visitor, never a stale one, never a member's, never one carrying somebody's session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from quart import Blueprint, Quart, current_app

from hyperpics import create_app
from hyperpics.models import Visibility
from hyperpics.web import page_cache
from hyperpics.web.auth import public

from .conftest import Tab, login, make_user
from .factories import add_comment, add_photo
from .helpers import counting
from .html import elements


def cache_state(page: Any) -> str | None:
    return page.headers.get("X-Page-Cache")


async def test_an_anonymous_page_is_rendered_once_then_served_from_memory(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana", description="harbour at dawn")
    visitor = Tab(app)
    first = await visitor.get(f"/photo/{photo}")
    assert first.status == 200 and cache_state(first) == "miss"
    with counting(app, forget_pages=False) as statements:
        again = await Tab(app).get(f"/photo/{photo}")
    assert cache_state(again) == "hit" and statements == []
    assert "harbour at dawn" in again.text
    # Nothing in it is anyone's: no session token, and no cookie is set by serving it.
    assert not elements(again.text, '[name="csrf-token"]') and "X-CSRF-Token" not in again.text
    assert "Set-Cookie" not in again.headers
    assert again.headers["Cache-Control"] == "private, no-cache"
    # The kept copy's security headers are not added a second time.
    assert again.headers.getlist("Content-Security-Policy") == first.headers.getlist("Content-Security-Policy")
    assert len(again.headers.getlist("X-Frame-Options")) == 1


async def test_members_are_never_served_a_copy(app: Quart, tab: Tab) -> None:
    member = await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana")
    await Tab(app).get(f"/photo/{photo}")
    page = await member.get(f"/photo/{photo}")
    assert cache_state(page) is None and "user-menu" in page.text and elements(page.text, '[name="csrf-token"]')


async def test_a_change_made_through_the_site_shows_at_once(app: Quart, tab: Tab) -> None:
    member = await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana")
    visitor = Tab(app)
    await visitor.get(f"/photo/{photo}")
    assert cache_state(await visitor.get(f"/photo/{photo}")) == "hit"
    posted = await member.post(f"/_/photos/{photo}/comments", {"body": "what a sky"})
    assert posted.status == 303
    page = await visitor.get(f"/photo/{photo}")
    assert cache_state(page) == "miss" and "what a sky" in page.text


async def test_a_change_made_around_the_site_shows_at_once(app: Quart, tab: Tab) -> None:
    """Background work and tests write through the same engine without a request: their
    commits are announced before the next page is looked up."""
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana")
    visitor = Tab(app)
    await visitor.get(f"/photo/{photo}")
    await add_comment(app, "ana", photo, "written by a background task")
    page = await visitor.get(f"/photo/{photo}")
    assert cache_state(page) == "miss" and "written by a background task" in page.text


async def test_a_photo_made_private_is_gone_for_visitors_at_once(app: Quart, tab: Tab) -> None:
    owner = await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana", description="soon private")
    visitor = Tab(app)
    for _ in range(2):
        assert "soon private" in (await visitor.get("/user/ana")).text
    await owner.get(f"/photo/{photo}/edit")
    edited = await owner.post(
        f"/photo/{photo}/edit", {"description": "soon private", "alt_text": "", "tags": "", "visibility": "private"}
    )
    assert edited.status in (200, 303)
    assert (await visitor.get(f"/photo/{photo}")).status == 404
    assert "soon private" not in (await visitor.get("/user/ana")).text


async def test_writes_only_members_see_keep_the_copies(app: Quart, tab: Tab) -> None:
    """A login writes a session row, a notification its row: no anonymous page shows them."""
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana")
    visitor = Tab(app)
    await visitor.get(f"/photo/{photo}")
    await login(Tab(app), "ana@example.com")
    assert cache_state(await visitor.get(f"/photo/{photo}")) == "hit"


async def test_a_visitor_with_a_message_waiting_gets_the_page_with_it(app: Quart, tab: Tab) -> None:
    member = await make_user(app, tab, "ana")
    await Tab(app).get("/user/ana")  # cached now
    await member.post("/auth/logout")  # leaves "You have been logged out" for the next page
    page = await member.get("/user/ana")
    assert cache_state(page) is None
    assert re.search(r"logged out", page.text, re.IGNORECASE)


async def test_a_page_with_a_form_for_visitors_is_not_shared(app_config: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A page that puts the session's token in a form is that session's alone."""
    app = create_app(app_config, instance_path=tmp_path / "i")
    bp = Blueprint("test_form", __name__)

    @bp.route("/_test/form")
    @public
    @page_cache.shared_for_anonymous
    async def form_page() -> str:
        form = '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'
        return current_app.jinja_env.from_string(form).render()

    app.register_blueprint(bp)
    async with app.test_app():
        client = app.test_client()
        first, second = await client.get("/_test/form"), await client.get("/_test/form")
        assert first.headers["X-Page-Cache"] == second.headers["X-Page-Cache"] == "miss"
        assert elements(await second.get_data(as_text=True), "[name=csrf_token][value]")
    assert len(page_cache.page_cache(app)) == 0


async def test_copies_expire(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    visitor = Tab(app)
    await visitor.get("/user/ana")
    page_cache.page_cache(app).seconds = 1e-9  # everything kept is older than that now
    assert cache_state(await visitor.get("/user/ana")) == "miss"


async def test_off_when_configured(app_config: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app({**app_config, "PAGE_CACHE_SECONDS": 0}, instance_path=tmp_path / "i")
    async with app.test_app():
        client = app.test_client()
        for _ in range(2):
            page = await client.get("/")
            assert "X-Page-Cache" not in page.headers and elements(
                await page.get_data(as_text=True), '[name="csrf-token"]'
            )


async def test_remembered_values_follow_their_tables(app: Quart, tab: Tab) -> None:
    """Hot tags come from photos, tags and photo_tags: a comment keeps them, a photo renews them."""
    member = await make_user(app, tab, "ana")
    first = await add_photo(app, "ana", tags=("harbour",))
    landing = await Tab(app).get("/")
    assert "#harbour" in landing.text
    with counting(app, forget_pages=False) as statements:
        await member.post(f"/_/photos/{first}/comments", {"body": "hello"})
        await Tab(app).get("/")
    assert not any("photo_tags" in statement and "GROUP BY" in statement for statement in statements)
    await add_photo(app, "ana", tags=("lighthouse",))
    assert "#lighthouse" in (await Tab(app).get("/")).text


@pytest.fixture
async def workers(app_config: dict[str, Any], tmp_path, shared_redis: str) -> AsyncIterator[list[Quart]]:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(shared_redis)
    await client.flushdb()
    await client.aclose()
    config = {**app_config, "BROADCAST_URL": shared_redis}
    apps = [create_app(config, instance_path=tmp_path / f"worker-{n}") for n in (1, 2)]
    async with apps[0].test_app(), apps[1].test_app():
        yield apps


async def test_a_comment_made_through_one_worker_retires_the_other_workers_copy(workers: list[Quart]) -> None:
    first, second = workers
    member = await make_user(first, Tab(first), "ana")
    photo = await add_photo(first, "ana", Visibility.PUBLIC)
    visitor = Tab(second)
    await visitor.get(f"/photo/{photo}")
    assert cache_state(await visitor.get(f"/photo/{photo}")) == "hit"
    assert (await member.post(f"/_/photos/{photo}/comments", {"body": "seen from the other worker"})).status == 303
    page = await visitor.get(f"/photo/{photo}")
    assert cache_state(page) == "miss" and "seen from the other worker" in page.text


async def test_explore_is_one_of_a_few_kept_drawings_and_a_new_photo_draws_them_again(app: Quart, tab: Tab) -> None:
    from hyperpics.views.main import EXPLORE_SAMPLES

    from .factories import add_photos

    await make_user(app, tab, "ana")
    await add_photos(app, "ana", 40)
    visitor = Tab(app)
    pages = [await visitor.get("/explore") for _ in range(60)]
    assert all(page.status == 200 for page in pages)
    drawings = {tuple(re.findall(r'href="/photo/(\d+)"', page.text)) for page in pages}
    # At random, and at most one rendering per kept drawing: the rest are served from memory.
    assert 2 <= len(drawings) <= EXPLORE_SAMPLES
    states = [cache_state(page) for page in pages]
    assert states.count("miss") <= EXPLORE_SAMPLES and states.count("hit") >= 60 - EXPLORE_SAMPLES
    # A member draws their own every time.
    assert cache_state(await tab.get("/explore")) is None
    await add_photo(app, "ana", description="fresh off the camera")
    assert cache_state(await visitor.get("/explore")) == "miss"  # every kept drawing was made before it


async def test_a_request_reads_the_table_versions_once(app: Quart, tab: Tab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member's home keeps the hot tags by table versions: one read of the store gives every
    table's version for the rest of the request (with Redis, each read is a round trip)."""
    from hyperpics.infra import shared

    await make_user(app, tab, "ana")
    await add_photo(app, "ana", tags=["sea"])
    reads: list[list[str]] = []
    store = shared.store(app)
    original = store.versions

    async def counted(keys: list[str]) -> list[int | None]:
        reads.append(keys)
        return await original(keys)

    monkeypatch.setattr(store, "versions", counted)
    page = await tab.get("/")
    assert page.status == 200 and "Hello," in page.text and "#sea" in page.text
    assert len(reads) == 1
    assert {"table:users", "table:notifications", "table:photo_tags"} <= set(reads[0])


async def test_a_requests_own_commit_makes_it_read_the_versions_again(app: Quart) -> None:
    from hyperpics.infra import db
    from hyperpics.models import Tag, utcnow

    async with app.test_request_context("/", method="POST"):
        before = await page_cache.table_versions(("tags",))
        assert before == await page_cache.table_versions(("tags",))  # read once, then reused
        session = await db.session()
        session.add(Tag(name="harbour", created_at=utcnow()))
        await db.commit()
        after = await page_cache.table_versions(("tags",))
        assert before is not None and after is not None and after[0] > before[0]
        await db.close()
