"""The access log's line is hypercorn's own, made without copying the environment per request."""

from __future__ import annotations

import pytest
from hypercorn.config import Config
from hypercorn.logging import AccessLogAtoms

from hyperpics.server import _AccessValues, hypercorn_config

REQUEST = {
    "type": "http", "method": "POST", "path": "/photo/3", "query_string": b"page=2", "http_version": "1.1",
    "client": ("10.0.0.7", 41234), "scheme": "http", "headers": [(b"User-Agent", b"curl/8"), (b"Referer", b"http://x/")],
}  # fmt: skip


@pytest.mark.parametrize(
    "response", [{"status": 303, "headers": [(b"Content-Length", b"0")]}, {"status": 200, "headers": []}, None]
)
@pytest.mark.parametrize("extra", ["", " %(R)s %(st)s %({user-agent}i)s %(D)s"])
def test_the_line_is_hypercorns(response: dict | None, extra: str) -> None:  # type: ignore[type-arg]
    line = "%(p)s " + Config().access_log_format + extra
    ours, theirs = line % _AccessValues(REQUEST, response, 0.25), line % AccessLogAtoms(REQUEST, response, 0.25)
    assert ours == theirs
    assert "10.0.0.7:41234" in ours and '"POST /photo/3 1.1"' in ours


def test_serve_uses_it() -> None:
    config = hypercorn_config("127.0.0.1", 0)
    assert isinstance(config.log.atoms(REQUEST, None, 0.1), _AccessValues)
