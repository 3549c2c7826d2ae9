"""The photo page, put together: the photo with what is the viewer's, and its comments
section. The photo's own views (views/photos.py) and the comments' (views/comments.py), which
re-show the page after a refused post without JavaScript, both draw it from here."""

from __future__ import annotations

from typing import Any

from quart import Response, current_app, request, url_for

from ..forms.photos import ReportForm
from ..forms.social import CommentForm
from ..infra import db, numbers
from ..models import Photo
from ..services import collecting, commenting, photos
from ..services.refusals import NotFound
from ..web import page_cache, query_args, responses
from ..web.viewer import current_user


async def render(photo_id: int, *, status: int = 200, comments: dict[str, Any] | None = None) -> Response:
    """The photo page; ``comments`` replaces the comments section's context (a failed post)."""
    viewer = current_user()
    page = await photo_page(photo_id)
    return await responses.page(
        "photos/show.html",
        status,
        page=page,
        photo=page.photo,
        can_edit=photos.can_edit(viewer, page.photo),
        can_delete=photos.can_delete(viewer, page.photo),
        state=collecting.CollectState(photo_id, page.collected, page.collects),
        comments=comments or await comments_context(page.photo, page_argument()),
        report_form=ReportForm(),
        permalink=current_app.config["BASE_URL"].rstrip("/") + url_for("photos.show", photo_id=photo_id),
    )


async def photo_page(photo_id: int) -> photos.PhotoPage:
    """The photo page's data for the viewer (404 if they may not see it). The part that is
    the same for everyone is kept while the tables it comes from are unchanged; the viewer's
    own part (their collect, the neighbours they may see, whether they may see it at all)
    is asked each time."""
    session, name = await db.session(), ("photo shown", photo_id)
    shown, versions = await page_cache.recall(name, photos.PHOTO_SHOWN_TABLES)
    if shown is not None:
        return await photos.photo_page(session, current_user(), photo_id, shown)
    async with db.detached_reads(session) as reader:
        page = await photos.photo_page(reader, current_user(), photo_id)
    page_cache.keep(name, versions, page.shown)
    return page


def page_argument() -> int | None:
    """``?page=N``; missing or "latest" means the last page."""
    value = request.args.get("page", "latest")
    return None if value == "latest" else numbers.whole_number(value, low=1, high=numbers.MAX_PAGE)


async def comments_context(
    photo: Photo,
    page: int | None,
    form: CommentForm | None = None,
    *,
    reply_form: CommentForm | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """What the comments section needs; the photo page includes the same section.

    ``?comment=<id>`` opens the page that shows that comment's thread. ``?reply=<id>`` (or a
    refused reply, ``reply_form``) opens the reply form under that comment, on the page that
    shows its thread unless a page is asked for. A reply id that is not a comment of this
    photo is a 404 when asked for (``strict``), and simply dropped when re-showing a refused
    post.
    """
    session = await db.session()
    reply_id = reply_form.reply_to_id() if reply_form is not None else query_args.row_id("reply")
    reply_to, thread_id = None, None
    if reply_id:
        try:
            reply_to = await commenting.comment_on_photo(session, photo, reply_id)
        except NotFound:
            if strict:
                raise
        else:
            thread_id = await commenting.thread_root(session, reply_to)
            if page is None and request.args.get("page") is None:
                page = await commenting.page_of_thread(session, photo, thread_id)
    elif page is None and request.args.get("page") is None and (shown_id := query_args.row_id("comment")):
        # ?comment=<id> (a notification's link): the page that shows that comment's thread.
        try:
            shown = await commenting.comment_on_photo(session, photo, shown_id)
        except NotFound:
            pass  # deleted since: the latest page
        else:
            page = await commenting.page_of_thread(session, photo, await commenting.thread_root(session, shown))
    listing = await _comments_page(photo, page)
    return {
        "photo": photo, "listing": listing, "form": form or CommentForm(), "reply_to": reply_to,
        "thread_id": thread_id, "reply_form": reply_form or CommentForm(), "report_form": ReportForm(),
    }  # fmt: skip


async def _comments_page(photo: Photo, page: int | None) -> commenting.CommentsPage:
    """A page of threads, kept for everyone while the comments and their authors are unchanged
    (what the viewer may do with each is worked out as it is drawn: comment_item)."""
    return await page_cache.kept_read(
        ("comments", photo.id, page),
        commenting.COMMENTS_TABLES,
        lambda reader: commenting.comments(reader, photo, page),
    )
