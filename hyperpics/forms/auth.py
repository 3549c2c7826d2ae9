"""Forms of the account pages. Field names follow the URL/field contract in DESIGN.md."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp, ValidationError

from ..infra import passwords
from . import BaseForm

USERNAME_PATTERN = r"^[A-Za-z0-9_]+$"


def stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        filters=[stripped],
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254, message="An email address has at most 254 characters."),
            Email("Enter a valid email address, like ana@example.com.", check_deliverability=False),
        ],
    )


def name_field() -> StringField:
    return StringField(
        "Name",
        filters=[stripped],
        validators=[DataRequired("Enter your name."), Length(max=30, message="A name has at most 30 characters.")],
    )


def username_field() -> StringField:
    return StringField(
        "Username",
        filters=[stripped],
        validators=[
            DataRequired("Choose a username."),
            Length(min=3, max=20, message="A username has 3 to 20 characters."),
            Regexp(USERNAME_PATTERN, message="Use only letters, digits and underscores."),
        ],
        description="3–20 letters, digits or underscores. Your address will be /user/<username>.",
    )


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password.")],
        description=(
            f"At least {passwords.MIN_LENGTH} characters; "
            "not a common password, nor one made from your username or email."
        ),
    )
    password2 = PasswordField(
        "Repeat password",
        validators=[DataRequired("Repeat your password."), EqualTo("password", "The two passwords do not match.")],
    )
    return password, password2


class NewPasswordMixin:
    """Applies the password rules, knowing the username and email when the form has them
    (a form without those fields is told them: ``known_username``, ``known_email``)."""

    known_username: str = ""
    known_email: str = ""

    def validate_password(self, field: PasswordField) -> None:
        username = getattr(getattr(self, "username", None), "data", "") or self.known_username
        email = getattr(getattr(self, "email", None), "data", "") or self.known_email
        problems = passwords.problems(field.data or "", username=username or "", email=email or "")
        if problems:
            raise ValidationError(" ".join(problems))


class RegisterForm(NewPasswordMixin, BaseForm):
    name = name_field()
    email = email_field()
    username = username_field()
    password, password2 = new_password_fields()


class LoginForm(BaseForm):
    email = email_field()
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me logged in on this device")


class ForgotPasswordForm(BaseForm):
    email = email_field()


class ResetPasswordForm(NewPasswordMixin, BaseForm):
    password, password2 = new_password_fields()


class ReauthenticateForm(BaseForm):
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
