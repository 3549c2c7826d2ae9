"""The open photo page's live comments (server-sent events on /_/photos/<id>/comments/stream):
a comment someone else adds arrives rendered for each viewer, in its thread, with that
viewer's buttons; its author gets no copy; deleted comments go; a viewer who cannot see the
photo gets nothing."""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import update

from hyperpics.infra.broadcast import hub
from hyperpics.infra.db import database
from hyperpics.models import Photo, Visibility
from hyperpics.web.event_streams import shutdown_event

from .conftest import Tab
from .factories import add_comment, add_photo
from .helpers import comment_count, logged_in, swapped_out, user_ids
from .html import by_id, elements, parse, texts
from .test_notification_stream import Stream, open_stream


def open_page_stream(
    tab: Tab, photo: int, *, latest: bool = True, last_event_id: int | None = None
) -> AbstractAsyncContextManager[Stream]:
    """The open photo page's stream of comments, as ``tab``."""
    url = f"/_/photos/{photo}/comments/stream" + ("?latest=1" if latest else "")
    return open_stream(tab, last_event_id, url=url)


@pytest.fixture
async def world(app):  # type: ignore[no-untyped-def]
    """owner (with a public photo), ana, bruno and a moderator, each in their own tab."""
    tabs = await logged_in(app, "owner", "ana", "bruno", "mod", roles={"mod": "Moderator"})
    return tabs, await user_ids(app), await add_photo(app, "owner")


async def post(tab: Tab, photo: int, body: str, reply_to: int | None = None) -> None:
    data = {"body": body, **({"reply_to": str(reply_to)} if reply_to else {})}
    page = await tab.post(f"/_/photos/{photo}/comments", data, htmx=True)
    assert page.status == 200, page.text


def inserted(data: str) -> tuple[str, str]:
    """(where the event puts its comment, the comment's markup)."""
    match = re.search(r'<ol hx-swap-oob="beforeend:(#[\w-]+)">(.*)</ol>', data, re.S)
    assert match, data
    return match.group(1), match.group(2)


