"""Comments through HTTP: adding (htmx and plain form), validation, pagination, replies,
deleting (with the replies), turning comments off, and reporting a comment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hyperpics.infra.db import database
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
from .helpers import (
    LOGGED_OUT,
    VISITORS,
    assert_turned_away,
    comment_count,
    current_page,
    fetch_photo,
    logged_in,
    swapped_out,
    user_ids,
    visitor,
)
from .html import Element, by_id, count, element, elements, find_id, parse, texts

MAY_COMMENT = {"user", "moderator", "administrator"}


# --- helpers ------------------------------------------------------------------------------


async def add_comment(
    app, photo_id: int, author_id: int, body: str, *, minutes: int = 0, reply_to: int | None = None
) -> int:  # type: ignore[no-untyped-def]
    """Comments here are a day old, ``minutes`` apart, so that their order is known."""
    return await factories.add_comment(app, author_id, photo_id, body, reply_to, minutes_ago=24 * 60 - minutes)


async def comments_in_db(app) -> list[Comment]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list((await session.execute(select(Comment).order_by(Comment.id))).scalars())


def heading(text: str) -> str:
    """The comments heading as a reader sees it ("3 comments")."""
    found = by_id(text, "comments-heading")
    assert found.tag == "h2"
    return found.text


def comment_ids(text: str | Element) -> list[int]:
    """The comments shown, in order (replies included)."""
    return [int(article["id"].removeprefix("comment-")) for article in elements(text, "article.comment[id^=comment-]")]


def thread(text: str, root: int) -> Element:
    """One thread: the top-level comment ``root`` and the list of its replies."""
    found = by_id(text, f"thread-{root}")
    assert found.tag == "li" and found.classes == {"comment-thread"}, found.attrs
    return found


def replies_of(text: str, root: int) -> list[int]:
    """The comments listed under ``root``, in their order on the page."""
    replies = thread(text, root).select_one(f"ol#replies-{root}")
    assert replies.classes == {"comment-replies"}
    return comment_ids(replies)


def reply_slot(text: str, comment: int) -> Element:
    """The place under ``comment`` where its reply form opens."""
    slot = by_id(text, f"reply-slot-{comment}")
    assert slot.tag == "div" and slot.classes == {"reply-slot"}
    return slot


def assert_reply_form(form: Element, comment: int) -> None:
    """A form that answers ``comment`` and says whom it answers (Bruno wrote every one here)."""
    assert form.select_one("label[for=reply-body]").text == "Reply to Bruno"
    assert form.select_one("label strong").text == "Bruno"
    reply_to = form.select_one("input[name=reply_to]")
    assert reply_to["type"] == "hidden" and reply_to["value"] == str(comment)


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

    expected = "Please confirm your email address first." if kind == "unconfirmed" else "Your account is locked"
    await assert_turned_away(tab, kind, path, plain, from_page=f"/photo/{photo}", data={"body": "x"}, message=expected)
    if kind not in LOGGED_OUT:
        # The photo page shows no form to them, but says why.
        page = await tab.get(f"/photo/{photo}")
        assert not elements(page.text, '[name="body"]')
        assert (
            "Confirm your email address to comment."
            if kind == "unconfirmed"
            else "Your account cannot comment right now."
        ) in page.text
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
    top = parse(page.text).elements[0]  # the thread, opening with the comment
    assert top.tag == "li" and top.id == f"thread-{comment.id}" and top.classes == {"comment-thread"}
    first = top.elements[0]
    assert first.tag == "article" and first.id == f"comment-{comment.id}" and first.classes == {"comment"}
    assert replies_of(page.text, comment.id) == []
    assert "Lovely light" in page.text
    assert comment_count(page.text, swapped=True) == "2"
    form = by_id(page.text, "comment-form")
    assert form.tag == "div" and form.attrs == {"id": "comment-form", "class": "comment-form", "hx-swap-oob": "true"}
    assert form.parent is not None and form.parent.tag == "#document" and form.is_last()  # it ends the answer
    # A fresh form: empty textarea, no reply banner, no error.
    assert form.select_one("textarea[name=body]").text == ""
    assert "reply-banner" not in form.markup
    reply_to = form.select_one("input[name=reply_to]")
    assert reply_to["type"] == "hidden" and reply_to["value"] == ""


async def test_plain_comment_redirects_to_the_latest_page_at_the_comment(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "no javascript here"})
    assert page.status == 303
    [comment] = await comments_in_db(app)
    assert page.location == f"/photo/{photo}?page=latest#comment-{comment.id}"
    shown = await tabs["ana"].get(page.location.split("#")[0])
    assert comment_ids(shown.text) == [comment.id] and "no javascript here" in shown.text
    assert heading(shown.text) == "1 comment" and comment_count(shown.text) == "1"


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
    assert elements(page.text, '[aria-invalid="true"]')
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
    made = [
        await add_comment(app, photo, ids["bruno" if i % 2 else "ana"], f"comment number {i}", minutes=i)
        for i in range(20)
    ]
    latest_link = f'[href="/photo/{photo}?page=latest#comments"]'

    first = await Tab(app).get(f"/photo/{photo}?page=1")
    assert first.status == 200
    assert comment_ids(first.text) == made[:15]
    assert element(first.text, latest_link).text == "Latest" and element(first.text, latest_link).tag == "a"
    assert heading(first.text) == "20 comments" and comment_count(first.text) == "20"
    assert current_page(first.text) == "1"

    # The photo page opens at the latest page (the newest five), without a "Latest" link.
    last = await Tab(app).get(f"/photo/{photo}")
    assert comment_ids(last.text) == made[15:]
    assert count(last.text, latest_link) == 0 and "Latest" not in texts(last.text, "a")
    assert current_page(last.text) == "2"
    assert count(last.text, f'a[href="/photo/{photo}?page=1#comments"]') >= 1
    assert comment_ids((await Tab(app).get(f"/photo/{photo}?page=latest")).text) == made[15:]

    # The section alone, for htmx.
    fragment = await Tab(app).get(f"/_/photos/{photo}/comments?page=1", htmx=True)
    assert fragment.status == 200 and fragment.root_id() == "comments" and fragment.is_fragment()
    assert comment_ids(fragment.text) == made[:15]
    assert elements(fragment.text, f'[hx-get="/_/photos/{photo}/comments?page=latest"]')
    latest = await Tab(app).get(f"/_/photos/{photo}/comments?page=latest", htmx=True)
    assert comment_ids(latest.text) == made[15:]


# --- replies ------------------------------------------------------------------------------


async def test_a_reply_sits_under_the_comment_it_answers(app, world) -> None:
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?", minutes=1)
    later = await add_comment(app, photo, ids["owner"], "a later comment", minutes=2)
    page = await tabs["ana"].post(
        f"/_/photos/{photo}/comments", {"body": "a 35mm", "reply_to": str(original)}, htmx=True
    )
    assert page.status == 200 and page.is_fragment()
    reply = (await comments_in_db(app))[-1]
    assert reply.reply_to_id == original and reply.body == "a 35mm"
    # The fragment is the reply's line, which the form swaps in at the end of its thread;
    # the reply form goes away and the count updates, out of band.
    assert page.root_id() == f"reply-{reply.id}"
    article = by_id(page.text, f"comment-{reply.id}")
    assert article.tag == "article" and article.classes == {"comment", "comment-reply"}
    closing = by_id(page.text, "reply-form")
    assert (
        closing.tag == "div"
        and closing.attrs == {"id": "reply-form", "hx-swap-oob": "delete"}
        and closing.children == []
    )
    assert comment_count(page.text, swapped=True) == "3"
    assert find_id(page.text, "comment-form") is None  # the main form is left as it was
    # A direct reply needs no "Reply to": it sits under what it answers.
    assert "reply-to" not in page.text
    shown = await Tab(app).get(f"/photo/{photo}")
    assert comment_ids(shown.text) == [original, reply.id, later]
    assert replies_of(shown.text, original) == [reply.id] and replies_of(shown.text, later) == []
    assert find_id(shown.text, f"thread-{reply.id}") is None  # not a thread of its own
    assert heading(shown.text) == "3 comments"


async def test_a_reply_to_a_reply_joins_the_thread_and_names_whom_it_answers(app, world) -> None:
    tabs, ids, photo = world
    original = await add_comment(app, photo, ids["bruno"], "what lens?", minutes=1)
    first = await add_comment(app, photo, ids["ana"], "a 35mm", minutes=2, reply_to=original)
    await add_comment(app, photo, ids["owner"], "another thread", minutes=3)
    page = await tabs["owner"].post(
        f"/_/photos/{photo}/comments", {"body": "which one?", "reply_to": str(first)}, htmx=True
    )
    assert page.status == 200
    answer = (await comments_in_db(app))[-1]
    assert answer.reply_to_id == first
    assert page.root_id() == f"reply-{answer.id}"
    for text in (page.text, (shown := await Tab(app).get(f"/photo/{photo}")).text):
        body = by_id(text, f"comment-{answer.id}").select_one("p.comment-body")
        assert body.select_one("span.reply-to").text == "Reply to Ana:" and body.text == "Reply to Ana: which one?"
    assert replies_of(shown.text, original) == [first, answer.id]
    # The reply form of a reply posts into the same thread.
    form = await tabs["bruno"].get(f"/_/comments/{first}/reply-form", htmx=True)
    assert elements(form.text, f'[hx-target="#replies-{original}"]')


async def test_replies_are_loaded_with_the_page_and_pages_count_threads(app, world) -> None:
    """A page holds 15 threads whole, however many replies they have; the replies of a thread
    on page 1 stay on page 1."""
    tabs, ids, photo = world
    tops = [await add_comment(app, photo, ids["ana"], f"top {i}", minutes=i * 10) for i in range(17)]
    early = [
        await add_comment(app, photo, ids["bruno"], f"re {i}", minutes=200 + i, reply_to=tops[0]) for i in range(3)
    ]
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
    reply_link = element(shown.text, f'a[hx-get="/_/comments/{original}/reply-form"]')
    assert reply_link.text == "Reply" and reply_link.attrs == {
        "href": f"/photo/{photo}?reply={original}#reply-form",
        "hx-get": f"/_/comments/{original}/reply-form",
        "hx-target": f"#reply-slot-{original}",
        "hx-swap": "innerHTML",
    }
    slot = thread(shown.text, original).select_one(f"#reply-slot-{original}")
    assert (
        slot.tag == "div"
        and slot.attrs == {"class": "reply-slot", "id": f"reply-slot-{original}"}
        and slot.children == []
    )
    page = await tabs["ana"].get(f"/_/comments/{original}/reply-form", htmx=True)
    assert page.status == 200 and page.is_fragment()
    # Other open reply forms close first (out of band), then the form goes in the slot.
    tree = parse(page.text)
    closing, form = tree.elements
    assert closing.tag == "div" and closing.attrs == {"hx-swap-oob": "innerHTML:.reply-slot"} and closing.children == []
    assert tree.children[0] is closing or not str(tree.children[0]).strip()  # nothing before it
    assert form.tag == "div" and form.attrs == {"id": "reply-form", "class": "reply-form"}
    assert_reply_form(form, original)
    sends = form.select_one("form")
    assert (sends["hx-post"], sends["hx-target"], sends["hx-swap"]) == (
        f"/_/photos/{photo}/comments",
        f"#replies-{original}",
        "beforeend",
    )
    cancel = form.select_one(f'a[href="/photo/{photo}#comment-{original}"]')
    assert cancel.text == "Cancel" and cancel["hx-swap"] == "delete"
    # The main form is for new comments only.
    plain = await tabs["ana"].get(f"/_/photos/{photo}/comment-form", htmx=True)
    assert (
        plain.root_id() == "comment-form"
        and "Comment" in texts(plain.text, "button")
        and "reply-form" not in plain.text
    )
    # Someone who may not comment is told so instead.
    anonymous = await Tab(app).get(f"/_/comments/{original}/reply-form", htmx=True)
    assert "to reply." in anonymous.text and count(anonymous.text, "textarea") == 0
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
    assert current_page(full.text) == "1"
    assert_reply_form(reply_slot(full.text, original), original)
    posted = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "a 35mm", "reply_to": str(original)})
    reply = (await comments_in_db(app))[-1]
    assert posted.status == 303 and posted.location == f"/photo/{photo}?page=1#comment-{reply.id}"
    landed = await tabs["ana"].get(posted.location.split("#")[0])  # a browser keeps the anchor to itself
    assert replies_of(landed.text, original) == [reply.id] and "Reply published." in landed.text
    # A refused reply comes back in its form, under the comment, with what was typed.
    refused = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "x" * 2001, "reply_to": str(original)})
    assert refused.status == 422
    slot = reply_slot(refused.text, original).select_one("form")
    assert "A comment has at most 2000 characters." in slot.text and "x" * 2001 in slot.text
    # With htmx the same refusal swaps the reply form in place.
    again = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": " ", "reply_to": str(original)}, htmx=True)
    assert again.status == 422 and again.root_id() == "reply-form"
    assert again.headers["HX-Retarget"] == "#reply-form" and "Write something first." in again.text


@pytest.mark.parametrize("htmx", [True, False])
async def test_a_reply_to_a_comment_of_another_photo_is_refused(app, world, htmx: bool) -> None:
    tabs, ids, photo = world
    elsewhere = await add_photo(app, "bruno")
    foreign = await add_comment(app, elsewhere, ids["bruno"], "on another photo")
    page = await tabs["ana"].post(
        f"/_/photos/{photo}/comments", {"body": "sneaky", "reply_to": str(foreign)}, htmx=htmx
    )
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
    page = await tabs["ana"].post(
        f"/_/photos/{photo}/comments", {"body": "sneaky", "reply_to": str(foreign)}, htmx=True
    )
    assert page.status >= 400
    assert [c.id for c in await comments_in_db(app)] == [foreign]
    async with database(app).session(write=False) as session:
        assert list((await session.execute(select(Notification))).scalars()) == []


# --- deleting -----------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "allowed"), [("ana", True), ("owner", True), ("mod", True), ("bruno", False)])
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
    for comment, target in ((root, f"#thread-{root}"), (reply, f"#reply-{reply}")):
        delete = element(shown.text, f'[hx-post="/_/comments/{comment}/delete"]')
        assert delete["hx-target"] == target and delete["hx-swap"] == "outerHTML"
    page = await tabs["ana"].post(f"/_/comments/{root}/delete", htmx=True)
    assert page.status == 200 and page.is_fragment()
    assert comment_count(page.text, swapped=True) == "1"
    # The replies in the thread go out of band too.
    assert sorted(swapped_out(page.text)) == sorted([f"reply-{reply}", f"reply-{nested}"])
    assert find_id(page.text, f"comment-{other}") is None and find_id(page.text, f"comment-{root}") is None
    assert [c.id for c in await comments_in_db(app)] == [other]


async def test_without_javascript_delete_asks_first_and_says_what_goes_with_it(app, world) -> None:
    """The Delete link opens a page that asks (htmx asks with hx-confirm and posts): nothing is
    deleted by the GET, and the page names the replies that would go too."""
    tabs, ids, photo = world
    root = await add_comment(app, photo, ids["ana"], "the harbour at dawn", minutes=1)
    reply = await add_comment(app, photo, ids["bruno"], "lovely", minutes=2, reply_to=root)
    await add_comment(app, photo, ids["owner"], "thanks", minutes=3, reply_to=reply)
    shown = await tabs["ana"].get(f"/photo/{photo}")
    delete = element(shown.text, f'a.link-button[href="/_/comments/{root}/delete"]')
    assert delete["class"] == "link-button" and delete["hx-post"] == f"/_/comments/{root}/delete"

    asked = await tabs["ana"].get(f"/_/comments/{root}/delete")
    assert asked.status == 200 and texts(asked.text, "h1") == ["Delete this comment?"]
    assert "The 2 replies to it go with it." in asked.text and "the harbour at dawn" in asked.text
    assert element(asked.text, f'a[href="/photo/{photo}#comment-{root}"]').text == "Keep it"
    assert len(await comments_in_db(app)) == 3  # asking deleted nothing
    one = await tabs["bruno"].get(f"/_/comments/{reply}/delete")
    assert "The reply to it goes with it." in one.text
    refused = await tabs["bruno"].get(f"/_/comments/{root}/delete")  # not theirs to delete
    assert refused.status == 403

    form = by_id(asked.text, "delete-comment-form")
    assert form.tag == "form" and form.attrs == {
        "id": "delete-comment-form",
        "method": "post",
        "action": f"/_/comments/{root}/delete",
    }
    done = await tabs["ana"].post(form["action"], {"next": f"/photo/{photo}"})
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
    assert swapped_out(page.text) == [f"reply-{nested}"]
    assert comment_count(page.text, swapped=True) == "2"
    assert [c.id for c in await comments_in_db(app)] == [root, later]
    assert replies_of((await Tab(app).get(f"/photo/{photo}")).text, root) == [later]


async def test_deleting_the_only_reply_keeps_its_parent(app, world) -> None:
    tabs, ids, photo = world
    root = await add_comment(app, photo, ids["ana"], "root", minutes=1)
    reply = await add_comment(app, photo, ids["bruno"], "reply", minutes=2, reply_to=root)
    page = await tabs["bruno"].post(f"/_/comments/{reply}/delete", htmx=True)
    assert page.status == 200
    assert 'hx-swap-oob="delete"' not in page.text
    assert comment_count(page.text, swapped=True) == "1"
    assert [c.id for c in await comments_in_db(app)] == [root]


# --- turning comments off -----------------------------------------------------------------


async def test_the_author_turns_comments_off_and_on(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["owner"].get(f"/photo/{photo}")
    assert ">Turn comments off</button>" in page.text
    off = await tabs["owner"].post(f"/_/photos/{photo}/comments/toggle", htmx=True)
    assert off.status == 200 and off.root_id() == "comments" and off.is_fragment()
    assert ">Turn comments on</button>" in off.text
    assert "The author has turned comments off." in off.text and not elements(off.text, '[name="body"]')
    assert (await fetch_photo(app, photo)).can_comment is False

    # Posting while off: 403, saying why; nothing written.
    refused = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "hello?"})
    assert refused.status == 403
    assert "The author has turned comments off for this photo." in refused.text
    refused = await tabs["ana"].post(f"/_/photos/{photo}/comments", {"body": "hello?"}, htmx=True)
    assert refused.status == 403 and "turned comments off" in refused.text
    assert await comments_in_db(app) == []
    shown = await tabs["ana"].get(f"/photo/{photo}")
    assert "The author has turned comments off." in shown.text and not elements(shown.text, '[name="body"]')

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
    page = await tabs["ana"].post(
        f"/_/comments/{comment}/report", {"reason": reason, "note": "  see above  "}, htmx=True
    )
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
    assert find_id(shown.text, f"report-comment-{comment}") is None
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
    posted = await tabs["ana"].post(
        f"/_/photos/{photo}/comments", {"body": "a 35mm", "reply_to": str(original)}, htmx=True
    )
    assert posted.status == 200
    reply = (await comments_in_db(app))[-1].id
    page = await tabs["bruno"].get(f"/photo/{photo}?comment={reply}")
    assert current_page(page.text) == "1" and replies_of(page.text, original) == [reply]
    # The reply notification links there.
    listed = await tabs["bruno"].get("/notifications")
    assert elements(listed.text, f'[href="/photo/{photo}?comment={reply}#comment-{reply}"]')
    # A comment gone since (or of another photo): the latest page.
    assert current_page((await tabs["bruno"].get(f"/photo/{photo}?comment=9999")).text) == "2"
