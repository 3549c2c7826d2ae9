"""Comments through HTTP: adding (htmx and plain form), validation, pagination, replies,
deleting (with the replies), turning comments off, and reporting a comment."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hyperpics.db import database
from hyperpics.models import (
    Comment,
    Notification,
    Report,
    ReportReason,
    ReportStatus,
    ReportTarget,
    Visibility,
)

from . import factories
from .conftest import Tab, make_user
from .factories import add_photo
from .helpers import VISITORS, fetch_photo, logged_in, user_ids, visitor

MAY_COMMENT = {"user", "moderator", "administrator"}
LOGGED_OUT = {"anonymous", "blocked"}


# --- helpers ------------------------------------------------------------------------------


async def add_comment(app, photo_id: int, author_id: int, body: str, *, minutes: int = 0, reply_to: int | None = None) -> int:  # type: ignore[no-untyped-def]
    """Comments here are a day old, ``minutes`` apart, so that their order is known."""
    return await factories.add_comment(app, author_id, photo_id, body, reply_to, minutes_ago=24 * 60 - minutes)


async def comments_in_db(app) -> list[Comment]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list((await session.execute(select(Comment).order_by(Comment.id))).scalars())


def heading(text: str) -> str:
    """The comments heading as a reader sees it ("3 comments")."""
    match = re.search(r'<h2 id="comments-heading">(.*?)</h2>', text, re.S)
    assert match, text
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


def comment_ids(text: str) -> list[int]:
    return [int(found) for found in re.findall(r'<article class="comment[^"]*" id="comment-(\d+)"', text)]


def thread(text: str, root: int) -> str:
    """The markup of one thread: the top-level comment ``root`` and the list of its replies."""
    match = re.search(rf'<li class="comment-thread" id="thread-{root}">(.*?</ol>)\s*</li>', text, re.S)
    assert match, text
    return match.group(1)


def replies_of(text: str, root: int) -> list[int]:
    """The comments listed under ``root``, in their order on the page."""
    replies = re.search(rf'<ol class="comment-replies" id="replies-{root}">(.*?)</ol>', thread(text, root), re.S)
    assert replies
    return comment_ids(replies.group(1))


@pytest.fixture
async def world(app):  # type: ignore[no-untyped-def]
    """owner (with a public photo), ana, bruno and a moderator, each in their own tab."""
    tabs = await logged_in(app, "owner", "ana", "bruno", "mod", roles={"mod": "Moderator"})
    return tabs, await user_ids(app), await add_photo(app, "owner")


# --- who may comment ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(VISITORS))
async def test_comment_permission_matrix(app, kind: str) -> None:
    await make_user(app, Tab(app), "owner")
    photo = await add_photo(app, "owner")
    tab = await visitor(app, kind)
    path = f"/_/photos/{photo}/comments"

    plain = await tab.post(path, {"body": f"hello from {kind}"})
    if kind in MAY_COMMENT:
        assert plain.status == 303, (kind, plain.status, plain.text)
        fragment = await tab.post(path, {"body": "again, with htmx"}, htmx=True)
        assert fragment.status == 200 and fragment.is_fragment()
        assert [c.body for c in await comments_in_db(app)] == [f"hello from {kind}", "again, with htmx"]
        return

    if kind in LOGGED_OUT:
        assert plain.status == 302, (kind, plain.status)
        assert plain.location == f"/auth/login?next={path}"
        htmx = await tab.post(path, {"body": "x"}, htmx=True, headers={"HX-Current-URL": f"http://localhost/photo/{photo}"})
        assert htmx.headers.get("HX-Redirect") == f"/auth/login?next=/photo/{photo}", htmx.headers
    else:
        assert plain.status == 403, (kind, plain.status)
        expected = "Please confirm your email address first." if kind == "unconfirmed" else "Your account is locked"
        assert expected in plain.text
        htmx = await tab.post(path, {"body": "x"}, htmx=True)
        assert htmx.status == 403 and htmx.is_fragment()
        assert htmx.headers["HX-Retarget"] == "#flashes"  # errors show in the message region
        # The photo page shows no form to them, but says why.
        page = await tab.get(f"/photo/{photo}")
        assert 'name="body"' not in page.text
        assert ("Confirm your email address to comment." if kind == "unconfirmed" else "Your account cannot comment right now.") in page.text
    assert await comments_in_db(app) == []


# --- adding -------------------------------------------------------------------------------


async def test_htmx_comment_returns_the_item_count_and_a_fresh_form(app, world) -> None:
    tabs, ids, photo = world
    await add_comment(app, photo, ids["bruno"], "first!")
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "  Lovely light  "}, htmx=True)
    assert page.status == 200
    assert page.is_fragment()
    [comment] = [c for c in await comments_in_db(app) if c.author_id == ids["ana"]]
    assert comment.body == "Lovely light" and comment.photo_id == photo and comment.reply_to_id is None
    # A new top-level comment is a new thread (with an empty list of replies) at the end.
    assert page.root_id() == f"thread-{comment.id}"
    assert re.match(rf'\s*<li class="comment-thread" id="thread-{comment.id}">\s*<article class="comment" id="comment-{comment.id}">', page.text)
    assert replies_of(page.text, comment.id) == []
    assert "Lovely light" in page.text
    assert '<span id="comment-count" hx-swap-oob="true">2</span>' in page.text
    form = re.search(r'<div id="comment-form" class="comment-form" hx-swap-oob="true">(.*?)</div>\s*$', page.text, re.S)
    assert form, page.text
    # A fresh form: empty textarea, no reply banner, no error.
    assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*</textarea>', form.group(1)), form.group(1)
    assert "reply-banner" not in form.group(1)
    assert 'name="reply_to" type="hidden" value=""' in form.group(1)


async def test_plain_comment_redirects_to_the_latest_page_at_the_comment(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "no javascript here"})
    assert page.status == 303
    [comment] = await comments_in_db(app)
    assert page.location == f"/photo/{photo}?page=latest#comment-{comment.id}"
    shown = await tabs["ana"].get(page.location.split("#")[0])
    assert comment_ids(shown.text) == [comment.id] and "no javascript here" in shown.text
    assert heading(shown.text) == "1 comment" and '<span id="comment-count">1</span>' in shown.text


async def test_comment_text_is_escaped(app, world) -> None:
    tabs, ids, photo = world
    body = '<script>alert("x")</script><b>bold</b>'
    answer = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": body}, htmx=True)
    assert answer.status == 200
    for text in (answer.text, (await Tab(app).get(f"/photo/{photo}")).text):
        assert "&lt;script&gt;alert(" in text
        assert "&lt;b&gt;bold&lt;/b&gt;" in text
        assert "<script>alert" not in text and "<b>bold</b>" not in text
    assert (await comments_in_db(app))[0].body == body


@pytest.mark.parametrize("body", ["", "   \n  "])
async def test_an_empty_comment_is_refused_with_the_form(app, world, body: str) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": body}, htmx=True)
    assert page.status == 422
    assert page.root_id() == "comment-form" and page.is_fragment()
    assert page.headers["HX-Retarget"] == "#comment-form"
    assert "Write something first." in page.text
    assert 'aria-invalid="true"' in page.text
    plain = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": body})
    assert plain.status == 422 and "<html" in plain.text and "Write something first." in plain.text
    assert await comments_in_db(app) == []


async def test_a_too_long_comment_is_refused_and_the_limit_is_fine(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "x" * 2001}, htmx=True)
    assert page.status == 422 and page.root_id() == "comment-form"
    assert page.headers["HX-Retarget"] == "#comment-form"
    assert "A comment has at most 2000 characters." in page.text
    # What was typed is kept in the form.
    assert "x" * 2001 in page.text
    assert await comments_in_db(app) == []
    exactly = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "y" * 2000}, htmx=True)
    assert exactly.status == 200
    assert [len(c.body) for c in await comments_in_db(app)] == [2000]


async def test_comments_on_a_photo_the_viewer_cannot_see_are_404(app, world) -> None:
    tabs, ids, _ = world
    private = await add_photo(app, "owner", Visibility.PRIVATE)
    assert (await tabs["ana"].post(f"/_/photos/{private}/comments", {"body": "hi"})).status == 404
    assert (await tabs["ana"].get(f"/_/photos/{private}/comments", htmx=True)).status == 404
    assert (await tabs["ana"].get(f"/_/photos/{private}/comment-form", htmx=True)).status == 404
    assert await comments_in_db(app) == []


# --- pages --------------------------------------------------------------------------------


async def test_comments_are_paginated_oldest_first_with_a_latest_link(app, world) -> None:
    tabs, ids, photo = world
    made = [await add_comment(app, photo, ids["bruno" if i % 2 else "ana"], f"comment number {i}", minutes=i) for i in range(20)]
    latest_link = f'href="/photo/{photo}?page=latest#comments"'

    first = await Tab(app).get(f"/photo/{photo}?page=1")
    assert first.status == 200
    assert comment_ids(first.text) == made[:15]
    assert latest_link in first.text and ">Latest</a>" in first.text
    assert heading(first.text) == "20 comments" and '<span id="comment-count">20</span>' in first.text
    assert '<span aria-current="page">1</span>' in first.text

    # The photo page opens at the latest page (the newest five), without a "Latest" link.
    last = await Tab(app).get(f"/photo/{photo}")
    assert comment_ids(last.text) == made[15:]
    assert latest_link not in last.text
    assert '<span aria-current="page">2</span>' in last.text
    assert f'href="/photo/{photo}?page=1#comments"' in last.text
    assert comment_ids((await Tab(app).get(f"/photo/{photo}?page=latest")).text) == made[15:]

    # The section alone, for htmx.
    fragment = await Tab(app).get(f"/_/photos/{photo}/comments?page=1", htmx=True)
    assert fragment.status == 200 and fragment.root_id() == "comments" and fragment.is_fragment()
    assert comment_ids(fragment.text) == made[:15]
    assert f'hx-get="/_/photos/{photo}/comments?page=latest"' in fragment.text
    latest = await Tab(app).get(f"/_/photos/{photo}/comments?page=latest", htmx=True)
    assert comment_ids(latest.text) == made[15:]


# --- replies ------------------------------------------------------------------------------


async def test_a_reply_sits_under_the_comment_it_answers(app, world) -> None:
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?", minutes=1)
    later = await add_comment(app, photo, ids["owner"], "a later comment", minutes=2)
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "a 35mm", "reply_to": str(original)}, htmx=True)
    assert page.status == 200 and page.is_fragment()
    reply = (await comments_in_db(app))[-1]
    assert reply.reply_to_id == original and reply.body == "a 35mm"
    # The fragment is the reply's line, which the form swaps in at the end of its thread;
    # the reply form goes away and the count updates, out of band.
    assert page.root_id() == f"reply-{reply.id}"
    assert f'<article class="comment comment-reply" id="comment-{reply.id}">' in page.text
    assert '<div id="reply-form" hx-swap-oob="delete"></div>' in page.text
    assert '<span id="comment-count" hx-swap-oob="true">3</span>' in page.text
    assert 'id="comment-form"' not in page.text  # the main form is left as it was
    # A direct reply needs no "Reply to": it sits under what it answers.
    assert "reply-to" not in page.text
    shown = await Tab(app).get(f"/photo/{photo}")
    assert comment_ids(shown.text) == [original, reply.id, later]
    assert replies_of(shown.text, original) == [reply.id] and replies_of(shown.text, later) == []
    assert f'id="thread-{reply.id}"' not in shown.text  # not a thread of its own
    assert heading(shown.text) == "3 comments"


async def test_a_reply_to_a_reply_joins_the_thread_and_names_whom_it_answers(app, world) -> None:
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?", minutes=1)
    first = await add_comment(app, photo, ids["ana"], "a 35mm", minutes=2, reply_to=original)
    await add_comment(app, photo, ids["owner"], "another thread", minutes=3)
    page = await tabs["owner"].post(f"/_/photos/{photo}/comments", {"body": "which one?", "reply_to": str(first)}, htmx=True)
    assert page.status == 200
    answer = (await comments_in_db(app))[-1]
    assert answer.reply_to_id == first
    assert page.root_id() == f"reply-{answer.id}"
    assert '<span class="reply-to">Reply to Ana:</span> which one?' in page.text
    shown = await Tab(app).get(f"/photo/{photo}")
    assert replies_of(shown.text, original) == [first, answer.id]
    assert '<span class="reply-to">Reply to Ana:</span> which one?' in shown.text
    # The reply form of a reply posts into the same thread.
    form = await tabs["bruno"].get(f"/_/comments/{first}/reply-form", htmx=True)
    assert f'hx-target="#replies-{original}"' in form.text


async def test_replies_are_loaded_with_the_page_and_pages_count_threads(app, world) -> None:
    """A page holds 15 threads whole, however many replies they have; the replies of a thread
    on page 1 stay on page 1."""
    tabs, ids, photo = world
    tops = [await add_comment(app, photo, ids["ana"], f"top {i}", minutes=i * 10) for i in range(17)]
    early = [await add_comment(app, photo, ids["bruno"], f"re {i}", minutes=200 + i, reply_to=tops[0]) for i in range(3)]
    first = await Tab(app).get(f"/photo/{photo}?page=1")
    assert heading(first.text) == "20 comments"
    assert replies_of(first.text, tops[0]) == early
    assert [i for i in comment_ids(first.text) if i in tops] == tops[:15]
    last = await Tab(app).get(f"/photo/{photo}")
    assert comment_ids(last.text) == tops[15:]


async def test_the_reply_form_opens_under_the_comment(app, world) -> None:
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?")
    shown = await tabs["ana"].get(f"/photo/{photo}")
    # The Reply button fills the slot under the comment; the link works without JavaScript.
    assert (
        f'<a href="/photo/{photo}?reply={original}#reply-form"\n       hx-get="/_/comments/{original}/reply-form" '
        f'hx-target="#reply-slot-{original}" hx-swap="innerHTML">Reply</a>'
    ) in shown.text
    assert f'<div class="reply-slot" id="reply-slot-{original}"></div>' in thread(shown.text, original)
    page = await tabs["ana"].get(f"/_/comments/{original}/reply-form", htmx=True)
    assert page.status == 200 and page.is_fragment()
    # Other open reply forms close first (out of band), then the form goes in the slot.
    assert page.text.lstrip().startswith('<div hx-swap-oob="innerHTML:.reply-slot"></div>')
    form = re.search(r'<div id="reply-form" class="reply-form">(.*)</div>', page.text, re.S)
    assert form, page.text
    assert "Reply to <strong>Bruno</strong>" in form.group(1)
    assert f'name="reply_to" type="hidden" value="{original}"' in form.group(1)
    assert f'hx-post="/_/photos/{photo}/comments" hx-target="#replies-{original}" hx-swap="beforeend"' in form.group(1)
    assert f'href="/photo/{photo}#comment-{original}"' in form.group(1) and 'hx-swap="delete">Cancel</a>' in form.group(1)
    # The main form is for new comments only.
    plain = await tabs["ana"].get(f"/_/photos/{photo}/comment-form", htmx=True)
    assert plain.root_id() == "comment-form" and ">Comment</button>" in plain.text and "reply-form" not in plain.text
    # Someone who may not comment is told so instead.
    anonymous = await Tab(app).get(f"/_/comments/{original}/reply-form", htmx=True)
    assert "to reply." in anonymous.text and "<textarea" not in anonymous.text
    # A comment the viewer cannot see is a 404.
    private = await add_photo(app, "bruno", visibility=Visibility.PRIVATE)
    hidden = await add_comment(app, private, ids["bruno"], "secret")
    assert (await tabs["ana"].get(f"/_/comments/{hidden}/reply-form", htmx=True)).status == 404


async def test_without_javascript_a_reply_opens_on_the_page_and_lands_at_the_reply(app, world) -> None:
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?", minutes=0)
    for i in range(15):  # the original's thread is on page 1 of 2
        await add_comment(app, photo, ids["owner"], f"later {i}", minutes=i + 1)
    full = await tabs["ana"].get(f"/photo/{photo}?reply={original}")
    assert full.status == 200
    assert '<span aria-current="page">1</span>' in full.text
    slot = re.search(rf'<div class="reply-slot" id="reply-slot-{original}">(.*?)</form>', full.text, re.S)
    assert slot and "Reply to <strong>Bruno</strong>" in slot.group(1), full.text
    assert f'name="reply_to" type="hidden" value="{original}"' in slot.group(1)
    posted = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "a 35mm", "reply_to": str(original)})
    reply = (await comments_in_db(app))[-1]
    assert posted.status == 303 and posted.location == f"/photo/{photo}?page=1#comment-{reply.id}"
    landed = await tabs["ana"].get(posted.location.split("#")[0])  # a browser keeps the anchor to itself
    assert replies_of(landed.text, original) == [reply.id] and "Reply published." in landed.text
    # A refused reply comes back in its form, under the comment, with what was typed.
    refused = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "x" * 2001, "reply_to": str(original)})
    assert refused.status == 422
    slot = re.search(rf'<div class="reply-slot" id="reply-slot-{original}">(.*?)</form>', refused.text, re.S)
    assert slot and "A comment has at most 2000 characters." in slot.group(1) and "x" * 2001 in slot.group(1)
    # With htmx the same refusal swaps the reply form in place.
    again = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": " ", "reply_to": str(original)}, htmx=True)
    assert again.status == 422 and again.root_id() == "reply-form"
    assert again.headers["HX-Retarget"] == "#reply-form" and "Write something first." in again.text


@pytest.mark.parametrize("htmx", [True, False])
async def test_a_reply_to_a_comment_of_another_photo_is_refused(app, world, htmx: bool) -> None:
    tabs, ids, photo = world
    elsewhere = await add_photo(app, "bruno")
    foreign = await add_comment(app, elsewhere, ids["bruno"], "on another photo")
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "sneaky", "reply_to": str(foreign)}, htmx=htmx)
    assert [c.id for c in await comments_in_db(app)] == [foreign]
    async with database(app).session(write=False) as session:
        assert list((await session.execute(select(Notification))).scalars()) == []
    assert page.status == 422, page.status
    assert "You can only reply to a comment on this photo." in page.text


async def test_a_reply_to_a_comment_of_another_photo_writes_nothing(app, world) -> None:
    """Whatever the status, nothing is written (the refusal rolls the request back)."""
    tabs, ids, photo = world
    elsewhere = await add_photo(app, "bruno")
    foreign = await add_comment(app, elsewhere, ids["bruno"], "on another photo")
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "sneaky", "reply_to": str(foreign)}, htmx=True)
    assert page.status >= 400
    assert [c.id for c in await comments_in_db(app)] == [foreign]
    async with database(app).session(write=False) as session:
        assert list((await session.execute(select(Notification))).scalars()) == []


# --- deleting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"), [("ana", True), ("owner", True), ("mod", True), ("bruno", False)]
)
async def test_who_may_delete_a_comment(app, world, who: str, allowed: bool) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["ana"], "delete me?")
    page = await tabs[who].post(f"/_/comments/{comment}/delete", {"next": f"/photo/{photo}"})
    if allowed:
        assert page.status == 303 and page.location == f"/photo/{photo}"
        assert await comments_in_db(app) == []
    else:
        assert page.status == 403
        assert [c.id for c in await comments_in_db(app)] == [comment]
        assert (await tabs[who].post(f"/_/comments/{comment}/delete", htmx=True)).status == 403
        # No delete button is offered to them either.
        shown = await tabs[who].get(f"/photo/{photo}")
        assert f'/_/comments/{comment}/delete"' not in shown.text  # neither the link nor hx-post
        assert [c.id for c in await comments_in_db(app)] == [comment]


async def test_anonymous_cannot_delete(app, world) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["ana"], "stay")
    page = await Tab(app).post(f"/_/comments/{comment}/delete")
    assert page.status == 302 and page.location == f"/auth/login?next=/_/comments/{comment}/delete"
    assert (await tabs["ana"].post("/_/comments/99999/delete")).status == 404
    assert [c.id for c in await comments_in_db(app)] == [comment]


async def test_deleting_a_comment_deletes_its_replies(app, world) -> None:
    tabs, ids, photo = world
    root = await add_comment(app, photo, ids["ana"], "root", minutes=1)
    reply = await add_comment(app, photo, ids["bruno"], "reply", minutes=2, reply_to=root)
    nested = await add_comment(app, photo, ids["owner"], "reply to reply", minutes=3, reply_to=reply)
    other = await add_comment(app, photo, ids["bruno"], "unrelated", minutes=4)
    # The thread goes (its link targets it); a reply's link targets its own line.
    shown = await tabs["owner"].get(f"/photo/{photo}")
    assert f'hx-post="/_/comments/{root}/delete" hx-target="#thread-{root}" hx-swap="outerHTML"' in shown.text
    assert f'hx-post="/_/comments/{reply}/delete" hx-target="#reply-{reply}" hx-swap="outerHTML"' in shown.text
    page = await tabs["ana"].post(f"/_/comments/{root}/delete", htmx=True)
    assert page.status == 200 and page.is_fragment()
    assert '<span id="comment-count" hx-swap-oob="true">1</span>' in page.text
    # The replies in the thread go out of band too.
    deleted = re.findall(r'<li id="reply-(\d+)" hx-swap-oob="delete"></li>', page.text)
    assert sorted(int(found) for found in deleted) == sorted([reply, nested])
    assert f'id="comment-{other}"' not in page.text and f'id="comment-{root}"' not in page.text
    assert [c.id for c in await comments_in_db(app)] == [other]


async def test_without_javascript_delete_asks_first_and_says_what_goes_with_it(app, world) -> None:
    """The Delete link opens a page that asks (htmx asks with hx-confirm and posts): nothing is
    deleted by the GET, and the page names the replies that would go too."""
    tabs, ids, photo = world
    root = await add_comment(app, photo, ids["ana"], "the harbour at dawn", minutes=1)
    reply = await add_comment(app, photo, ids["bruno"], "lovely", minutes=2, reply_to=root)
    await add_comment(app, photo, ids["owner"], "thanks", minutes=3, reply_to=reply)
    shown = await tabs["ana"].get(f"/photo/{photo}")
    assert f'<a class="link-button" href="/_/comments/{root}/delete" hx-post="/_/comments/{root}/delete"' in shown.text

    asked = await tabs["ana"].get(f"/_/comments/{root}/delete")
    assert asked.status == 200 and "<h1>Delete this comment?</h1>" in asked.text
    assert "The 2 replies to it go with it." in asked.text and "the harbour at dawn" in asked.text
    assert f'href="/photo/{photo}#comment-{root}">Keep it</a>' in asked.text
    assert len(await comments_in_db(app)) == 3  # asking deleted nothing
    one = await tabs["bruno"].get(f"/_/comments/{reply}/delete")
    assert "The reply to it goes with it." in one.text
    refused = await tabs["bruno"].get(f"/_/comments/{root}/delete")  # not theirs to delete
    assert refused.status == 403

    form = re.search(r'<form id="delete-comment-form" method="post" action="([^"]+)">', asked.text)
    assert form and form.group(1) == f"/_/comments/{root}/delete"
    done = await tabs["ana"].post(form.group(1), {"next": f"/photo/{photo}"})
    assert done.status == 303 and done.location == f"/photo/{photo}"
    assert await comments_in_db(app) == []


async def test_deleting_a_reply_keeps_its_parent(app, world) -> None:
    tabs, ids, photo = world
    root = await add_comment(app, photo, ids["ana"], "root", minutes=1)
    reply = await add_comment(app, photo, ids["bruno"], "reply", minutes=2, reply_to=root)
    nested = await add_comment(app, photo, ids["owner"], "reply to reply", minutes=3, reply_to=reply)
    later = await add_comment(app, photo, ids["ana"], "another reply", minutes=4, reply_to=root)
    page = await tabs["bruno"].post(f"/_/comments/{reply}/delete", htmx=True)
    assert page.status == 200
    # Its line goes (the link's target); the reply that answered it, in the same thread, too.
    assert re.findall(r'<li id="reply-(\d+)" hx-swap-oob="delete"></li>', page.text) == [str(nested)]
    assert '<span id="comment-count" hx-swap-oob="true">2</span>' in page.text
    assert [c.id for c in await comments_in_db(app)] == [root, later]
    assert replies_of((await Tab(app).get(f"/photo/{photo}")).text, root) == [later]


async def test_deleting_the_only_reply_keeps_its_parent(app, world) -> None:
    tabs, ids, photo = world
    root = await add_comment(app, photo, ids["ana"], "root", minutes=1)
    reply = await add_comment(app, photo, ids["bruno"], "reply", minutes=2, reply_to=root)
    page = await tabs["bruno"].post(f"/_/comments/{reply}/delete", htmx=True)
    assert page.status == 200
    assert "hx-swap-oob=\"delete\"" not in page.text
    assert '<span id="comment-count" hx-swap-oob="true">1</span>' in page.text
    assert [c.id for c in await comments_in_db(app)] == [root]


# --- turning comments off -----------------------------------------------------------------


async def test_the_author_turns_comments_off_and_on(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["owner"].get(f"/photo/{photo}")
    assert ">Turn comments off</button>" in page.text
    off = await tabs["owner"].post(f"/_/photos/{photo}/comments/toggle", htmx=True)
    assert off.status == 200 and off.root_id() == "comments" and off.is_fragment()
    assert ">Turn comments on</button>" in off.text
    assert "The author has turned comments off." in off.text and 'name="body"' not in off.text
    assert (await fetch_photo(app, photo)).can_comment is False

    # Posting while off: 403, saying why; nothing written.
    refused = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "hello?"})
    assert refused.status == 403
    assert "The author has turned comments off for this photo." in refused.text
    refused = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "hello?"}, htmx=True)
    assert refused.status == 403 and "turned comments off" in refused.text
    assert await comments_in_db(app) == []
    shown = await tabs["ana"].get(f"/photo/{photo}")
    assert "The author has turned comments off." in shown.text and 'name="body"' not in shown.text

    # On again, through a plain form.
    on = await tabs["owner"].post(f"/_/photos/{photo}/comments/toggle", {"next": f"/photo/{photo}"})
    assert on.status == 303 and on.location == f"/photo/{photo}"
    assert (await fetch_photo(app, photo)).can_comment is True
    assert (await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "hello!"})).status == 303


@pytest.mark.parametrize("who", ["ana", "mod"])
async def test_only_the_author_may_toggle_comments(app, world, who: str) -> None:
    tabs, ids, photo = world
    page = await tabs[who].post(f"/_/photos/{photo}/comments/toggle")
    assert page.status == 403
    assert "author can turn comments on or off." in page.text
    assert (await tabs[who].post(f"/_/photos/{photo}/comments/toggle", htmx=True)).status == 403
    assert (await fetch_photo(app, photo)).can_comment is True
    assert "Turn comments off" not in (await tabs[who].get(f"/photo/{photo}")).text
    anonymous = await Tab(app).post(f"/_/photos/{photo}/comments/toggle")
    assert anonymous.status == 302 and anonymous.location.startswith("/auth/login?next=")
    assert (await fetch_photo(app, photo)).can_comment is True


# --- reporting ----------------------------------------------------------------------------


async def reports_in_db(app) -> list[Report]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


@pytest.mark.parametrize("reason", [r.value for r in ReportReason])
async def test_report_a_comment(app, world, reason: str) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["bruno"], "rude words")
    page = await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": reason, "note": "  see above  "}, htmx=True)
    assert page.status == 200 and page.is_fragment()
    assert page.root_id() == f"report-comment-{comment}"
    assert "Thanks: a moderator will look at this comment." in page.text
    [report] = await reports_in_db(app)
    assert (report.reporter_id, report.target_type, report.target_id) == (ids["ana"], ReportTarget.COMMENT, comment)
    assert report.reason == ReportReason(reason) and report.note == "see above"
    assert report.status == ReportStatus.OPEN


async def test_report_without_javascript_and_with_a_bad_reason(app, world) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["bruno"], "rude words")
    bad = await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "boring"}, htmx=True)
    assert bad.status == 422 and bad.root_id() == f"report-comment-{comment}"
    assert await reports_in_db(app) == []
    plain = await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "spam", "next": f"/photo/{photo}"})
    assert plain.status == 303 and plain.location == f"/photo/{photo}"
    assert len(await reports_in_db(app)) == 1
    # Others report independently.
    assert (await tabs["owner"].post(f"/_/comments/{comment}/report", {"reason": "other"}, htmx=True)).status == 200
    assert len(await reports_in_db(app)) == 2


async def test_a_second_open_report_is_409(app, world) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["bruno"], "rude words")
    assert (await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "spam"}, htmx=True)).status == 200
    again = await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "harassment"}, htmx=True)
    assert again.status == 409, again.status
    assert "You have already reported this" in again.text
    assert [r.reason for r in await reports_in_db(app)] == [ReportReason.SPAM]


async def test_a_second_open_report_writes_nothing(app, world) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["bruno"], "rude words")
    assert (await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "spam"}, htmx=True)).status == 200
    again = await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "harassment"}, htmx=True)
    assert again.status >= 400
    assert [r.reason for r in await reports_in_db(app)] == [ReportReason.SPAM]


async def test_reporting_your_own_comment_is_403(app, world) -> None:
    tabs, ids, photo = world
    comment = await add_comment(app, photo, ids["ana"], "mine")
    page = await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "spam"})
    assert page.status == 403 and "You cannot report your own content." in page.text
    assert (await tabs["ana"].post(f"/_/comments/{comment}/report", {"reason": "spam"}, htmx=True)).status == 403
    assert await reports_in_db(app) == []
    # No report form is offered on one's own comment.
    shown = await tabs["ana"].get(f"/photo/{photo}")
    assert f'id="report-comment-{comment}"' not in shown.text
    anonymous = await Tab(app).post(f"/_/comments/{comment}/report", {"reason": "spam"})
    assert anonymous.status == 302 and anonymous.location.startswith("/auth/login?next=")
    assert await reports_in_db(app) == []


async def test_a_link_to_a_comment_opens_the_page_of_its_thread(app, world) -> None:
    """Notifications link ``?comment=<id>``: a reply in an early thread is on page 1, not on
    the latest page."""
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?", minutes=0)
    for i in range(15):
        await add_comment(app, photo, ids["owner"], f"later {i}", minutes=i + 1)
    posted = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "a 35mm", "reply_to": str(original)}, htmx=True)
    assert posted.status == 200
    reply = (await comments_in_db(app))[-1].id
    page = await tabs["bruno"].get(f"/photo/{photo}?comment={reply}")
    assert '<span aria-current="page">1</span>' in page.text and replies_of(page.text, original) == [reply]
    # The reply notification links there.
    listed = await tabs["bruno"].get("/notifications")
    assert f'href="/photo/{photo}?comment={reply}#comment-{reply}"' in listed.text
    # A comment gone since (or of another photo): the latest page.
    assert '<span aria-current="page">2</span>' in (await tabs["bruno"].get(f"/photo/{photo}?comment=9999")).text
