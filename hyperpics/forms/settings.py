"""Forms of the settings pages."""

from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from . import BaseForm
from .auth import NewPasswordMixin, _email_field, _new_password_fields


class ChangePasswordForm(NewPasswordMixin, BaseForm):
    old_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    password, password2 = _new_password_fields()


class ChangeEmailForm(BaseForm):
    email = _email_field("New email address")


class DeleteAccountForm(BaseForm):
    username = StringField("Type your username to confirm", validators=[DataRequired("Type your username.")])
