"""What caches may keep: members' pages never; a public photo file for a year, under a URL
that names its visibility, so that a photo made private stops being served from it.

Public photo files were served ``immutable`` for a year under one URL: after the owner made
the photo private, caches went on serving it. Logged-in HTML had no ``no-store``, and
production sent no HSTS.
"""

from __future__ import annotations

import re
from typing import Any

from quart import Quart

from hyperpics import create_app

from . import images
from .conftest import Tab, make_user
from .factories import add_photo


async def test_member_pages_and_fragments_are_never_stored(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana")
    for url, htmx in (
        ("/", False),
        (f"/photo/{photo}", False),
        ("/notifications", False),
        (f"/_/photos/{photo}/comments", True),
    ):
        page = await tab.get(url, htmx=htmx)
        assert page.status == 200 and page.headers["Cache-Control"] == "no-store", url
    posted = await tab.post(f"/_/photos/{photo}/collect", htmx=True)
    assert posted.headers["Cache-Control"] == "no-store"


async def test_anonymous_pages_stay_out_of_shared_caches(app: Quart) -> None:
    page = await Tab(app).get("/")
    assert page.headers["Cache-Control"] == "private, no-cache"  # it carries a session's CSRF token


async def test_hsts_in_production_only(app_config: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    production = create_app(
        {**app_config, "ENV": "production", "PASSWORD_HASHING": "standard"}, instance_path=tmp_path / "p"
    )
    async with production.test_app():
        answer = await production.test_client().get("/")
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    development = create_app({**app_config, "ENV": "development"}, instance_path=tmp_path / "d")
    async with development.test_app():
        assert "Strict-Transport-Security" not in (await development.test_client().get("/")).headers


def _image_urls(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in re.findall(r'src="(/media/photos/[^"]+)"', html)]


async def test_a_photo_made_private_is_no_longer_served_from_its_public_url(app: Quart, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    owner = await make_user(app, tab, "ana")
    stranger = await make_user(app, new_tab(), "bob")
    upload = await owner.upload("/upload", [("sea.jpg", images.jpeg(640, 480))])
    assert upload.status == 200
    photo_id = int(re.search(r'href="/photo/(\d+)"', upload.text).group(1))

    [public_url] = _image_urls((await stranger.get(f"/photo/{photo_id}")).text)
    assert public_url.endswith("?v=public")
    served = await stranger.client.get(public_url)
    assert served.status_code == 200 and served.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    await owner.get(f"/photo/{photo_id}/edit")
    made_private = await owner.post(f"/photo/{photo_id}/edit", {"description": "", "tags": "", "visibility": "private"})
    assert made_private.status == 303

    [private_url] = _image_urls((await owner.get(f"/photo/{photo_id}")).text)
    assert private_url != public_url and private_url.endswith("?v=private")
    for who in (owner, stranger, Tab(app)):
        assert (await who.client.get(public_url)).status_code == 404  # whoever asks, even the owner
    mine = await owner.client.get(private_url)
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "private, max-age=3600"
    assert (await stranger.client.get(private_url)).status_code == 404
