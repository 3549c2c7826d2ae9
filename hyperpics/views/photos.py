"""Photo pages: upload, the photo page, editing, deleting, reporting, and the image files."""

from __future__ import annotations

import mimetypes
from typing import Any, cast

from quart import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    request,
    send_file,
    url_for,
)

from ..forms.photos import PhotoDetailsForm, ReportForm, UploadDetailsForm
from ..infra import db, image_checks, media
from ..infra.storage import commit_with_files, media_path, remove_media_files
from ..models import Permission, ReportTarget, Visibility
from ..services import authoring, authority, collecting, photos, uploads
from ..services.refusals import Invalid
from ..web import htmx, query_args, ratelimit, responses
from ..web.auth import login_required, permission_required, public
from ..web.page_cache import shared_for_anonymous
from ..web.report_form import file_report
from ..web.request_limits import large_body, photos_upload_limit
from ..web.viewer import current_user, require_user, visible_photo
from . import photo_page

bp = Blueprint("photos", __name__)


def _limits() -> dict[str, int]:
    config = current_app.config
    return {"max_mb": config["MAX_UPLOAD_MB"], "max_files": config["MAX_UPLOAD_FILES"]}


def upload_context(details: UploadDetailsForm) -> dict[str, Any]:
    """What the upload page shows around its results (the one-file endpoint renders it too)."""
    return {
        "limits": _limits(),
        "accept": image_checks.ACCEPT_ATTRIBUTE,
        "formats": image_checks.FORMAT_NAMES,
        "details": details,
    }


def checked_details(form: UploadDetailsForm) -> authoring.NewDetails | None:
    """The upload form's shared fields, or None with the form's errors set."""
    if not form.validate():
        return None
    try:
        return authoring.new_details(
            description=form.description.data or "", tags=form.tags.data or "", visibility=form.visibility.data
        )
    except Invalid as error:
        form.add_error(error.field, error.message)
        return None


def first_error(form: UploadDetailsForm) -> str:
    messages = cast(dict[str, list[str]], form.errors)  # plain fields: a list of messages each
    return next((errors[0] for errors in messages.values() if errors), "")


def row_forms(result: uploads.UploadResult) -> dict[int, PhotoDetailsForm]:
    """Each accepted photo's details form, filled with what it carries."""
    return {
        item.photo.id: PhotoDetailsForm(data=PhotoDetailsForm.current(item.photo))
        for item in result.accepted
        if item.photo
    }


@bp.route("/upload", methods=["GET", "POST"])
@large_body(photos_upload_limit)
@permission_required(Permission.UPLOAD)
async def upload() -> Response:
    user = require_user()
    form = await UploadDetailsForm.from_request()
    context = upload_context(form)
    if request.method != "POST":
        return await responses.page("photos/upload.html", **context)
    files = (await request.files).getlist("photos")
    chosen = [
        uploads.Upload(item.filename or "", item.stream) for item in files if item.filename or item.content_length
    ]
    if not chosen:
        return await responses.page(
            "photos/upload.html", 422, block="results", error="Choose at least one photo to upload.", **context
        )
    # The fields for every photo are checked first: a mistake there costs no decoding.
    details = checked_details(form)
    if details is None:
        return await responses.page("photos/upload.html", 422, block="results", error=first_error(form), **context)
    await ratelimit.check_uploads(user.id, min(len(chosen), current_app.config["MAX_UPLOAD_FILES"]))
    session = await db.session()
    media_dir = current_app.config["MEDIA_DIR"]
    result = await uploads.save_uploads(
        session,
        user,
        chosen,
        media_dir=media_dir,
        max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
        max_files=current_app.config["MAX_UPLOAD_FILES"],
        details=details,
    )
    # The rows, then their files under their final names: none is served before its row exists.
    await commit_with_files(db.commit, media_dir, result.written_files())
    await ratelimit.add(ratelimit.UPLOADS, str(user.id), len(result.accepted))
    status = 200 if result.accepted else 422
    return await responses.page(
        "photos/upload.html", status, block="results", result=result, forms=row_forms(result), **context
    )


@bp.route("/photo/<int:photo_id>")
@public
@shared_for_anonymous
async def show(photo_id: int) -> Response:
    return await photo_page.render(photo_id)


@bp.route("/photo/<int:photo_id>/view")
@public
@shared_for_anonymous
async def viewer(photo_id: int) -> Response:
    """The photo alone, full screen, with the author's newer and older ones a key away."""
    page = await photo_page.photo_page(photo_id)
    return await responses.page("photos/viewer.html", photo=page.photo, page=page)


@bp.route("/photo/<int:photo_id>/collectors")
@public
@shared_for_anonymous
async def collectors(photo_id: int) -> Response:
    photo = await visible_photo(photo_id)
    people = await collecting.collectors(await db.session(), current_user(), photo, query_args.page())
    return await responses.page("photos/collectors.html", block="people", photo=photo, people=people)


