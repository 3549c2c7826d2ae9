"""Forms of the settings pages."""

from __future__ import annotations

from wtforms import BooleanField, FileField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from . import BaseForm
from .auth import NewPasswordMixin, email_field, name_field, new_password_fields, stripped, username_field


class ChangePasswordForm(NewPasswordMixin, BaseForm):
    old_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    password, password2 = new_password_fields()


class ChangeEmailForm(BaseForm):
    email = email_field("New email address")


class DeleteAccountForm(BaseForm):
    username = StringField("Type your username to confirm", validators=[DataRequired("Type your username.")])


class AvatarForm(BaseForm):
    """A picture and, optionally, the square to keep in percent of the picture (x, y of its
    corner; size). Left empty, the centred square is kept."""

    image = FileField("Picture")
    x = IntegerField("Left edge (%)", validators=[Optional(), NumberRange(0, 100, "Between 0 and 100.")])
    y = IntegerField("Top edge (%)", validators=[Optional(), NumberRange(0, 100, "Between 0 and 100.")])
    size = IntegerField(
        "Square size (% of the shorter side)",
        validators=[Optional(), NumberRange(5, 100, "Between 5 and 100.")],
    )

    def crop(self) -> tuple[float, float, float] | None:
        """The chosen square as fractions, or None for the centred square."""
        if self.x.data is None and self.y.data is None and self.size.data is None:
            return None
        return ((self.x.data or 0) / 100, (self.y.data or 0) / 100, (self.size.data or 100) / 100)


class ProfileForm(BaseForm):
    name = name_field()
    username = username_field()
    website = StringField(
        "Website",
        filters=[stripped],
        validators=[Optional(), Length(max=255, message="At most 255 characters.")],
        description="An http:// or https:// address.",
    )
    location = StringField(
        "Location", filters=[stripped], validators=[Optional(), Length(max=50, message="At most 50 characters.")]
    )
    bio = TextAreaField(
        "Bio", filters=[stripped], validators=[Optional(), Length(max=120, message="At most 120 characters.")]
    )

    def validate_website(self, field: StringField) -> None:
        """Only web links: a javascript: or data: URL would run when clicked."""
        from urllib.parse import urlsplit

        if not field.data:
            return
        parts = urlsplit(field.data)
        if parts.scheme not in {"http", "https"} or not parts.netloc or any(char in field.data for char in '<>" '):
            raise ValidationError("Enter a web address starting with http:// or https://.")


class NotificationsForm(BaseForm):
    receive_follow_notification = BooleanField("When someone follows me")
    receive_comment_notification = BooleanField("When someone comments on my photos or replies to me")
    receive_collect_notification = BooleanField("When someone collects my photos")


class PrivacyForm(BaseForm):
    public_collections = BooleanField("Show my collections to others")
