"""The administrator's profile editor: a member's profile plus email, role and confirmation."""

from __future__ import annotations

from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3's; types-WTForms 3.2 lacks it

from ..models import RoleName
from .auth import email_field
from .settings import ProfileForm


class AdminProfileForm(ProfileForm):
    email = email_field("Email")
    role = SelectField("Role", choices=[SelectChoice(role.value, role.value) for role in RoleName])
    confirmed = BooleanField("Email address confirmed")