@bp.route("/photo/<int:photo_id>/edit", methods=["GET", "POST"])
@login_required
async def edit(photo_id: int) -> Response:
    """Description, alt text, tags and visibility. htmx swaps the details block in place."""
    photo = await visible_photo(photo_id)
    user = require_user()
    if not photos.can_edit(user, photo):
        abort(403, description=photos.EDIT_REFUSAL)
    form = await PhotoDetailsForm.from_request(data=PhotoDetailsForm.current(photo))
    if request.method != "POST":
        if htmx.wants_fragment():
            return await responses.fragment(
                "partials/photo_details.html", photo=photo, form=form, editing=True, can_edit=True
            )
        return await responses.page("photos/edit.html", photo=photo, form=form)
    row = request.args.get("row") == "1"  # the compact form on the upload results
    if form.validate():
        try:
            await authoring.update_details(
                await db.session(),
                user,
                photo,
                description=form.description.data or "",
                alt_text=form.alt_text.data or "",
                tags=form.tags.data or "",
                visibility=form.visibility.data or None,
            )
        except Invalid as error:
            form.add_error(error.field, error.message)
        else:
            if htmx.wants_fragment() and row:
                return await responses.fragment("partials/upload_row_form.html", photo=photo, form=form, saved=True)
            await flash("Photo details saved.", "success")
            if htmx.wants_fragment():  # in place on the photo page; the message comes out of band
                return await responses.fragment("partials/photo_details.html", photo=photo, can_edit=True)
            return await responses.see_other(url_for("photos.show", photo_id=photo.id))
    if htmx.wants_fragment():
        template = "partials/upload_row_form.html" if row else "partials/photo_details.html"
        return await responses.fragment(template, 422, photo=photo, form=form, editing=True, can_edit=True)
    return await responses.page("photos/edit.html", 422, photo=photo, form=form)


@bp.route("/photo/<int:photo_id>/delete", methods=["GET", "POST"])
@login_required
async def delete(photo_id: int) -> Response:
    """GET asks for confirmation (the no-JavaScript path); POST deletes."""
    photo = await visible_photo(photo_id)
    user = require_user()
    session = await db.session()
    if refused := await authority.refusal(session, user, photo.author_id):
        abort(403, description=refused)
    if request.method != "POST":
        return await responses.page("photos/delete.html", photo=photo, moderating=user.id != photo.author_id)
    reason = (await request.form).get("reason", "").strip()
    if user.id != photo.author_id and not reason:
        return await responses.page(
            "photos/delete.html",
            422,
            photo=photo,
            moderating=True,
            error="Say why: the reason goes in the moderation log.",
        )
    files = await authoring.delete_photo(session, user, photo, reason=reason)
    media_dir = current_app.config["MEDIA_DIR"]
    db.after_commit(lambda: remove_media_files(media_dir, files))
    await flash("Photo deleted.", "success")
    target = (
        url_for("users.show", username=photo.author.username) if "users.show" in current_app.view_functions else "/"
    )
    return await responses.see_other(target)


@bp.route("/photo/<int:photo_id>/report", methods=["GET", "POST"])
@permission_required(Permission.REPORT)
async def report(photo_id: int) -> Response:
    photo = await visible_photo(photo_id)
    user = require_user()
    form = await ReportForm.from_request()
    if request.method == "POST":
        refused = await file_report(form, user, ReportTarget.PHOTO, photo.id, photo.author_id)
        if refused is None:
            if htmx.wants_fragment():
                return await responses.fragment("partials/report_done.html", photo=photo)
            await flash("Thanks: a moderator will look at this photo.", "success")
            return await responses.see_other(url_for("photos.show", photo_id=photo.id))
        if htmx.wants_fragment():
            return await responses.fragment("partials/report_form.html", refused, photo=photo, form=form)
        return await responses.page("photos/report.html", refused, photo=photo, form=form)
    return await responses.page("photos/report.html", photo=photo, form=form)


@bp.route("/media/photos/<filename>")
@public
async def photo_file(filename: str) -> Response:
    """A photo's file, served only to those who may see the photo."""
    if not media.is_stored_name(filename):
        abort(404)
    session = await db.session()
    # Only a file the row names: a copy a row made before it existed (media backfill) is not served.
    photo = await authoring.photo_by_file(session, filename)
    if photo is None:
        abort(404)
    await visible_photo(photo.id)
    # The URL names the visibility it was made for (photo_src): once that changes, the pages
    # link another URL, and this one stops answering, whatever a cache kept of it.
    named = request.args.get("v")
    if named is not None and named != photo.visibility.value:
        abort(404)
    forever = named == Visibility.PUBLIC.value == photo.visibility.value
    return await _send(media.PHOTOS_DIR, filename, public=forever)


@bp.route("/media/avatars/<filename>")
@public
async def avatar_file(filename: str) -> Response:
    return await _send(media.AVATARS_DIR, filename, public=True)


async def _send(folder: str, filename: str, *, public: bool) -> Response:
    if not (media.is_stored_name(filename) and media.is_published_name(filename)):
        abort(404)  # not a name we give, or a file whose rows may not be committed yet
    try:
        path = media_path(current_app.config["MEDIA_DIR"], f"{folder}/{filename}")
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    accel = current_app.config["MEDIA_ACCEL_REDIRECT"]
    if accel:
        # The proxy sends the file (and answers conditional and range requests); it keeps
        # this answer's Content-Type and Cache-Control.
        response = current_app.response_class(b"", mimetype=mimetypes.guess_type(filename)[0])
        response.headers["X-Accel-Redirect"] = f"{accel}{folder}/{filename}"
    else:
        # Streamed from disk in chunks (aiofiles); 304 and 206 answered from the file's ETag.
        response = await send_file(path, conditional=True)
    # File names are random and never reused, so the content behind a URL never changes.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if public else "private, max-age=3600"
    return responses.without_body_for_head(response)
