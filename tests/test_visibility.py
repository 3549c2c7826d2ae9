"""Visibility (public, followers, only me) enforced everywhere a photo appears, for every
kind of viewer, files included."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import Photo, Tag

from .conftest import Tab
from .factories import add_follows
from .helpers import logged_in

VIEWERS = ["owner", "follower", "stranger", "moderator", "anonymous"]
SEES = {
    "public": {"owner", "follower", "stranger", "moderator", "anonymous"},
    "followers": {"owner", "follower", "moderator"},
    "private": {"owner", "moderator"},
}


def _jpeg(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
async def world(app):  # type: ignore[no-untyped-def]
    """An owner with one photo of each visibility, tagged 'shared', and four viewers."""
    tabs = {
        "anonymous": Tab(app),
        **await logged_in(app, "owner", "follower", "stranger", "moderator", roles={"moderator": "Moderator"}),
    }
    owner = tabs["owner"]
    page = await owner.upload(
        "/upload", [("public.jpg", _jpeg("red")), ("followers.jpg", _jpeg("green")), ("private.jpg", _jpeg("blue"))]
    )
    assert page.status == 200, page.text
    async with database(app).session(write=False) as session:
        photos = list((await session.execute(select(Photo).order_by(Photo.id))).scalars())
    ids = {}
    for photo, visibility in zip(photos, ("public", "followers", "private"), strict=True):
        result = await owner.post(
            f"/photo/{photo.id}/edit",
            {
                "description": f"the {visibility} one",
                "alt_text": "",
                "tags": f"shared {visibility}tag",
                "visibility": visibility,
            },
        )
        assert result.status == 303, result.text
        ids[visibility] = photo
    await add_follows(app, ("follower", "owner"))
    return tabs, ids


def _shown(text: str, photo: Photo) -> bool:
    return f'id="photo-card-{photo.id}"' in text


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_photo_pages_and_files(world, viewer: str) -> None:
    tabs, photos = world
    tab = tabs[viewer]
    for visibility, photo in photos.items():
        allowed = viewer in SEES[visibility]
        page = await tab.get(f"/photo/{photo.id}")
        assert page.status == (200 if allowed else 404), (viewer, visibility, page.status)
        if allowed:
            assert f"the {visibility} one" in page.text
        else:
            assert f"the {visibility} one" not in page.text
        for name in photo.files():
            response = await tab.client.get(f"/media/photos/{name}?v={visibility}")  # as pages link it
            assert response.status_code == (200 if allowed else 404), (viewer, visibility, name)
            if allowed:
                assert response.headers["Content-Type"].startswith("image/")
                cache = response.headers["Cache-Control"]
                assert ("public" in cache) == (visibility == "public"), cache
        # The details fragment and the edit page follow the same rule.
        fragment = await tab.get(f"/_/photos/{photo.id}/details", htmx=True)
        assert fragment.status == (200 if allowed else 404)


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_listings(world, viewer: str) -> None:
    tabs, photos = world
    tab = tabs[viewer]
    tag_pages = {}
    for listing in ("/user/owner", "/explore", "/tag/{shared}"):
        if listing.startswith("/tag"):
            home = await tab.get(f"/photo/{photos['public'].id}")
            shared = re.search(r'href="/tag/(\d+)">#shared<', home.text).group(1)
            listing = f"/tag/{shared}"
            tag_pages["shared"] = listing
        page = await tab.get(listing)
        assert page.status == 200
        for visibility, photo in photos.items():
            expected = viewer in SEES[visibility] and not (listing == "/explore" and visibility != "public")
            assert _shown(page.text, photo) == expected, (viewer, listing, visibility)
    # A tag found only on a hidden photo is no tag at all to those who cannot see that photo.
    for visibility in ("followers", "private"):
        async with database(tab.app).session(write=False) as session:
            tag_id = (await session.execute(select(Tag.id).where(Tag.name == f"{visibility}tag"))).scalar_one()
        page = await tab.get(f"/tag/{tag_id}")
        allowed = viewer in SEES[visibility]
        assert page.status == (200 if allowed else 404), (viewer, visibility)
        assert _shown(page.text, photos[visibility]) == allowed, (viewer, visibility)


async def test_home_feeds(world) -> None:
    tabs, photos = world
    owner_feed = await tabs["owner"].get("/")
    assert all(_shown(owner_feed.text, photo) for photo in photos.values())
    follower_feed = await tabs["follower"].get("/")
    assert _shown(follower_feed.text, photos["public"]) and _shown(follower_feed.text, photos["followers"])
    assert not _shown(follower_feed.text, photos["private"])
    # Not following: nothing of the owner's in the feed.
    stranger_feed = await tabs["stranger"].get("/")
    assert not any(_shown(stranger_feed.text, photo) for photo in photos.values())
    # The landing page shows recent public photos only.
    landing = await tabs["anonymous"].get("/")
    assert _shown(landing.text, photos["public"])
    assert not _shown(landing.text, photos["followers"]) and not _shown(landing.text, photos["private"])


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_a_tag_page_exists_only_for_who_may_see_one_of_its_photos(app, world, viewer: str) -> None:  # type: ignore[no-untyped-def]
    """Anonymous GET /tag/33 once answered "#aliceprivate": the tag of a private photo."""
    from hyperpics.models import Tag

    tabs, _ = world
    async with database(app).session(write=False) as session:
        tag_ids = {tag.name: tag.id for tag in (await session.execute(select(Tag))).scalars()}
    for visibility in SEES:
        page = await tabs[viewer].get(f"/tag/{tag_ids[visibility + 'tag']}")
        if viewer in SEES[visibility]:
            assert page.status == 200 and f"#{visibility}tag" in page.text
        else:
            assert page.status == 404 and f"{visibility}tag" not in page.text
    assert (await tabs[viewer].get(f"/tag/{tag_ids['shared']}")).status == 200  # on the public photo too


async def test_hot_tags_count_public_photos_only(world) -> None:
    tabs, _ = world
    landing = await tabs["anonymous"].get("/")
    assert "#publictag" in landing.text
    assert "#privatetag" not in landing.text and "#followerstag" not in landing.text


async def test_only_the_author_edits_and_the_author_or_a_moderator_deletes(world) -> None:
    tabs, photos = world
    photo = photos["public"]
    for viewer in ("follower", "stranger"):
        edit = await tabs[viewer].post(f"/photo/{photo.id}/edit", {"description": "hacked", "visibility": "public"})
        assert edit.status == 403
        delete = await tabs[viewer].post(f"/photo/{photo.id}/delete")
        assert delete.status == 403
    anonymous = await tabs["anonymous"].post(f"/photo/{photo.id}/delete")
    assert anonymous.status == 302 and anonymous.location.startswith("/auth/login")
    # A moderator does not rewrite someone else's photo (nor change who sees it): they delete it.
    moderated = await tabs["moderator"].post(
        f"/photo/{photo.id}/edit", {"description": "tidied by a moderator", "visibility": "private", "tags": ""}
    )
    assert moderated.status == 403 and "author can change its description, tags or who sees it" in moderated.text
    assert "tidied by a moderator" not in (await tabs["stranger"].get(f"/photo/{photo.id}")).text
    no_reason = await tabs["moderator"].post(f"/photo/{photo.id}/delete")
    assert no_reason.status == 422 and "Say why" in no_reason.text
    deleted = await tabs["moderator"].post(f"/photo/{photo.id}/delete", {"reason": "spam"})
    assert deleted.status == 303
    assert (await tabs["stranger"].get(f"/photo/{photo.id}")).status == 404
    # A private photo cannot even be addressed by those who cannot see it.
    hidden = await tabs["stranger"].post(f"/photo/{photos['private'].id}/delete")
    assert hidden.status == 404
