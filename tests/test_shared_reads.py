"""What a photo page shows everyone (the photo, its counts, a page of comments) is read once
and kept while the tables it comes from are unchanged (page_cache.recall/keep); what is the
viewer's own (their collect, the neighbours they may see, whether they may see it at all) is
asked on every look. These tests hold both halves to account."""

from __future__ import annotations

from quart import Quart

from hyperpics.infra import db
from hyperpics.models import Collect, Follow, Photo, Tag, User, Visibility, utcnow
from hyperpics.web import page_cache

from .conftest import Tab, make_user
from .factories import add_comment, add_photo
from .helpers import counting, user_ids

COMMENTS_PAGE = "WITH RECURSIVE"  # the page of threads is one recursive statement
TAGS_OF_PHOTOS = "photo_tags"


async def _people(app: Quart, tab: Tab, new_tab) -> tuple[Tab, Tab]:  # type: ignore[no-untyped-def]
    """ana and bob looking, carl posting."""
    await make_user(app, tab, "ana")
    bob = await make_user(app, new_tab(), "bob")
    await make_user(app, new_tab(), "carl")
    return tab, bob


async def test_a_second_member_reads_only_their_own_part(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, bob = await _people(app, tab, new_tab)
    photo = await add_photo(app, "carl", tags=["sea"])
    await add_comment(app, "ana", photo, "lovely light")
    with counting(app) as first:
        assert (await ana.get(f"/photo/{photo}")).status == 200
    await bob.get("/")  # bob's own viewer kept, so only the photo page is counted below
    with counting(app, forget_pages=False) as second:
        page = await bob.get(f"/photo/{photo}")
    assert page.status == 200 and "lovely light" in page.text and "#sea" in page.text
    assert sum(COMMENTS_PAGE in statement for statement in first) == 1
    assert any(TAGS_OF_PHOTOS in statement for statement in first)
    assert not any(COMMENTS_PAGE in statement or TAGS_OF_PHOTOS in statement for statement in second)
    assert not any("FROM comments" in statement and "count(" in statement for statement in second)
    assert len(second) == 1, second  # the viewer's part: collect, neighbours, may see


async def test_the_viewers_part_stays_their_own(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, bob = await _people(app, tab, new_tab)
    ids = await user_ids(app)
    photo = await add_photo(app, "carl", minutes_ago=10)
    newer = await add_photo(app, "carl", Visibility.FOLLOWERS)
    async with db.database(app).session(write=True) as session:
        session.add_all(
            [Collect(user_id=ids["bob"], photo_id=photo), Follow(follower_id=ids["bob"], followed_id=ids["carl"])]
        )
        await session.commit()
    for _ in range(2):  # the second time from the kept part
        anas, bobs = (await ana.get(f"/photo/{photo}")).text, (await bob.get(f"/photo/{photo}")).text
        assert 'aria-pressed="false"' in anas and 'aria-pressed="true"' in bobs
        assert f'href="/photo/{newer}" rel="prev"' in bobs and f'href="/photo/{newer}"' not in anas
        assert ">Newest</span>" in anas


async def test_a_change_shows_on_the_next_look(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, bob = await _people(app, tab, new_tab)
    photo = await add_photo(app, "carl", description="before the edit")
    assert "before the edit" in (await ana.get(f"/photo/{photo}")).text
    await add_comment(app, "bob", photo, "a new remark")
    async with db.database(app).session(write=True) as session:
        (await session.get(Photo, photo)).description = "after the edit"  # type: ignore[union-attr]
        await session.commit()
    page = (await ana.get(f"/photo/{photo}")).text
    assert "after the edit" in page and "before the edit" not in page and "a new remark" in page
    async with db.database(app).session(write=True) as session:
        (await session.get(Photo, photo)).visibility = Visibility.PRIVATE  # type: ignore[union-attr]
        await session.commit()
    assert (await ana.get(f"/photo/{photo}")).status == 404
    assert (await bob.get(f"/photo/{photo}/view")).status == 404


async def test_a_photo_hidden_from_one_member_is_hidden_even_when_kept(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, bob = await _people(app, tab, new_tab)
    ids = await user_ids(app)
    photo = await add_photo(app, "carl", Visibility.FOLLOWERS)
    async with db.database(app).session(write=True) as session:
        session.add(Follow(follower_id=ids["bob"], followed_id=ids["carl"]))
        await session.commit()
    assert (await bob.get(f"/photo/{photo}")).status == 200  # kept now
    assert (await ana.get(f"/photo/{photo}")).status == 404
    assert (await ana.get(f"/photo/{photo}/view")).status == 404


async def test_nothing_is_kept_or_recalled_in_a_request_that_wrote(app: Quart) -> None:
    async with app.test_request_context("/", method="POST"):
        _, versions = await page_cache.recall("probe", ("tags",))
        assert versions is not None  # a reading request may keep
        session = await db.session()
        session.add(Tag(name="uncommitted", created_at=utcnow()))
        await session.flush()
        value, versions = await page_cache.recall("probe", ("tags",))
        assert value is None and versions is None
        page_cache.keep("probe", versions, ["uncommitted"])
        await db.rollback()
    async with app.test_request_context("/"):
        assert (await page_cache.recall("probe", ("tags",)))[0] is None


async def test_a_fresh_explore_is_a_drawing_kept_for_members_too(app, tab: Tab, new_tab, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hyperpics.views import main

    monkeypatch.setattr(main, "EXPLORE_SAMPLES", 1)
    ana, bob = await _people(app, tab, new_tab)
    photo = await add_photo(app, "carl", description="only public one")
    with counting(app) as first:
        assert f'href="/photo/{photo}"' in (await ana.get("/explore")).text
    await bob.get("/")
    with counting(app, forget_pages=False) as second:
        assert f'href="/photo/{photo}"' in (await bob.get("/explore")).text
    assert any("shuffle_key" in statement for statement in first)
    assert not any("shuffle_key" in statement for statement in second)
    async with db.database(app).session(write=True) as session:
        (await session.get(Photo, photo)).visibility = Visibility.PRIVATE  # type: ignore[union-attr]
        await session.commit()
    assert f'href="/photo/{photo}"' not in (await ana.get("/explore")).text


async def test_an_authors_photos_are_shared_by_rule_never_across_rules(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, bob = await _people(app, tab, new_tab)
    dora = await make_user(app, new_tab(), "dora")
    carl = await make_user(app, new_tab(), "carl2")
    mod = await make_user(app, new_tab(), "mo", role="Moderator")
    ids = await user_ids(app)
    public = await add_photo(app, "carl2", minutes_ago=3)
    followers = await add_photo(app, "carl2", Visibility.FOLLOWERS, minutes_ago=2)
    private = await add_photo(app, "carl2", Visibility.PRIVATE, minutes_ago=1)
    async with db.database(app).session(write=True) as session:
        session.add_all([Follow(follower_id=ids[who], followed_id=ids["carl2"]) for who in ("bob", "dora")])
        await session.commit()
    expected = {
        "bob": {public, followers}, "dora": {public, followers}, "ana": {public},
        "carl2": {public, followers, private}, "mo": {public, followers, private},
    }  # fmt: skip
    tabs = {"bob": bob, "dora": dora, "ana": ana, "carl2": carl, "mo": mod}
    for who in ("bob", "dora", "ana", "carl2", "mo", "bob", "ana"):
        page = (await tabs[who].get("/user/carl2")).text
        shown = {photo for photo in (public, followers, private) if f'href="/photo/{photo}"' in page}
        assert shown == expected[who], who
    await dora.get("/")
    with counting(app, forget_pages=False) as kept:
        assert (await dora.get("/user/carl2")).status == 200
    assert len(kept) == 1, kept  # the profile's numbers, which are dora's own


async def test_a_renamed_account_is_found_by_its_new_name_at_once(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, _ = await _people(app, tab, new_tab)
    assert (await ana.get("/user/carl")).status == 200
    async with db.database(app).session(write=True) as session:
        (await session.get(User, (await user_ids(app))["carl"])).username = "carlos"  # type: ignore[union-attr]
        await session.commit()
    assert (await ana.get("/user/carl")).status == 404
    assert (await ana.get("/user/Carlos")).status == 200


async def test_a_tag_page_is_shared_only_while_everyone_would_see_the_same(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    ana, bob = await _people(app, tab, new_tab)
    mod = await make_user(app, new_tab(), "mo", role="Moderator")
    ids = await user_ids(app)
    public = await add_photo(app, "carl", tags=["dunes"], minutes_ago=2)
    page = (await ana.get(f"/photo/{public}")).text
    tag = page.split('href="/tag/', 1)[1].split('"', 1)[0]
    assert f'href="/photo/{public}"' in (await ana.get(f"/tag/{tag}")).text
    await bob.get("/")
    with counting(app, forget_pages=False) as kept:
        assert f'href="/photo/{public}"' in (await bob.get(f"/tag/{tag}")).text
    assert kept == []  # every photo under it is public: the page everyone sees
    followers = await add_photo(app, "carl", Visibility.FOLLOWERS, tags=["dunes"], minutes_ago=1)
    private = await add_photo(app, "carl", Visibility.PRIVATE, tags=["dunes"])
    async with db.database(app).session(write=True) as session:
        session.add(Follow(follower_id=ids["bob"], followed_id=ids["carl"]))
        await session.commit()
    expected = {"bob": {public, followers}, "ana": {public}, "mo": {public, followers, private}}
    tabs = {"bob": bob, "ana": ana, "mo": mod}
    for who in ("bob", "ana", "mo", "ana", "bob", "mo"):
        text = (await tabs[who].get(f"/tag/{tag}")).text
        assert {photo for photo in expected["mo"] if f'href="/photo/{photo}"' in text} == expected[who], who
