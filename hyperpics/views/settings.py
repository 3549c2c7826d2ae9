"""Account settings: password, email address, deleting the account."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, flash, redirect, request, url_for

from .. import db, ratelimit, responses, tokens
from ..auth import current_auth_session, end_session, fresh_login_required, login_required, public, require_user
from ..forms.settings import ChangeEmailForm, ChangePasswordForm, DeleteAccountForm
from ..storage import remove_media_files
from ..services import accounts
from ..services.mailer import send_email_change

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/")
@login_required
async def index() -> Response:
    return redirect(url_for("settings.password"))


@bp.route("/password", methods=["GET", "POST"])
@fresh_login_required
async def password() -> Response:
    user = require_user()
    form = await ChangePasswordForm.from_request()
    form.known_username, form.known_email = user.username, user.email
    if request.method == "POST":
        if form.validate():
            session = await db.session()
            try:
                await accounts.change_password(session, user, form.old_password.data, form.password.data)
            except accounts.AccountError as error:
                form.add_error(error.field, error.message)
            else:
                current = current_auth_session()
                await accounts.revoke_sessions(session, user.id, keep_id=current.id if current else None)
                await flash("Your password is changed. Your other devices have been logged out.", "success")
                return await responses.see_other(url_for("settings.password"))
        return await responses.page("settings/password.html", 422, block="form", form=form)
    return await responses.page("settings/password.html", form=form)


@bp.route("/email", methods=["GET", "POST"])
@fresh_login_required
async def email() -> Response:
    user = require_user()
    form = await ChangeEmailForm.from_request()
    if request.method == "POST":
        if form.validate():
            session = await db.session()
            try:
                token = await accounts.start_email_change(session, user, form.email.data)
            except accounts.AccountError as error:
                form.add_error(error.field, error.message)
            else:
                ratelimit.hit(ratelimit.MAIL, f"email|{user.id}")
                new_email = accounts.normalise_email(form.email.data)
                if await send_email_change(user, new_email, token):
                    await flash(
                        f"We sent a link to {new_email}. Your address changes when you open it.", "success"
                    )
                    return await responses.see_other(url_for("settings.email"))
                form.add_error(None, "We could not send the email just now. Please try again in a few minutes.")
                return await responses.page("settings/email.html", 503, block="form", form=form)
        return await responses.page("settings/email.html", 422, block="form", form=form)
    return await responses.page("settings/email.html", form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@public
async def confirm_email(token: str) -> Response:
    """Opened from the mail sent to the new address: GET asks, POST changes it."""
    session = await db.session()
    try:
        user, payload = await accounts.user_for_token(session, token, tokens.Purpose.CHANGE_EMAIL)
    except tokens.TokenError as error:
        return await responses.page("auth/token_invalid.html", 400, message=error.message)
    if request.method == "POST":
        try:
            await accounts.finish_email_change(session, token)
        except tokens.TokenError as error:
            return await responses.page("auth/token_invalid.html", 400, message=error.message)
        await flash(f"Your email address is now {user.email}.", "success")
        return await responses.see_other(url_for("main.index"))
    return await responses.page("settings/confirm_email.html", user=user, new_email=payload.get("email"), token=token)


@bp.route("/account", methods=["GET", "POST"])
@fresh_login_required
async def account() -> Response:
    user = require_user()
    form = await DeleteAccountForm.from_request()
    if request.method == "POST":
        if form.validate():
            session = await db.session()
            try:
                files = await accounts.delete_account(session, user, form.username.data)
            except accounts.AccountError as error:
                form.add_error(error.field, error.message)
            else:
                # The session row went with the user: only the cookie is left to clear.
                await end_session(session, revoke=False)
                # Files go only once the rows are gone for good.
                db.after_commit(lambda: remove_media_files(current_app.config["MEDIA_DIR"], files))
                await flash("Your account and everything in it have been deleted. Goodbye!", "info")
                return await responses.see_other(url_for("main.index"))
        return await responses.page("settings/account.html", 422, block="form", form=form)
    return await responses.page("settings/account.html", form=form)
