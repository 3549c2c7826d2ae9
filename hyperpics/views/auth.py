"""Account pages: register, confirm, log in and out, reset a forgotten password, re-authenticate."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, flash, request, url_for

from ..forms.auth import ForgotPasswordForm, LoginForm, ReauthenticateForm, RegisterForm, ResetPasswordForm
from ..infra import db, tokens
from ..infra.storage import commit_with_files
from ..services import accounts
from ..services.refusals import Invalid
from ..web import account_mail, htmx, ratelimit, responses
from ..web.auth import (
    anonymous_only,
    end_session,
    is_fresh,
    login_required,
    mark_fresh,
    public,
    safe_next,
    start_session,
)
from ..web.viewer import current_user, require_user

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Fields the register form checks while the person types.
INLINE_FIELDS = ("name", "email", "username", "password", "password2")


@bp.route("/register", methods=["GET", "POST"])
@anonymous_only
async def register() -> Response:
    form = await RegisterForm.from_request()
    if request.method == "POST":
        await ratelimit.hit(ratelimit.REGISTER)
        if form.validate():
            session = await db.session()
            email = accounts.normalise_email(form.email.data or "")
            try:
                user = await accounts.register(
                    session,
                    accounts.Registration(
                        name=form.name.data or "",
                        email=form.email.data or "",
                        username=form.username.data or "",
                        password=form.password.data or "",
                    ),
                    media_dir=current_app.config["MEDIA_DIR"],
                )
            except accounts.EmailTaken:
                account_mail.already_registered_later(email)  # the address's owner is told, nobody else
                return await _check_your_mail(email)
            except Invalid as error:
                form.add_error(error.field, error.message)
            else:
                # The account must exist before the link that confirms it goes out.
                await commit_with_files(
                    db.commit, current_app.config["MEDIA_DIR"], accounts.avatar_paths(user.avatar_files())
                )
                account_mail.confirmation_later(user.id)
                return await _check_your_mail(email)
        return await responses.page("auth/register.html", 422, block="form", form=form)
    return await responses.page("auth/register.html", form=form)


async def _check_your_mail(email: str) -> Response:
    """What every sign-up answers, whether or not the address already had an account."""
    await flash(
        f"Check your mail: we sent a message to {email}. Open the link in it to confirm your address, then log in.",
        "success",
    )
    return await responses.see_other(url_for("auth.login"))


@bp.route("/register/check", methods=["POST"])
@anonymous_only
async def check_registration() -> Response:
    """Inline validation: the message for the one field that changed (empty when fine)."""
    await ratelimit.hit(ratelimit.CHECK)
    field_name = htmx.triggering_field()
    if field_name not in INLINE_FIELDS:
        abort(400, description="Unknown field.")
    form = await RegisterForm.from_request()
    form.validate()
    message = form.error_for(field_name)
    if not message and field_name == "username":  # never the email: whose it is stays unsaid
        message = await accounts.username_problem(await db.session(), form.username.data or "") or ""
    # Untouched fields stay quiet: only report on what has been typed.
    if not (form[field_name].data or "").strip() and field_name != "password2":
        message = ""
    return await responses.fragment("partials/field_error.html", field=field_name, message=message)


@bp.route("/login", methods=["GET", "POST"])
@anonymous_only
async def login() -> Response:
    form = await LoginForm.from_request()
    next_url = safe_next(request.args.get("next"))
    if request.method == "POST":
        if form.validate():
            counted = await ratelimit.hit_all(ratelimit.login_limits(accounts.normalise_email(form.email.data or "")))
            session = await db.session()
            try:
                user = await accounts.authenticate(session, form.email.data or "", form.password.data or "")
            except Invalid as error:
                form.add_error(None, error.message)
            else:
                await ratelimit.give_back(counted)
                await start_session(session, user, remember=bool(form.remember.data))
                await flash(f"Welcome back, {user.name}.", "success")
                return await responses.see_other(next_url)
        return await responses.page("auth/login.html", 422, block="form", form=form, next_url=next_url)
    return await responses.page("auth/login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
@login_required
async def logout() -> Response:
    await end_session(await db.session())
    await flash("You are logged out.", "info")
    return await responses.see_other(url_for("main.index"))


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
async def confirm(token: str) -> Response:
    """GET shows the button (link scanners must not use the token up); POST confirms."""
    session = await db.session()
    try:
        user, _ = await accounts.user_for_token(session, token, tokens.Purpose.CONFIRM, lock=request.method == "POST")
    except tokens.TokenError as error:
        viewer = current_user()
        if viewer is not None and viewer.confirmed:
            await flash("Your email address is already confirmed.", "info")
            return await responses.see_other(url_for("main.index"))
        return await responses.page("auth/token_invalid.html", 400, message=error.message, resend=True)
    if request.method == "POST":
        await accounts.address_proven(session, user, admin_email=current_app.config["ADMIN_EMAIL"])
        await flash("Thanks, your email address is confirmed.", "success")
        return await responses.see_other(url_for("main.index") if current_user() else url_for("auth.login"))
    return await responses.page("auth/confirm.html", user=user, token=token)


@bp.route("/resend-confirmation", methods=["POST"])
@login_required
async def resend_confirmation() -> Response:
    user = require_user()
    if user.confirmed:
        await flash("Your email address is already confirmed.", "info")
    else:
        await ratelimit.hit(ratelimit.MAIL, f"confirm|{user.id}")
        if await account_mail.send_confirmation(user):
            await flash(f"We sent a new confirmation link to {user.email}.", "success")
        else:
            await flash("We could not send the email just now. Please try again in a few minutes.", "danger")
    return await responses.see_other(safe_next(request.args.get("next"), url_for("main.index")))


@bp.route("/forget-password", methods=["GET", "POST"])
@anonymous_only
async def forget_password() -> Response:
    form = await ForgotPasswordForm.from_request()
    if request.method == "POST":
        if form.validate():
            email = accounts.normalise_email(form.email.data or "")
            await ratelimit.hit(ratelimit.MAIL, f"reset|{email}")
            # Looked up after the response: the same answer, in the same time, whether or not
            # the address has an account.
            account_mail.password_reset_later(email)
            await flash(
                "If an account uses that address, a link to choose a new password is on its way. "
                "It works for one hour.",
                "info",
            )
            return await responses.see_other(url_for("auth.login"))
        return await responses.page("auth/forget_password.html", 422, block="form", form=form)
    return await responses.page("auth/forget_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@anonymous_only
async def reset_password(token: str) -> Response:
    session = await db.session()
    try:
        user, _ = await accounts.user_for_token(session, token, tokens.Purpose.RESET_PASSWORD)
    except tokens.TokenError as error:
        return await responses.page("auth/token_invalid.html", 400, message=error.message, reset=True)
    form = await ResetPasswordForm.from_request()
    form.known_username, form.known_email = user.username, user.email
    if request.method == "POST":
        if form.validate():
            try:
                await accounts.reset_password(
                    session, token, form.password.data or "", admin_email=current_app.config["ADMIN_EMAIL"]
                )
            except Invalid as error:
                form.add_error(error.field, error.message)
            except tokens.TokenError as error:
                return await responses.page("auth/token_invalid.html", 400, message=error.message, reset=True)
            else:
                await flash("Your password is changed. Log in with the new one.", "success")
                return await responses.see_other(url_for("auth.login"))
        return await responses.page("auth/reset_password.html", 422, block="form", form=form, token=token)
    return await responses.page("auth/reset_password.html", form=form, token=token)


@bp.route("/re-authenticate", methods=["GET", "POST"])
@login_required
async def reauthenticate() -> Response:
    user = require_user()
    next_url = safe_next(request.args.get("next"))
    if request.method != "POST" and is_fresh():
        return await responses.see_other(next_url)
    form = await ReauthenticateForm.from_request()
    if request.method == "POST":
        if form.validate():
            counted = await ratelimit.hit_all(ratelimit.login_limits(user.email))
            if await accounts.check_password(await db.session(), user, form.password.data or ""):
                await ratelimit.give_back(counted)
                mark_fresh()
                return await responses.see_other(next_url)
            form.add_error("password", "That password is not correct.")
        return await responses.page("auth/reauthenticate.html", 422, block="form", form=form, next_url=next_url)
    return await responses.page("auth/reauthenticate.html", form=form, next_url=next_url)