async def test_a_new_comment_reaches_other_open_pages_rendered_for_each_viewer(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    anonymous = Tab(app)
    for tab in (tabs["bruno"], tabs["mod"], anonymous):
        assert (await tab.get(f"/photo/{photo}")).status == 200  # the page they have open
    async with (
        open_page_stream(tabs["bruno"], photo) as bruno,
        open_page_stream(tabs["mod"], photo) as mod,
        open_page_stream(anonymous, photo) as visitor,
        open_page_stream(tabs["ana"], photo) as ana,
    ):
        assert hub(app).open_photo_streams() == 4
        await post(tabs["ana"], photo, "Lovely light")
        events = {name: await stream.next() for name, stream in (("bruno", bruno), ("mod", mod), ("visitor", visitor))}
        await ana.nothing(0.3)  # the author's own page already has it
    comment_id = int(events["bruno"].id)
    for event in events.values():
        assert event.name == "comment"
        target, markup = inserted(event.data)
        assert target == "#comment-list"
        thread = by_id(markup, f"thread-{comment_id}")
        assert thread.tag == "li" and thread.classes == {"comment-thread"} and "Lovely light" in thread.text
        assert comment_count(event.data, swapped=True) == "1"
    delete = f'hx-post="/_/comments/{comment_id}/delete"'
    # Each viewer's own buttons: a moderator may delete; bruno may reply and report, not delete;
    # a visitor may do nothing.
    assert delete in events["mod"].data
    assert (
        delete not in events["bruno"].data
        and "Reply" in texts(events["bruno"].data, "a")
        and "Report" in events["bruno"].data
    )
    assert delete not in events["visitor"].data and "Reply" not in texts(events["visitor"].data, "a")
    # Each with their own form token (none for the visitor's report form: there is none).
    assert tabs["bruno"].csrf and tabs["bruno"].csrf in events["bruno"].data
    assert tabs["mod"].csrf and tabs["mod"].csrf in events["mod"].data
    assert tabs["bruno"].csrf != tabs["mod"].csrf and tabs["bruno"].csrf not in events["mod"].data


async def test_a_reply_goes_into_its_thread_and_top_level_ones_only_on_the_latest_page(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    root = await add_comment(app, ids["bruno"], photo, "what lens?")
    async with open_page_stream(tabs["bruno"], photo, latest=False) as earlier_page:
        await post(tabs["ana"], photo, "a 35mm", reply_to=root)
        reply = await earlier_page.next()
        target, markup = inserted(reply.data)
        assert target == f"#replies-{root}"
        assert parse(markup).elements[0].matches(f"li.comment-reply-item#reply-{reply.id}"), markup
        # A top-level comment belongs on the latest page: this one only counts it.
        await post(tabs["owner"], photo, "thanks all")
        top = await earlier_page.next()
        assert not elements(top.data, "[hx-swap-oob^=beforeend]") and "thanks all" not in top.data
        assert comment_count(top.data, swapped=True) == "3"


async def test_deleted_comments_leave_open_pages(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    root = await add_comment(app, ids["ana"], photo, "root")
    reply = await add_comment(app, ids["bruno"], photo, "reply", root)
    async with open_page_stream(tabs["owner"], photo) as owner:
        assert (await tabs["ana"].post(f"/_/comments/{root}/delete", htmx=True)).status == 200
        event = await owner.next()
    for gone in (root, reply):
        assert {f"thread-{gone}", f"reply-{gone}"} <= set(swapped_out(event.data))
    assert comment_count(event.data, swapped=True) == "0"


async def test_a_viewer_who_cannot_see_the_photo_gets_nothing(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    private = await add_photo(app, "owner", Visibility.PRIVATE)
    # Not even a stream: the photo is not found for them.
    assert (await tabs["ana"].get(f"/_/photos/{private}/comments/stream")).status == 404
    assert (await Tab(app).get(f"/_/photos/{private}/comments/stream")).status == 404
    # A photo that goes private while the page is open: the next wake-up ends the stream, unsent.
    async with open_page_stream(tabs["bruno"], photo) as bruno:
        async with database(app).session(write=True) as session:
            await session.execute(update(Photo).where(Photo.id == photo).values(visibility=Visibility.PRIVATE))
            await session.commit()
        await post(tabs["owner"], photo, "now private")
        rest = await bruno.end()
        assert not any("now private" in event.data for event in rest)


async def test_a_reconnect_reads_what_it_missed(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    seen = await add_comment(app, ids["ana"], photo, "seen")
    missed = await add_comment(app, ids["ana"], photo, "missed")
    async with open_page_stream(tabs["bruno"], photo, last_event_id=seen) as bruno:
        event = await bruno.next()
        assert event.id == str(missed) and "missed" in event.data
        await bruno.nothing(0.3)


async def test_the_photo_page_connects_to_its_stream(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    page = await tabs["bruno"].get(f"/photo/{photo}")
    live = by_id(page.text, "comments-live")
    assert (
        live.tag == "div"
        and live.children == []
        and live.attrs
        == {
            "id": "comments-live",
            "hx-ext": "sse",
            "sse-connect": f"/_/photos/{photo}/comments/stream?latest=1",
            "sse-swap": "comment",
            "hx-swap": "none",
            "hidden": "",
        }
    )
    # The section ends with it (the photo page's other parts are not its business).
    assert live.parent is not None and live.parent.tag == "section" and live.is_last()


async def test_shutdown_ends_open_page_streams(app, world) -> None:  # type: ignore[no-untyped-def]
    tabs, ids, photo = world
    async with open_page_stream(tabs["bruno"], photo) as bruno:
        shutdown_event(app).set()
        try:
            await bruno.end(timeout=10)
        finally:
            shutdown_event(app).clear()
