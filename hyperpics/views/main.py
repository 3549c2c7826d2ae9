"""The home page."""

from __future__ import annotations

from quart import Blueprint, Response

from .. import responses
from ..auth import public

bp = Blueprint("main", __name__)


@bp.route("/")
@public
async def index() -> Response:
    return await responses.page("main/index.html")
