"""Forms of the social components."""

from __future__ import annotations

from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..infra import numbers
from ..services.commenting import COMMENT_MAX_LENGTH
from . import BaseForm


class CommentForm(BaseForm):
    body = TextAreaField(
        "Comment",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired("Write something first."),
            Length(max=COMMENT_MAX_LENGTH, message=f"A comment has at most {COMMENT_MAX_LENGTH} characters."),
        ],
    )
    reply_to = HiddenField(validators=[Optional()])

    def reply_to_id(self) -> int | None:
        return numbers.row_id(self.reply_to.data)
