"""Forms of the photo pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm.base import NO_VALUE
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3's; types-WTForms 3.2 lacks it
from wtforms.validators import DataRequired, Length, Optional

from ..models import Photo, ReportReason, Visibility
from . import BaseForm

VISIBILITY_CHOICES = [
    SelectChoice(Visibility.PUBLIC.value, "Everyone"),
    SelectChoice(Visibility.FOLLOWERS.value, "My followers"),
    SelectChoice(Visibility.PRIVATE.value, "Only me"),
]

REASON_LABELS = {
    ReportReason.SPAM: "Spam or advertising",
    ReportReason.NUDITY: "Nudity or sexual content",
    ReportReason.HARASSMENT: "Harassment or hate",
    ReportReason.COPYRIGHT: "Someone else's work (copyright)",
    ReportReason.OTHER: "Something else",
}


def _loaded_tag_names(photo: Photo) -> str:
    """The photo's tags as text, without loading them (new photos have none loaded)."""
    value = inspect(photo).attrs.tags.loaded_value
    if value is NO_VALUE:
        return ""
    # Commas, so that a tag of several words stays one when the form is sent back.
    names = [tag.name for tag in value]
    text = ", ".join(names)
    return text + "," if len(names) == 1 and " " in names[0] else text


class PhotoDetailsForm(BaseForm):
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=500, message="A description has at most 500 characters.")],
    )
    alt_text = StringField(
        "Alt text",
        validators=[Optional(), Length(max=300, message="Alt text has at most 300 characters.")],
        description="What the photo shows, for people who cannot see it.",
    )
    tags = StringField(
        "Tags",
        description="Separate tags with spaces, e.g. sunset beach film; or with commas to keep words "
        "together, e.g. mountains, blue hour",
    )
    visibility = RadioField("Who can see it", choices=VISIBILITY_CHOICES, validators=[Optional()])

    @staticmethod
    def current(photo: Photo) -> dict[str, Any]:
        """The photo's values, to fill the form (WTForms' obj= would load the tags)."""
        return {
            "description": photo.description,
            "alt_text": photo.alt_text,
            "tags": _loaded_tag_names(photo),
            "visibility": photo.visibility.value,
        }


class UploadDetailsForm(BaseForm):
    """The upload form's fields that go with every photo it sends (each photo's own row form
    changes them afterwards). The service checks them (services.photos.new_details)."""

    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=500, message="A description has at most 500 characters.")],
    )
    tags = StringField("Tags", description=PhotoDetailsForm.tags.kwargs["description"])
    visibility = SelectField(
        "Who can see them", choices=VISIBILITY_CHOICES, default=Visibility.PUBLIC.value, validate_choice=False
    )


class ReportForm(BaseForm):
    reason = SelectField(
        "Reason",
        choices=[SelectChoice(reason.value, label) for reason, label in REASON_LABELS.items()],
        validators=[DataRequired("Choose a reason.")],
    )
    note = TextAreaField(
        "Anything to add? (optional)",
        validators=[Optional(), Length(max=500, message="At most 500 characters.")],
    )
