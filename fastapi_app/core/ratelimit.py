"""Rate limits (the `limits` library): login, register and upload, per client IP and per account.

Counters live in Redis when one is configured (REDIS_URL, or the broker when it is Redis), so every
API instance shares them; otherwise in this process's memory. A Redis outage never turns into a
500: the check fails open, is logged once, and Redis is not asked again for a few seconds.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Iterable

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from starlette.types import Scope

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import RateLimited

logger = logging.getLogger("fastapi_app.ratelimit")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_STRATEGIES: dict[str, type[RateLimiter]] = {
    "moving-window": MovingWindowRateLimiter,
    "fixed-window": FixedWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}
# After a storage error the limiter stays out of the way this long instead of paying a connect
# timeout on every request while Redis is down.
_FAIL_OPEN_SECONDS = 5.0


def parse_networks(entries: Iterable[str]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def ip_in(address: str, networks: tuple[IpNetwork, ...]) -> bool:
    # Longer text is no address (IPv6 with a zone is at most ~60 characters); the check also keeps a
    # hostile X-Forwarded-For hop from filling the cache below with kilobytes.
    return len(address) <= 64 and _ip_in(address, networks)


# Every request asks this of its peer (RequestLifecycleMiddleware), and peers repeat: parsing the
# address each time was ~4 % of an authenticated GET's CPU. Bounded, so varied addresses only evict.
@functools.lru_cache(maxsize=4096)
def _ip_in(address: str, networks: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def peer_address(scope: Scope) -> str:
    """The client's address as RequestLifecycleMiddleware left it (it applied TRUSTED_PROXIES once)."""
    return (scope.get("client") or ("unknown", 0))[0]


def client_ip(scope: Scope, trusted: tuple[IpNetwork, ...]) -> str:
    """The socket peer, unless it is a trusted proxy: then the nearest X-Forwarded-For hop that is
    not itself a trusted proxy. Hops are read from the right because a proxy appends the address it
    saw, while everything to the left of that is whatever the client chose to send."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not ip_in(peer, trusted):
        return peer
    forwarded = header(scope, b"x-forwarded-for")
    if not forwarded:
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not ip_in(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: do not let it become a key of its own
    return hops[0] if hops else peer


def _storage(settings: Settings) -> Storage:
    # The same Redis as the live events (REDIS_URL, else a Redis broker), from these settings.
    url = settings.redis_url
    if not url:
        return MemoryStorage()
    scheme, _, rest = url.partition("://")
    return RedisStorage(
        f"async+{scheme}://{rest}",
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=f"ratelimit:{settings.CELERY_QUEUE}",
        socket_connect_timeout=0.25,
        socket_timeout=0.25,
    )


class Limiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.RATE_LIMITS_ENABLED
        self.storage = _storage(settings)
        self.strategy = _STRATEGIES[settings.RATE_LIMIT_STRATEGY](self.storage)
        self.items: dict[str, tuple[str, RateLimitItem]] = {
            name: (value, parse(value))
            for name, value in {
                "login": settings.RATE_LIMIT_LOGIN,
                "login-account": settings.RATE_LIMIT_LOGIN_ACCOUNT,
                "login-account-ip": settings.RATE_LIMIT_LOGIN_ACCOUNT_IP,
                "register": settings.RATE_LIMIT_REGISTER,
                "upload": settings.RATE_LIMIT_UPLOAD,
                "upload-ip": settings.RATE_LIMIT_UPLOAD_IP,
            }.items()
        }
        self._skip_until = 0.0
        self._outage_logged = False

    async def hit(self, name: str, identifier: str) -> None:
        """Count one request against limit `name` for `identifier`; raise RateLimited past it."""
        if not self.enabled or time.monotonic() < self._skip_until:
            return
        text, item = self.items[name]
        # Hashed: identifiers come from clients (user names of any length and content).
        key = hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        try:
            allowed = await self.strategy.hit(item, name, key)
            stats = None if allowed else await self.strategy.get_window_stats(item, name, key)
        except Exception as exc:  # any storage failure fails open: never a 500 because of a counter
            self._skip_until = time.monotonic() + _FAIL_OPEN_SECONDS
            if not self._outage_logged:
                self._outage_logged = True
                logger.warning("rate limit storage unavailable, limits not enforced: %s", type(exc).__name__)
            return
        if self._outage_logged:
            self._outage_logged = False
            logger.info("rate limit storage available again")
        if stats is not None:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(
                details={"limit": text, "retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
