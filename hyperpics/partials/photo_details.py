"""The photo details component (description, alt text, tags, visibility), shown in place."""

from __future__ import annotations

from quart import Blueprint, Response

from ..services import photos
from ..web import responses
from ..web.auth import public
from ..web.viewer import current_user, visible_photo

bp = Blueprint("photo_details", __name__, url_prefix="/_/photos")


@bp.route("/<int:photo_id>/details")
@public
async def show(photo_id: int) -> Response:
    viewer = current_user()
    photo = await visible_photo(photo_id)
    return await responses.fragment("partials/photo_details.html", photo=photo, can_edit=photos.can_edit(viewer, photo))
