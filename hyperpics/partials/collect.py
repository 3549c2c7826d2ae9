"""The collect button: collects or uncollects a photo, then swaps itself with the new count."""

from __future__ import annotations

from quart import Blueprint, Response, flash, url_for

from ..infra import db
from ..models import Permission, Photo
from ..services import collecting
from ..web import htmx, responses
from ..web.auth import login_required, permission_required
from ..web.viewer import current_user, require_user, visible_photo

bp = Blueprint("collect", __name__, url_prefix="/_/photos")


async def _answer(photo: Photo, message: str) -> Response:
    await db.end_writes()  # the answer only reads: other writers need not wait for it
    if htmx.wants_fragment():
        state = await collecting.collect_state(await db.session(), current_user(), photo.id)
        return await responses.fragment("partials/collect_button.html", state=state)
    await flash(message, "success")
    return await responses.back(url_for("photos.show", photo_id=photo.id))


@bp.route("/<int:photo_id>/collect", methods=["POST"])
@permission_required(Permission.COLLECT)
async def collect(photo_id: int) -> Response:
    photo = await visible_photo(photo_id, with_tags=False)
    await collecting.collect(await db.session(), require_user(), photo)
    return await _answer(photo, "Photo collected.")


@bp.route("/<int:photo_id>/uncollect", methods=["POST"])
@login_required
async def uncollect(photo_id: int) -> Response:
    photo = await visible_photo(photo_id, with_tags=False)
    await collecting.uncollect(await db.session(), require_user(), photo)
    return await _answer(photo, "Photo removed from your collection.")
