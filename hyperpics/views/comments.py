"""Comments on a photo: the list (paginated), adding, replying, deleting, reporting, and
turning comments off. Each answer is a fragment for htmx and a 303 for a plain form post."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from markupsafe import Markup
from quart import Blueprint, Response, abort, current_app, flash, g, request, stream_with_context, url_for
from quart.blueprints import BlueprintSetupState

from ..forms.photos import ReportForm
from ..forms.social import CommentForm
from ..infra import db
from ..infra.broadcast import hub, removed_ids
from ..infra.db import database
from ..models import Comment, Permission, Photo, ReportTarget, User
from ..services import commenting, photos
from ..services.refusals import Invalid, NotFound
from ..web import htmx, query_args, responses
from ..web.auth import login_required, permission_required, public
from ..web.event_streams import RETRY_MILLISECONDS, event_stream, shutdown_event, sse, wakes
from ..web.report_form import file_report
from ..web.template_helpers import timeago
from ..web.templating import FragmentCache, render_template
from ..web.viewer import current_user, require_user, visible_photo
from . import photo_page

bp = Blueprint("comments", __name__, url_prefix="/_")

COMMENT_TEMPLATE = "partials/comment.html"
THREAD_TEMPLATE = "partials/comment_thread.html"


def comment_shown(comment: Comment, photo: Photo, viewer: User | None) -> tuple[Any, ...]:
    """What one comment shows this viewer: its key in the fragment cache. Everything the
    template reads is here (tests/test_templating.py checks it)."""
    author, reply_to = comment.author, comment.reply_to
    mine = viewer is not None and viewer.id == comment.author_id
    can_reply = viewer is not None and not mine and photo.can_comment and viewer.can(Permission.COMMENT)
    return (
        comment.id, comment.body, comment.created_at, timeago(comment.created_at),
        author.id, author.username, author.name, author.avatar_medium, reply_to is not None,
        reply_to.author.name if reply_to is not None else None,
        reply_to is not None and reply_to.reply_to_id is not None,
        photo.id, comment.author_id == photo.author_id,
        can_reply, commenting.can_delete_comment(viewer, comment, photo), viewer is not None and not mine,
    )  # fmt: skip


@bp.record_once
def _comment_items(state: BlueprintSetupState) -> None:
    fragments = FragmentCache(state.app.jinja_env, COMMENT_TEMPLATE)

    def comment_item(comment: Comment, photo: Photo) -> Markup:
        """``comment_item(comment, photo)`` in templates: one comment, rendered once per look."""
        key = comment_shown(comment, photo, current_user())
        can_reply, can_delete, can_report = key[-3:]
        return fragments.get(
            key,
            lambda: {
                "comment": comment, "photo": photo, "can_reply": can_reply, "can_delete": can_delete,
                "can_report": can_report, "report_form": ReportForm(),
            },
        )  # fmt: skip

    threads = FragmentCache(state.app.jinja_env, THREAD_TEMPLATE)

    def comment_thread(thread: commenting.CommentThread, photo: Photo) -> Markup:
        """``comment_thread(thread, photo)`` in templates: a whole thread with no reply form
        open, kept by what each of its comments shows this viewer."""
        viewer = current_user()
        key = tuple(comment_shown(comment, photo, viewer) for comment in (thread.comment, *thread.replies))
        return threads.get(key, lambda: {"thread": thread, "photo": photo, "reply_to": None})

    state.app.jinja_env.globals["comment_item"] = comment_item
    state.app.jinja_env.globals["comment_thread"] = comment_thread


async def _comment(photo: Photo, comment_id: int) -> Comment:
    return await commenting.comment_on_photo(await db.session(), photo, comment_id)


async def _comment_and_photo(comment_id: int) -> tuple[Photo, Comment]:
    """A comment by id, with its photo, if the viewer may see that photo (else 404)."""
    photo_id = await commenting.photo_id_of_comment(await db.session(), comment_id)
    if photo_id is None:
        abort(404, description="This comment does not exist.")
    photo = await visible_photo(photo_id, with_tags=False)
    return photo, await _comment(photo, comment_id)


@bp.route("/photos/<int:photo_id>/comments")
@public
async def listing(photo_id: int) -> Response:
    photo = await visible_photo(photo_id, with_tags=False)
    return await responses.fragment(
        "partials/comments.html", **await photo_page.comments_context(photo, photo_page.page_argument())
    )


@bp.route("/photos/<int:photo_id>/comment-form")
@public
async def form(photo_id: int) -> Response:
    """The form for a new top-level comment."""
    photo = await visible_photo(photo_id, with_tags=False)
    return await responses.fragment("partials/comment_form.html", photo=photo, form=CommentForm())


@bp.route("/comments/<int:comment_id>/reply-form")
@public
async def reply_form(comment_id: int) -> Response:
    """The form answering one comment, for the slot under it. It closes any other reply form
    left open (out of band), so only one is on the page."""
    photo, comment = await _comment_and_photo(comment_id)
    thread_id = await commenting.thread_root(await db.session(), comment)
    return await responses.fragment(
        "partials/reply_form_opened.html", photo=photo, reply_to=comment, thread_id=thread_id, form=CommentForm()
    )


@bp.route("/photos/<int:photo_id>/comments", methods=["POST"])
@permission_required(Permission.COMMENT)
async def add(photo_id: int) -> Response:
    """A new comment, or a reply when the form names ``reply_to``."""
    photo = await visible_photo(photo_id, with_tags=False)
    user = require_user()
    form = await CommentForm.from_request()
    replying = form.reply_to_id() is not None
    if form.validate():
        try:
            comment = await commenting.add_comment(
                await db.session(), user, photo, form.body.data or "", form.reply_to_id()
            )
        except Invalid as error:
            form.add_error(error.field, error.message)
        else:
            await db.end_writes()  # the answer only reads: other writers need not wait for it
            session = await db.session()
            comment = await _comment(photo, comment.id)  # with its author and reply loaded
            thread_id = await commenting.thread_root(session, comment)
            if htmx.wants_fragment():
                listing = {"total": await commenting.comment_count(session, photo.id)}
                return await responses.fragment(
                    "partials/comment_added.html", photo=photo, comment=comment, thread_id=thread_id, listing=listing,
                    form=CommentForm(), report_form=ReportForm(),
                )  # fmt: skip
            await flash("Reply published." if replying else "Comment published.", "success")
            page = "latest" if thread_id == comment.id else await commenting.page_of_thread(session, photo, thread_id)
            return await responses.see_other(
                url_for("photos.show", photo_id=photo.id, page=page, _anchor=f"comment-{comment.id}")
            )
    if replying:
        context = await photo_page.comments_context(photo, None, reply_form=form)
        if context["reply_to"] is None:  # what it answered is gone: say so at the main form
            form.reply_to.data = ""
            context.update(form=form, reply_form=CommentForm())
            replying = False
    else:
        context = await photo_page.comments_context(photo, None, form)
    if htmx.wants_fragment():
        if replying:
            response = await responses.fragment("partials/reply_form.html", 422, **{**context, "form": form})
            return htmx.retarget(response, "#reply-form", "outerHTML")
        response = await responses.fragment("partials/comment_form.html", 422, **context)
        return htmx.retarget(response, "#comment-form", "outerHTML")
    return await photo_page.render(photo.id, status=422, comments=context)


@bp.route("/comments/<int:comment_id>/delete", methods=["GET", "POST"])
@login_required
async def delete(comment_id: int) -> Response:
    """GET asks first (the path without JavaScript; htmx asks with hx-confirm); POST deletes."""
    session = await db.session()
    photo, comment = await _comment_and_photo(comment_id)
    if request.method != "POST":
        await commenting.check_may_delete_comment(session, require_user(), photo, comment)
        replies = await commenting.replies_count(session, comment)
        return await responses.page("photos/delete_comment.html", photo=photo, comment=comment, replies=replies)
    removed = await commenting.delete_comment(session, require_user(), photo, comment)
    if htmx.wants_fragment():
        reply_ids = [identifier for identifier in removed if identifier != comment_id]
        total = await commenting.comment_count(session, photo.id)
        return await responses.fragment("partials/comment_deleted.html", replies=reply_ids, total=total)
    await flash("Comment deleted.", "success")
    return await responses.back(url_for("photos.show", photo_id=photo.id))


@bp.route("/photos/<int:photo_id>/comments/toggle", methods=["POST"])
@login_required
async def toggle(photo_id: int) -> Response:
    photo = await visible_photo(photo_id, with_tags=False)
    await commenting.set_comments_enabled(await db.session(), require_user(), photo, not photo.can_comment)
    if htmx.wants_fragment():
        return await responses.fragment(
            "partials/comments.html", **await photo_page.comments_context(photo, photo_page.page_argument())
        )
    await flash("Comments are on." if photo.can_comment else "Comments are off.", "success")
    return await responses.back(url_for("photos.show", photo_id=photo.id))


@bp.route("/comments/<int:comment_id>/report", methods=["POST"])
@permission_required(Permission.REPORT)
async def report(comment_id: int) -> Response:
    photo, comment = await _comment_and_photo(comment_id)
    form = await ReportForm.from_request()
    refused = await file_report(form, require_user(), ReportTarget.COMMENT, comment.id, comment.author_id)
    if refused is None:
        if htmx.wants_fragment():
            return await responses.fragment(
                "partials/report_done.html", form_id=f"report-comment-{comment.id}", what="comment"
            )
        await flash("Thanks: a moderator will look at this comment.", "success")
        return await responses.back(url_for("photos.show", photo_id=photo.id))
    if htmx.wants_fragment():
        return await responses.fragment(
            "partials/report_form.html",
            refused,
            form=form,
            form_id=f"report-comment-{comment.id}",
            action=url_for("comments.report", comment_id=comment.id),
        )
    await flash(" ".join(form.form_errors) or "Choose a reason for the report.", "danger")
    return await responses.back(url_for("photos.show", photo_id=photo.id))


# --- the open page's live list ---------------------------------------------------------------


@bp.route("/photos/<int:photo_id>/comments/stream")
@public
async def stream(photo_id: int) -> Response:
    """Server-sent events for an open photo page: each comment someone else adds arrives
    rendered for this viewer (their buttons, their token) and swaps itself, out of band, into
    its thread (a top-level one only on the latest page, ``?latest=1``); deleted threads and
    replies go. Event ids are comment ids: a reconnect (``Last-Event-ID``) reads what it
    missed. The photo is checked at every wake-up: a viewer who can no longer see it is sent
    nothing more. Ends on shutdown and after ``STREAM_LIFETIME`` (the browser reconnects)."""
    photo = await visible_photo(photo_id, with_tags=False)
    viewer = current_user()
    latest = request.args.get("latest") == "1"
    app = current_app._get_current_object()
    database_ = database(app)
    asked = query_args.last_event_id()
    if asked is None:
        asked = await commenting.newest_comment_id(await db.session(), photo.id)
    last = asked  # an int from here on (the stream below moves it along)
    stopping = shutdown_event(app)

    async def news(after: int, removed: list[int]) -> tuple[list[str] | None, int]:
        async with database_.session(write=False) as session:
            try:
                seen = await photos.get_visible(session, viewer, photo_id, with_tags=False)
            except NotFound:
                return None, after
            rows = await commenting.comments_since(session, seen, after)
            total = await commenting.comment_count(session, photo_id) if rows or removed else 0
        # The generator runs with a copy of the request context whose `g` starts empty: put
        # the viewer back, so that comment_item draws this viewer's buttons.
        g.user = viewer
        events = []
        for comment, thread_id in rows:
            after = comment.id
            if viewer is not None and comment.author_id == viewer.id:
                continue  # the author's own page put it in already
            fragment = await render_template(
                "partials/comment_live.html", photo=seen, comment=comment, thread_id=thread_id, total=total,
                insert=latest or thread_id != comment.id, report_form=ReportForm(),
            )  # fmt: skip
            events.append(sse(fragment, event="comment", event_id=comment.id))
        if removed:
            fragment = await render_template("partials/comment_deleted.html", replies=[], gone=removed, total=total)
            events.append(sse(fragment, event="comment"))
        return events, after

    @stream_with_context
    async def events() -> AsyncIterator[str]:
        nonlocal last
        async with hub(app).subscribe_photo(photo_id) as wakeups:
            yield f"retry: {RETRY_MILLISECONDS}\nid: {last}\n\n"
            async with contextlib.aclosing(wakes(wakeups, stopping)) as beats:
                async for reason in beats:
                    if reason is None:
                        yield ": ping\n\n"
                        continue
                    batch, last = await news(last, removed_ids(reason))
                    if batch is None:
                        return  # out of the viewer's sight now
                    for event in batch:
                        yield event

    return event_stream(events())


stream.streams = True  # type: ignore[attr-defined]  # the policy test must not wait for it to end
