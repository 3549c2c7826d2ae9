"""Editing a photo's details: on the photo page in place (htmx), or on its own edit page,
which ends on the photo with a message rather than staying on "Edit photo"."""

from __future__ import annotations

from quart import Quart

from .conftest import Tab, make_user
from .factories import add_photo
from .helpers import text_of
from .html import elements, texts

DETAILS = {
    "description": "Low tide at dawn",
    "alt_text": "Boats on wet sand",
    "tags": "harbour",
    "visibility": "public",
}


async def test_saving_on_the_edit_page_lands_on_the_photo_with_a_message(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana", description="draft")
    edit = await tab.get(f"/photo/{photo}/edit")
    assert "Edit photo" in texts(edit.text, "h1")
    form_tag = edit.text[edit.text.index('<section id="photo-details"') :].split(">", 2)[1]
    assert "hx-post" not in form_tag, form_tag  # a plain post: the browser follows the redirect

    saved = await tab.post(f"/photo/{photo}/edit", DETAILS)
    assert saved.status == 303 and saved.location == f"/photo/{photo}"
    shown = await tab.get(saved.location)
    assert "Photo details saved." in text_of(shown.text)
    assert "Low tide at dawn" in shown.text and "Edit photo" not in texts(shown.text, "h1")


async def test_saving_in_place_swaps_the_details_and_says_so(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana", description="draft")
    opened = await tab.get(f"/photo/{photo}/edit", htmx=True)
    assert opened.root_id() == "photo-details" and elements(opened.text, "[hx-post^='/photo/']")
    saved = await tab.post(f"/photo/{photo}/edit", DETAILS, htmx=True)
    assert saved.status == 200 and saved.root_id() == "photo-details" and saved.is_fragment()
    assert "Low tide at dawn" in saved.text and "#harbour" in saved.text
    assert "hx-swap-oob" in saved.text and "Photo details saved." in saved.text  # the message, out of band


async def test_commas_keep_the_words_of_a_tag_together(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana")
    form = await tab.get(f"/photo/{photo}/edit")
    assert "with commas to keep words together, e.g. mountains, blue hour" in text_of(form.text)  # the hint

    saved = await tab.post(f"/photo/{photo}/edit", {**DETAILS, "tags": "Mountains,  #Blue   Hour ,"}, htmx=True)
    assert saved.status == 200
    assert "#mountains" in saved.text and "#blue hour" in saved.text and "#blue<" not in saved.text
    again = await tab.get(f"/photo/{photo}/edit")
    assert elements(again.text, '[value="mountains, blue hour"]')  # sent back as it is, the same two tags

    words = await tab.post(f"/photo/{photo}/edit", {**DETAILS, "tags": "sunset beach"}, htmx=True)
    assert "#sunset" in words.text and "#beach" in words.text  # no comma: every word a tag

    alone = await tab.post(f"/photo/{photo}/edit", {**DETAILS, "tags": "blue hour,"}, htmx=True)
    assert "#blue hour" in alone.text
    form = await tab.get(f"/photo/{photo}/edit")
    assert elements(form.text, '[value="blue hour,"]')  # one tag of two words keeps its comma

    refused = await tab.post(f"/photo/{photo}/edit", {**DETAILS, "tags": "blue hour!, sea"}, htmx=True)
    assert refused.status == 422 and "commas between tags of several words" in refused.text
