"""One photo of an upload: upload.js sends each file of a batch here on its own, and puts the
row it gets back (the photo with its details form, or why it was refused) in the results list.

One request per file rather than one for the batch: each file has its own progress, its own
status and message (413, 415, 422) and can be retried alone; a few go at once; no body is
larger than one photo. The answer is the same row the multi-file form lists
(templates/partials/upload_row.html); without htmx's header it is the whole upload page.
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app, request, url_for

from ..forms.photos import PhotoDetailsForm, UploadDetailsForm
from ..infra import db
from ..infra.storage import commit_with_files
from ..models import Permission
from ..services import uploads
from ..web import htmx, query_args, ratelimit, responses
from ..web.auth import permission_required
from ..web.request_limits import large_body, one_picture_limit
from ..web.viewer import require_user
from .photos import checked_details, first_error, row_forms, upload_context

bp = Blueprint("upload_row", __name__)

NO_FILE = "Choose a photo to upload."
ONE_FILE = "Send one photo at a time here."


@bp.route("/_/upload", methods=["POST"])
@large_body(one_picture_limit)
@permission_required(Permission.UPLOAD)
async def upload() -> Response:
    user = require_user()
    number = query_args.page("n")  # the row's place in the page's list
    form = await UploadDetailsForm.from_request()
    sent = [item for item in (await request.files).getlist("photos") if item.filename or item.content_length]
    name = (sent[0].filename or "") if sent else ""
    if len(sent) != 1:
        return await _refused(
            form, number, name, "no-file" if not sent else "several-files", NO_FILE if not sent else ONE_FILE
        )
    # The shared fields are checked before the image is decoded: a mistake there costs nothing.
    details = checked_details(form)
    if details is None:
        return await _refused(form, number, name, "details", first_error(form))
    await ratelimit.check_uploads(user.id, 1)
    config = current_app.config
    media_dir = config["MEDIA_DIR"]
    result = await uploads.save_uploads(
        await db.session(),
        user,
        [uploads.Upload(name, sent[0].stream)],
        media_dir=media_dir,
        max_bytes=config["MAX_UPLOAD_MB"] * 1024 * 1024,
        max_files=1,
        details=details,
    )
    [item] = result.files
    if not item.accepted:
        return await _answer(form, result, number, uploads.refusal_status(item.reason))
    await commit_with_files(db.commit, media_dir, result.written_files())
    await ratelimit.add(ratelimit.UPLOADS, str(user.id), 1)
    return await _answer(form, result, number, 201)


async def _refused(form: UploadDetailsForm, number: int, name: str, reason: str, message: str) -> Response:
    result = uploads.UploadResult(files=[uploads.FileResult(name or "Your file", reason=reason, message=message)])
    return await _answer(form, result, number, 422)


async def _answer(form: UploadDetailsForm, result: uploads.UploadResult, number: int, status: int) -> Response:
    forms = row_forms(result)
    if htmx.wants_fragment():
        [item] = result.files
        row_form: PhotoDetailsForm | None = forms[item.photo.id] if item.photo else None
        response = await responses.fragment(
            "partials/upload_row.html", status, item=item, number=number, row_form=row_form
        )
    else:  # a plain post: the upload page, with this one row in its results
        response = await responses.page(
            "photos/upload.html", status, result=result, forms=forms, **upload_context(form)
        )
    if status == 201 and result.files[0].photo is not None:
        response.headers["Location"] = url_for("photos.show", photo_id=result.files[0].photo.id)
    return response
