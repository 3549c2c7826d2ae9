"""Static files served like a production site.

Pages link every file through :func:`static_url`, whose ``?v=`` names the file's content: such
a URL never changes meaning, so browsers keep it for a year; any other URL of the file must be
revalidated. CSS, JavaScript and SVG go gzip-compressed to clients that accept it.

Each file is read, hashed and compressed once per process, when the app is made, and kept in
memory (the folder is ours and small, about 250 KB), so answering never waits on the disk. In
development a file whose mtime changed is read again, so edits show on the next reload.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from quart import Quart, Response, abort, current_app, request, url_for
from werkzeug.security import safe_join

from . import responses
from .auth import public

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
COMPRESSIBLE = frozenset({".css", ".js", ".svg"})


@dataclass(frozen=True, slots=True)
class StaticFile:
    data: bytes
    gzipped: bytes | None  # None: not a text format, or gzip would not make it smaller
    version: str  # the start of the content's SHA-256: what ?v= must say
    mtime_ns: int
    mimetype: str

    @property
    def last_modified(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns // 1_000_000_000, tz=UTC)


# Shared by every app of the process (tests make hundreds): keyed by path, checked by mtime.
_loaded: dict[Path, StaticFile] = {}


def init_app(app: Quart) -> None:
    if app.static_folder:  # read before serving; a later app of the process finds them read
        for path in sorted(Path(app.static_folder).rglob("*")):
            _load(path, _loaded.get(path))
    app.jinja_env.globals["static_url"] = static_url
    # Quart's route for the static folder stays (url_for("static", ...)); the answer is ours.
    app.endpoint("static")(serve)


def static_url(filename: str) -> str:
    """``/static/<filename>?v=<content hash>``: the URL pages use for a static file.

    Outside development a file never changes while the process runs, so each URL is built
    once (a page links seven files; building them was a tenth of a member's page)."""
    built: dict[tuple[str, str], str] = current_app.extensions.setdefault("hyperpics_static_urls", {})
    key = (filename, request.root_path if request else "")
    url = built.get(key)
    if url is None:
        found = _find(filename)
        if found is None:
            raise FileNotFoundError(f"no static file {filename!r}")
        url = url_for("static", filename=filename, v=found.version)
        if current_app.config["ENV"] != "development":
            built[key] = url
    return url


@public
async def serve(filename: str) -> Response:
    found = _find(filename)
    if found is None:
        abort(404)
    # Byte ranges count in the identity bytes: a request for a range gets those.
    wants_gzip = "Range" not in request.headers and request.accept_encodings["gzip"] > 0
    gzipped = found.gzipped if wants_gzip else None
    body = found.data if gzipped is None else gzipped
    response = current_app.response_class(body, mimetype=found.mimetype)
    response.set_etag(found.version if gzipped is None else f"{found.version}-gzip")
    response.last_modified = found.last_modified
    if gzipped is not None:
        response.headers["Content-Encoding"] = "gzip"
    if found.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = IMMUTABLE if request.args.get("v") == found.version else REVALIDATE
    await response.make_conditional(request, accept_ranges=gzipped is None, complete_length=len(body))
    return responses.without_body_for_head(response)


def _find(filename: str) -> StaticFile | None:
    """The file, from memory. Read now only if it came after the start (once), or in
    development once its mtime changed: a small file, read at most once per edit."""
    folder = current_app.static_folder
    joined = safe_join(str(folder), filename) if folder else None
    if joined is None:
        return None
    path = Path(joined)
    cached = _loaded.get(path)
    if cached is not None and current_app.config["ENV"] != "development":
        return cached
    return _load(path, cached)


def _load(path: Path, cached: StaticFile | None) -> StaticFile | None:
    try:
        status = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    if cached is not None and cached.mtime_ns == status.st_mtime_ns:
        return cached
    data = path.read_bytes()
    gzipped = None
    if path.suffix in COMPRESSIBLE:
        # mtime=0: the same bytes (and so the same ETag) in every process and on every host.
        squeezed = gzip.compress(data, compresslevel=9, mtime=0)
        gzipped = squeezed if len(squeezed) < len(data) else None
    found = StaticFile(
        data=data,
        gzipped=gzipped,
        version=hashlib.sha256(data).hexdigest()[:12],
        mtime_ns=status.st_mtime_ns,
        mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
    )
    _loaded[path] = found
    return found
