"""Account settings: password, email address, deleting the account."""

from __future__ import annotations

from typing import IO, cast

from quart import Blueprint, Response, current_app, flash, redirect, request, url_for

from ..forms import BaseForm
from ..forms.settings import (
    AvatarForm,
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    NotificationsForm,
    PrivacyForm,
    ProfileForm,
)
from ..infra import cpu, db, image_checks, media, tokens
from ..infra.storage import commit_with_files, remove_media_files
from ..services import accounts
from ..services.refusals import Invalid
from ..web import account_mail, htmx, ratelimit, responses
from ..web.auth import confirmed_required, end_session, fresh_login_required, login_required, public
from ..web.request_limits import large_body, one_picture_limit
from ..web.viewer import current_auth_session, require_user

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/")
@login_required
async def index() -> Response:
    return cast(Response, redirect(url_for("settings.profile")))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
async def profile() -> Response:
    user = require_user()
    form = await ProfileForm.from_request(obj=user)
    if request.method == "POST":
        if form.validate():
            try:
                await accounts.update_profile(
                    await db.session(),
                    user,
                    accounts.ProfileChange(
                        name=form.name.data or "",
                        username=form.username.data or "",
                        website=form.website.data or "",
                        location=form.location.data or "",
                        bio=form.bio.data or "",
                    ),
                )
            except Invalid as error:
                form.add_error(error.field, error.message)
            else:
                await flash("Your profile is updated.", "success")
                return await responses.see_other(url_for("settings.profile"))
        return await responses.page("settings/profile.html", 422, block="form", form=form)
    return await responses.page("settings/profile.html", form=form)


async def _preferences(template: str, form_class: type[BaseForm], message: str) -> Response:
    """Notification opt-outs and privacy: a few switches, saved together."""
    user = require_user()
    form = await form_class.from_request(obj=user)
    if request.method == "POST":
        if form.validate():
            accounts.set_preferences(user, **form.data)
            if htmx.wants_fragment():
                return await responses.page(template, block="form", form=form, saved=True)
            await flash(message, "success")
            return await responses.see_other(request.path)
        return await responses.page(template, 422, block="form", form=form)
    return await responses.page(template, form=form)


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
async def notifications() -> Response:
    return await _preferences("settings/notifications.html", NotificationsForm, "Notification settings saved.")


@bp.route("/privacy", methods=["GET", "POST"])
@login_required
async def privacy() -> Response:
    return await _preferences("settings/privacy.html", PrivacyForm, "Privacy settings saved.")


@bp.route("/theme", methods=["POST"])
@login_required
async def theme() -> Response:
    """The colour scheme switch in the user menu: saved on the account, so every device and
    every later page uses it. htmx gets no body, and an event its page applies at once."""
    chosen = (await request.form).get("theme", "")
    accounts.set_theme(require_user(), chosen)
    if htmx.is_htmx():
        return htmx.trigger(cast(Response, await current_app.make_response(("", 204))), "theme-changed", chosen)
    return await responses.back(url_for("settings.profile"))


@bp.route("/avatar", methods=["GET", "POST"])
@large_body(one_picture_limit)
@confirmed_required
async def avatar() -> Response:
    """Upload a picture; the server crops the chosen square and stores 30/100/200 px."""
    user = require_user()
    form = await AvatarForm.from_request()
    if request.method == "POST":
        upload = (await request.files).get("image")
        if upload is None or not upload.filename:
            form.add_error("image", "Choose a picture.")
        elif form.validate():
            crop = form.crop()
            media_dir = current_app.config["MEDIA_DIR"]
            max_bytes = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
            try:
                stored = await cpu.run(
                    "processing an avatar", _store_avatar, upload.stream, media_dir, crop, upload.filename, max_bytes
                )
            except image_checks.RejectedImage as rejection:
                form.add_error("image", rejection.message)
            else:
                old = await accounts.replace_avatar(await db.session(), user, stored)
                await commit_with_files(db.commit, media_dir, accounts.avatar_paths(stored.files()))
                await remove_media_files(media_dir, old)
                await flash("Your avatar is updated.", "success")
                return await responses.see_other(url_for("settings.avatar"))
        return await responses.page("settings/avatar.html", 422, block="form", form=form)
    return await responses.page("settings/avatar.html", form=form)


def _store_avatar(
    stream: IO[bytes], media_dir: str, crop: tuple[float, float, float] | None, file_name: str | None, max_bytes: int
) -> media.StoredAvatar:
    """In a worker thread: size check, then the Pillow work."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise image_checks.RejectedImage("too-large", f"The picture is larger than {max_bytes // 1_048_576} MB.")
    return media.process_avatar(data, media_dir, crop=crop, file_name=file_name)


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
                await accounts.change_password(session, user, form.old_password.data or "", form.password.data or "")
            except Invalid as error:
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
            await ratelimit.hit(ratelimit.MAIL, f"email|{user.id}")
            try:
                new_email = await accounts.start_email_change(session, user, form.email.data or "")
            except accounts.EmailTaken as taken:
                # The same answer as for a free address: whose an address is stays unsaid.
                account_mail.address_in_use_later(taken.email)
                return await _link_sent(taken.email)
            except Invalid as error:
                form.add_error(error.field, error.message)
            else:
                account_mail.email_change_later(user.id, new_email)
                return await _link_sent(new_email)
        return await responses.page("settings/email.html", 422, block="form", form=form)
    return await responses.page("settings/email.html", form=form)


async def _link_sent(address: str) -> Response:
    await flash(f"We sent a link to {address}. Your address changes when you open it.", "success")
    return await responses.see_other(url_for("settings.email"))


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
        old_email = user.email
        try:
            await accounts.finish_email_change(session, token, admin_email=current_app.config["ADMIN_EMAIL"])
        except tokens.TokenError as error:
            return await responses.page("auth/token_invalid.html", 400, message=error.message)
        await db.commit()  # the notice says it is done: it must be
        current_app.add_background_task(account_mail.send_email_changed_notice, user, old_email)
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
                files = await accounts.delete_account(session, user, form.username.data or "")
            except Invalid as error:
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
