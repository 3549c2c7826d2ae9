"""WTForms classes, one module per area. CSRF is checked globally (see ``csrf.py``)."""

from __future__ import annotations

from typing import Any, Self

from quart import request
from werkzeug.datastructures import MultiDict
from wtforms import Form


class BaseForm(Form):
    """A form bound to the request's posted data (or empty on GET)."""

    @classmethod
    async def from_request(cls, **kwargs: Any) -> Self:
        formdata: MultiDict[str, Any] | None = None
        if request.method == "POST":  # a HEAD with a body is still a GET: its body is ignored
            formdata = await request.form
        return cls(formdata=formdata, **kwargs)

    def add_error(self, field: str | None, message: str) -> None:
        """Attach a service's message to a field (or to the form when it names none)."""
        target = getattr(self, field, None) if field else None
        if target is not None:
            target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]
        else:
            self.form_errors.append(message)

    def error_for(self, field: str) -> str:
        errors = getattr(self, field).errors
        return errors[0] if errors else ""
