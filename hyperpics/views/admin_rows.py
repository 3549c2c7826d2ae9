"""Actions on the admin tables' rows: one row at a time (the row swaps itself and says what
changed) or on the checked rows (the table redraws with a summary).

Destructive actions ask first: htmx buttons carry ``hx-confirm`` and send ``confirmed=1``;
without JavaScript the post lands on a confirmation page whose form sends it. Without
JavaScript every action ends in a 303 back to the table as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from quart import Blueprint, Response, abort, current_app, flash, request, url_for
from werkzeug.datastructures import MultiDict

from ..infra import db, numbers
from ..infra.storage import remove_media_files
from ..models import Permission, RoleName
from ..services import moderation, moderation_queue
from ..services.refusals import Invalid, Refused
from ..web import htmx, responses
from ..web.auth import permission_required, safe_next
from ..web.viewer import require_user
from .admin import render_table, table_context
from .admin_tables import TABLES

bp = Blueprint("admin_rows", __name__, url_prefix="/_/admin")

# Actions that cannot be undone with one click, or take something away: they ask first.
ASKS_FIRST = {"lock", "block", "delete", "resolve", "role"}

BULK_ACTIONS: dict[str, tuple[str, ...]] = {
    "users": moderation.USER_ACTIONS,
    "photos": ("delete",),
    "comments": ("delete",),
    "tags": ("delete",),
    "reports": moderation.REPORT_ACTIONS,
}


async def _form() -> MultiDict[str, str]:
    return await request.form


async def _confirmed() -> bool:
    return (await _form()).get("confirmed") == "1"


async def _ask_first(title: str, detail: str, button: str, fields: list[tuple[str, str]], table: str) -> Response:
    form = await _form()
    return await responses.page(
        "admin/confirm.html",
        title=title,
        detail=detail,
        button=button,
        action=request.path,
        fields=fields,
        next_url=safe_next(form.get("next"), url_for(f"admin.{table}")),
    )


def _remove_after_commit(files: list[str]) -> None:
    if files:
        media_dir = current_app.config["MEDIA_DIR"]
        db.after_commit(lambda: remove_media_files(media_dir, files))


async def _row(table: str, row_key: Any, note: str) -> Response:
    """The redrawn row for htmx; otherwise back to the table with the message."""
    if not htmx.wants_fragment():
        await flash(note, "success")
        return await responses.back(url_for(f"admin.{table}"))
    shown = TABLES[table]
    session = await db.session()
    if table == "reports":
        # Closed now: show it as the closed queue would.
        listing = await moderation_queue.reports(session, shown.parse({"status": "closed"}), only=row_key)
    else:
        listing = await shown.load(session, shown.parse({}), only_ids=[row_key])
    row = listing.rows[0] if listing.rows else None
    context = table_context(table, listing)
    return await responses.fragment("partials/admin_rows.html", row=row, row_key=row_key, note=note, **context)


# --- one row ------------------------------------------------------------------------------


@bp.route("/users/<int:user_id>/<action>", methods=["POST"])
@permission_required(Permission.MODERATE)
async def user_action(user_id: int, action: str) -> Response:
    if action not in moderation.USER_ACTIONS:
        abort(404)
    session = await db.session()
    target = await moderation.user_for_moderation(session, user_id)
    if action in ASKS_FIRST and not await _confirmed():
        reason = moderation.refusal(require_user(), target, action)
        if reason:
            raise Refused(reason)
        what = (
            "They cannot upload or comment until unlocked."
            if action == "lock"
            else ("They are logged out everywhere at once and cannot log in until unblocked.")
        )
        return await _ask_first(f"{action.capitalize()} {target.username}?", what, action.capitalize(), [], "users")
    note = await moderation.moderate_user(session, require_user(), target, action)
    return await _row("users", user_id, note)


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@permission_required(Permission.ADMINISTER, fresh=True)
async def user_role(user_id: int) -> Response:
    role = (await _form()).get("role", "")
    session = await db.session()
    target = await moderation.user_for_moderation(session, user_id)
    if role not in {name.value for name in RoleName}:
        raise Invalid("Choose one of the roles.")
    if not await _confirmed():
        return await _ask_first(
            f"Make {target.username} {role}?",
            f"{target.username} is {target.role.name} now.",
            "Change role",
            [("role", role)],
            "users",
        )
    note = await moderation.set_role(session, require_user(), target, role)
    return await _row("users", user_id, note)


# What deleting a row of each content table says first, and does.
DELETIONS: dict[str, tuple[str, str, Callable[..., Awaitable[tuple[str, list[str]]]]]] = {
    "photos": ("photo", "Its comments and collects go with it. This cannot be undone.", moderation.delete_photo),
    "comments": ("comment", "Replies to it are deleted too. This cannot be undone.", moderation.delete_comment),
    "tags": ("tag", "It is removed from every photo; the photos stay.", moderation.delete_tag),
}


@bp.route("/<any(photos, comments, tags):table>/<int:row_id>/delete", methods=["POST"])
@permission_required(Permission.MODERATE)
async def delete(table: str, row_id: int) -> Response:
    what, consequence, remove = DELETIONS[table]
    if not await _confirmed():
        return await _ask_first(f"Delete {what} {row_id}?", consequence, "Delete", [], table)
    note, files = await remove(await db.session(), require_user(), row_id)
    _remove_after_commit(files)
    return await _row(table, row_id, note)


@bp.route("/reports/<target_type>/<int:target_id>/<action>", methods=["POST"])
@permission_required(Permission.MODERATE)
async def report_action(target_type: str, target_id: int, action: str) -> Response:
    if action not in moderation.REPORT_ACTIONS or target_type not in {"photo", "comment", "user"}:
        abort(404)
    if action in ASKS_FIRST and not await _confirmed():
        outcome = "the member is blocked" if target_type == "user" else f"the {target_type} is deleted"
        return await _ask_first(
            f"Resolve the reports on {target_type} {target_id}?",
            f"Resolving means {outcome}, and every open report on it is closed.",
            "Resolve",
            [],
            "reports",
        )
    note, files = await moderation.settle_reports(await db.session(), require_user(), target_type, target_id, action)
    _remove_after_commit(files)
    return await _row("reports", (target_type, target_id), note)


# --- checked rows -------------------------------------------------------------------------


async def _apply(table: str, action: str, key: str) -> tuple[str, list[str]]:
    """One row of a bulk action; raises Refused when that row is refused."""
    session, actor = await db.session(), require_user()
    if table == "reports":
        target_type, _, raw_id = key.partition("-")
        return await moderation.settle_reports(session, actor, target_type, numbers.row_id(raw_id) or 0, action)
    row_id = numbers.row_id(key) or 0
    if table == "users":
        target = await moderation.user_for_moderation(session, row_id)
        return await moderation.moderate_user(session, actor, target, action), []
    return await DELETIONS[table][2](session, actor, row_id)


def _valid_key(table: str, key: str) -> bool:
    if table == "reports":
        kind, _, raw_id = key.partition("-")
        return kind in {"photo", "comment", "user"} and numbers.row_id(raw_id) is not None
    return numbers.row_id(key) is not None


@bp.route("/<table>/bulk", methods=["POST"])
@permission_required(Permission.MODERATE)
async def bulk(table: str) -> Response:
    if table not in BULK_ACTIONS:
        abort(404)
    form = await _form()
    action = form.get("action", "")
    keys = list(dict.fromkeys(key for key in form.getlist("ids") if _valid_key(table, key)))[:200]
    if action not in BULK_ACTIONS[table]:
        abort(422, description="Choose what to do with the checked rows.")
    if not keys:
        abort(422, description="Check at least one row first.")
    if action in ASKS_FIRST and not await _confirmed():
        return await _ask_first(
            f"{action.capitalize()} {len(keys)} {table if len(keys) != 1 else table.rstrip('s')}?",
            "Each checked row is handled on its own; rows you may not change are skipped and listed.",
            action.capitalize(),
            [("action", action), *(("ids", key) for key in keys)],
            table,
        )
    session = await db.session()
    done, skipped, files = 0, [], []
    for key in keys:
        try:
            async with session.begin_nested():  # a refused row leaves no trace
                _, removed = await _apply(table, action, key)
        except Refused as error:
            skipped.append(f"{key}: {error.message}")
        else:
            done += 1
            files.extend(removed)
    _remove_after_commit(files)
    summary = f"{action.capitalize()}: {done} of {len(keys)} done."
    if skipped:
        summary += " Skipped " + "; ".join(skipped)
    await flash(summary, "warning" if skipped else "success")
    if not htmx.wants_fragment():
        return await responses.back(url_for(f"admin.{table}"))
    # Redraw the table the person is looking at, with its sort, filters and page.
    return await render_table(table, dict(parse_qsl(htmx.current_url()[1])))
