"""gunicorn's worker class for the API: `gunicorn -k fastapi_app.gunicorn_worker.UvicornWorker`."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # uvicorn asks to move to the separate uvicorn-worker package; this class is the same either way.
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker as _UvicornWorker


class UvicornWorker(_UvicornWorker):
    """uvicorn's worker without its own X-Forwarded-* handling: that trusts gunicorn's
    --forwarded-allow-ips (or FORWARDED_ALLOW_IPS), a second list beside TRUSTED_PROXIES. The app
    applies TRUSTED_PROXIES itself (core/middleware.apply_trusted_proxy), so that setting alone decides."""

    CONFIG_KWARGS: dict[str, Any] = {**_UvicornWorker.CONFIG_KWARGS, "proxy_headers": False}
