"""API versions: `/api/v1/...` is canonical; the unversioned `/api/...` paths are deprecated aliases.

Every router is declared without a prefix of its own version and mounted twice by fastapi_app.main:
under `/api/v1` (in the OpenAPI schema) and under `/api` (left out of it). The headers that tell a
client which version answered, and where a deprecated path moved, are added here for every answer,
errors and 404s included, so no handler can forget them (README "API versions").
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

API_VERSION = "v1"
V1_PREFIX = "/api/v1"
LEGACY_PREFIX = "/api"
# When the unversioned aliases were deprecated (RFC 9745: `Deprecation: @<epoch seconds>`). No Sunset
# header: no removal date is set; one will be announced with a v2 (README "API versions").
DEPRECATED_SINCE = datetime(2026, 12, 1, tzinfo=UTC)
# Where a client reads the policy (RFC 9745's rel="deprecation" link).
POLICY_URL = "/redoc#section/API-versions"

_VERSION_HEADER = (b"api-version", API_VERSION.encode())
_DEPRECATION_HEADER = (b"deprecation", f"@{int(DEPRECATED_SINCE.timestamp())}".encode())
# Everything a path may keep unescaped inside a Link's <...> (RFC 3986 pchar and '/'), so a hostile
# path can neither close the URI reference nor start another link.
_PATH_SAFE = "/:@!$&'()*+;=-._~%"


def successor_path(path: str) -> str | None:
    """The `/api/v1` path that replaces a deprecated `/api/...` path, or None for any other path."""
    if path == LEGACY_PREFIX or not path.startswith(LEGACY_PREFIX + "/"):
        return None
    if path == V1_PREFIX or path.startswith(V1_PREFIX + "/"):
        return None
    return V1_PREFIX + path[len(LEGACY_PREFIX) :]


def version_headers(path: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers of an answer to `path`: the version for every API path, and on a deprecated alias
    `Deprecation` plus a `Link` to its successor and to the policy."""
    if path != LEGACY_PREFIX and not path.startswith(LEGACY_PREFIX + "/"):
        return ()
    successor = successor_path(path)
    if successor is None:
        return (_VERSION_HEADER,)
    link = f'<{quote(successor, safe=_PATH_SAFE)}>; rel="successor-version", <{POLICY_URL}>; rel="deprecation"'
    return (_VERSION_HEADER, _DEPRECATION_HEADER, (b"link", link.encode()))
