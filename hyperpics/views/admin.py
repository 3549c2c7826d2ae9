"""The admin area: the dashboard, six tables, and an administrator's profile editor.

Each table is a page whose ``table`` block (sort headers, rows, pager) is also what htmx
swaps when a header, filter or page link asks; the URL says everything about the view, so
links work without JavaScript and the pushed URL reloads the same table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from markupsafe import Markup
from quart import Blueprint, Response, flash, request, url_for
from quart.blueprints import BlueprintSetupState

from ..forms.admin import AdminProfileForm
from ..infra import db
from ..models import Permission, User
from ..services import admin_tables as tables
from ..services import dashboard, moderation
from ..services.refusals import Refused
from ..web import htmx, responses
from ..web.auth import permission_required
from ..web.template_helpers import timeago
from ..web.templating import FragmentCache
from ..web.viewer import require_user
from .admin_tables import TABLES, TableView

bp = Blueprint("admin", __name__, url_prefix="/admin")

USER_ROW_TEMPLATE = "partials/admin_user_row.html"
USER_ACTIONS_SHOWN = ("confirm", "lock", "block")  # what the row's buttons ask moderation.refusal


def user_row_shown(row: Any, viewer: User) -> tuple[Any, ...]:
    """What one row of the users table shows this viewer: its key in the fragment cache.
    Everything the template reads is here (tests/test_templating.py checks it)."""
    user = row.user
    before = user.role_before_lock.name if user.locked and user.role_before_lock is not None else None
    return (
        user.id, user.username, user.name, user.email, user.avatar_medium, user.role.name, user.locked, before,
        user.active, user.confirmed, row.photos, row.reports, user.member_since, timeago(user.member_since),
        viewer.id == user.id, viewer.can(Permission.ADMINISTER),
        *(moderation.refusal(viewer, user, action) is None for action in USER_ACTIONS_SHOWN),
    )  # fmt: skip


def user_row_context(row: Any, viewer: User) -> dict[str, Any]:
    allowed = dict(zip(USER_ACTIONS_SHOWN, user_row_shown(row, viewer)[-len(USER_ACTIONS_SHOWN) :], strict=True))
    return {"row": row, "current_user": viewer, "Permission": Permission, "may": lambda _user, action: allowed[action]}


@bp.record_once
def _user_rows(state: BlueprintSetupState) -> None:
    fragments = FragmentCache(state.app.jinja_env, USER_ROW_TEMPLATE)

    def admin_user_row(row: Any) -> Markup:
        """``admin_user_row(row)`` in templates: one row of the users table, rendered once per look."""
        viewer = require_user()
        return fragments.get(user_row_shown(row, viewer), lambda: user_row_context(row, viewer))

    state.app.jinja_env.globals["admin_user_row"] = admin_user_row


def table_context(name: str, listing: tables.TablePage) -> dict[str, Any]:
    """What a table template needs, for the page and for the fragments that redraw it."""
    viewer = require_user()
    return {
        "table": name,
        "listing": listing,
        "query": TableView(listing.query, TABLES[name]),
        "path": url_for(f"admin.{name}"),
        "may": lambda target, action: moderation.refusal(viewer, target, action) is None,
    }


async def render_table(name: str, args: Any, *, push: bool = False) -> Response:
    table = TABLES[name]
    listing = await table.load(await db.session(), table.parse(args))
    context = table_context(name, listing)
    response = await responses.page(f"admin/{name}.html", block="table", **context)
    if push and htmx.wants_fragment():
        # The address bar gets the tidy URL of what is shown (defaults and empty filters left out).
        htmx.push_url(response, context["query"].url(context["path"]))
    return response


@bp.route("/")
@permission_required(Permission.MODERATE)
async def index() -> Response:
    session = await db.session()
    return await responses.page(
        "admin/index.html", counts=await dashboard.counts(session), activity=await dashboard.daily_activity(session)
    )


def _table_page(name: str) -> Callable[[], Awaitable[Response]]:
    async def view() -> Response:
        return await render_table(name, request.args, push=True)

    view.__name__ = view.__qualname__ = name
    return permission_required(Permission.MODERATE)(view)


# /admin/users, /admin/photos, ...: one page per table, endpoints named after them.
for _name in TABLES:
    bp.add_url_rule(f"/{_name}", view_func=_table_page(_name))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.ADMINISTER, fresh=True)
async def edit_user(user_id: int) -> Response:
    session = await db.session()
    target = await moderation.user_for_moderation(session, user_id)
    form = await AdminProfileForm.from_request(obj=target, role=target.role.name)
    if request.method != "POST":
        form.role.data = target.role.name
        return await responses.page("admin/edit_user.html", form=form, target=target)
    if form.validate():
        edit = moderation.ProfileEdit(
            name=form.name.data or "",
            username=form.username.data or "",
            email=form.email.data or "",
            website=form.website.data or "",
            location=form.location.data or "",
            bio=form.bio.data or "",
            confirmed=bool(form.confirmed.data),
            role=form.role.data,
        )
        try:
            async with session.begin_nested():
                await moderation.edit_profile(session, require_user(), target, edit)
        except Refused as error:
            # The account's own rules name their field; the role's rules speak of the role.
            form.add_error(error.field or "role", error.message)
            # The savepoint's rollback expired the member's attributes: reload them here,
            # where I/O is allowed, not in the template.
            await session.refresh(target)
        else:
            await flash(f"Saved {target.username}'s profile.", "success")
            return await responses.see_other(url_for("admin.users", q=target.username))
    return await responses.page("admin/edit_user.html", 422, block="form", form=form, target=target)
