"""HTTP validators for the reads: a strong `ETag` from the body, `If-None-Match` answered with 304.

The body is what the client would get, so equal ETags mean equal bytes; computing it costs a hash of
the body (BLAKE2b, about a microsecond per kilobyte), far less than sending it again.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, status
from fastapi.responses import Response

# The others may change at any time: the client keeps a copy but asks every time (a 304 is cheap).
REVALIDATE = "private, no-cache"
# A report version never changes once written.
IMMUTABLE = "private, max-age=31536000, immutable"


def etag_of(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def matches(request: Request, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (or is `*`); its comparison is the weak one (RFC 9110 13.1.2),
    so a `W/` prefix a proxy added still matches."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


def not_modified(etag: str, cache_control: str) -> Response:
    return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag, "Cache-Control": cache_control})


def conditional_json(request: Request, body: bytes, cache_control: str = REVALIDATE) -> Response:
    """The JSON `body` with its ETag, or 304 Not Modified (no body) when the client has it already."""
    etag = etag_of(body)
    if matches(request, etag):
        return not_modified(etag, cache_control)
    return Response(body, media_type="application/json", headers={"ETag": etag, "Cache-Control": cache_control})
