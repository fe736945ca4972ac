"""The web app (issue 14): one HTML shell for every page route, and its static files.

The shell is the same document for every page: the ES modules under /static/app decide what to show
from the URL (history API). Nothing here is built: the files are served as they are in the repository
(fastapi_app/web), the libraries from /static/vendor (copied by scripts/vendor_web.sh). The CSP of
these paths is chosen in core/security_headers.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fastapi_app.core.errors import NotFound
from fastapi_app.core.security_headers import WEB_SHELL_PARAM_ROUTES, WEB_SHELL_PATHS

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Resolved, like the requested paths are: a symlinked web directory still serves its files.
STATIC_ROOTS = {name: (WEB_DIR / "static" / name).resolve() for name in ("app", "vendor")}

# Only these kinds are served; anything else under the static roots is 404 (no guessing from the OS's
# mime.types, which differs between hosts for .js).
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}

SHELL_ROUTES = (*sorted(WEB_SHELL_PATHS), *WEB_SHELL_PARAM_ROUTES)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class _Cached:
    stamp: tuple[int, int]
    body: bytes
    etag: str


_cache: dict[Path, _Cached] = {}


def _read(path: Path) -> _Cached:
    """The file's bytes and a strong ETag of its content, re-read only when its mtime or size changes
    (so an edited file is served at once in development, with no restart)."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is None or cached.stamp != stamp:
        body = path.read_bytes()
        cached = _Cached(stamp, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _cache[path] = cached
    return cached


def _file_response(request: Request, path: Path, content_type: str) -> Response:
    cached = _read(path)
    # no-cache: the browser revalidates every time (a 304 when unchanged), so a deploy is seen at once
    # even though the file names carry no version.
    headers = {"ETag": cached.etag, "Cache-Control": "no-cache"}
    if cached.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return Response(cached.body, media_type=content_type, headers=headers)


async def shell(request: Request) -> Response:
    """The app shell: the same HTML for every page route."""
    return _file_response(request, WEB_DIR / "index.html", CONTENT_TYPES[".html"])


for _route in SHELL_ROUTES:
    router.add_api_route(_route, shell, methods=["GET", "HEAD"], name=f"web{_route}")


@router.api_route("/static/{root}/{file_path:path}", methods=["GET", "HEAD"], name="web_static")
async def static_file(request: Request, root: str, file_path: str) -> Response:
    """A file of the app (/static/app) or a vendored library (/static/vendor)."""
    base = STATIC_ROOTS.get(root)
    if base is None:
        raise NotFound()
    path = (base / file_path).resolve()
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None or not path.is_relative_to(base) or not path.is_file():
        raise NotFound()
    return _file_response(request, path, content_type)
