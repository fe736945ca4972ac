"""Security headers, CORS, client addresses and the rate limiter, with the ASGI app in-process."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from fastapi_app.core import ratelimit
from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.errors import RateLimited
from fastapi_app.core.ratelimit import Limiter, client_ip, parse_networks
from fastapi_app.core.security_headers import API_CSP, DOCS_CSP, HSTS
from fastapi_app.main import create_app

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


def _client(app: FastAPI, peer: str = "127.0.0.1", base_url: str = "http://t") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 4321)), base_url=base_url)


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/api/users/me", "/no/such/route"])
async def test_api_responses_carry_the_headers_and_the_strict_csp(api: httpx.AsyncClient, path: str) -> None:
    r = await api.get(path)
    for name, value in EXPECTED.items():
        assert r.headers[name] == value, (path, name)
    assert r.headers["content-security-policy"] == API_CSP
    assert "strict-transport-security" not in r.headers  # plain http: HSTS would be ignored or wrong


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_get_a_csp_that_lets_their_assets_load(api: httpx.AsyncClient, page: str) -> None:
    r = await api.get(page)
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == DOCS_CSP
    assert r.headers["x-frame-options"] == "DENY"
    # Every script and stylesheet the page names is ours and is served: 'self' covers it.
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, r.text
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere: the CSP would block it"
        fetched = await api.get(asset)
        assert fetched.status_code == 200, asset
    if page == "/docs":
        # Swagger UI's bootstrap is an inline script: the docs CSP must allow it (the API CSP forbids it).
        assert re.search(r"<script>\s*\S", r.text)
    assert "'unsafe-inline'" in DOCS_CSP.split("script-src", 1)[1].split(";", 1)[0]


async def test_hsts_only_over_https(app: FastAPI) -> None:
    async with _client(app, base_url="https://t") as direct:
        assert (await direct.get("/health")).headers["strict-transport-security"] == HSTS
    via_proxy = {"X-Forwarded-Proto": "https"}
    async with _client(app, peer="127.0.0.1") as trusted:
        assert (await trusted.get("/health", headers=via_proxy)).headers["strict-transport-security"] == HSTS
    async with _client(app, peer="203.0.113.9") as stranger:
        # Anyone can write X-Forwarded-Proto; only a trusted proxy's is believed.
        assert "strict-transport-security" not in (await stranger.get("/health", headers=via_proxy)).headers


async def test_a_handlers_own_header_is_not_duplicated(api: httpx.AsyncClient) -> None:
    r = await api.get("/health")
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.fixture
def cors_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    get_settings.cache_clear()
    try:
        yield create_app()
    finally:
        monkeypatch.delenv("CORS_ORIGINS")
        get_settings.cache_clear()


async def test_cors_preflight_only_for_configured_origins(cors_app: FastAPI) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with _client(cors_app) as client:
        ok = await client.options("/api/documents/upload", headers={"Origin": "https://app.example.com", **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert ok.headers["x-frame-options"] == "DENY"

        evil = await client.options("/api/documents/upload", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in evil.headers
        simple = await client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


async def test_cors_simple_requests_and_vary_with_and_without_origin(cors_app: FastAPI) -> None:
    async with _client(cors_app) as client:
        browser = await client.get("/health", headers={"Origin": "https://app.example.com"})
        assert browser.headers["access-control-allow-origin"] == "https://app.example.com"
        assert browser.headers.get_list("vary") == ["Origin"]
        assert "x-request-id" in browser.headers["access-control-expose-headers"].lower()
        # No Origin (a script): no CORS headers, but a cache must still know the answer varies by Origin.
        script = await client.get("/health")
        assert "access-control-allow-origin" not in script.headers
        assert script.headers.get_list("vary") == ["Origin"]
        assert script.headers["x-content-type-options"] == "nosniff"


def _scope(peer: str, xff: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
    return {"type": "http", "client": (peer, 1), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not a proxy of ours: its XFF is ignored
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the left part is the client's own claim
        ("127.0.0.1", "198.51.100.1, 10.0.0.2", "198.51.100.1"),  # 10.0.0.2 is a trusted inner proxy
        ("127.0.0.1", "not-an-ip", "127.0.0.1"),
        ("127.0.0.1", "1" * 5000, "127.0.0.1"),  # a hostile hop: no address, never parsed or cached
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(peer: str, xff: str | None, expected: str) -> None:
    trusted = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_ip(_scope(peer, xff), trusted) == expected


def test_trusted_proxy_check_caches_a_bounded_set_of_short_addresses() -> None:
    trusted = parse_networks(["10.0.0.0/8"])
    ratelimit._ip_in.cache_clear()
    assert ratelimit.ip_in("10.1.2.3", trusted) and ratelimit.ip_in("10.1.2.3", trusted)
    assert not ratelimit.ip_in("203.0.113.9", trusted)
    assert not ratelimit.ip_in("10.1.2.3" + " " * 100, trusted)
    info = ratelimit._ip_in.cache_info()
    assert (info.hits, info.currsize, info.maxsize) == (1, 2, 4096)


def _limiter(**overrides: object) -> Limiter:
    values: dict[str, object] = {"CELERY_BROKER_URL": "", "REDIS_URL": "", "RATE_LIMITS_ENABLED": True, **overrides}
    return Limiter(Settings(**values))  # type: ignore[arg-type]


async def test_limiter_raises_rate_limited_with_retry_after() -> None:
    limiter = _limiter(RATE_LIMIT_LOGIN="3/minute")
    for _ in range(3):
        await limiter.hit("login", "198.51.100.7")
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("login", "198.51.100.7")
    err = caught.value
    assert err.status_code == 429 and err.error_code == "RATE_LIMITED"
    assert err.details is not None and err.details["limit"] == "3/minute"
    assert 1 <= err.details["retry_after"] <= 60
    assert err.headers == {"Retry-After": str(err.details["retry_after"])}
    await limiter.hit("login", "198.51.100.8")  # another address has its own budget
    await limiter.hit("login-account", "198.51.100.7")  # and another limit its own counter


async def test_limiter_disabled_never_limits() -> None:
    limiter = _limiter(RATE_LIMITS_ENABLED=False, RATE_LIMIT_REGISTER="1/minute")
    for _ in range(5):
        await limiter.hit("register", "x")


async def test_limiter_fails_open_and_logs_once_when_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    limiter = _limiter(REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMIT_LOGIN="1/minute")
    caplog.set_level(logging.WARNING, logger="fastapi_app.ratelimit")
    for _ in range(3):
        await limiter.hit("login", "198.51.100.9")
    warnings = [r for r in caplog.records if r.name == "fastapi_app.ratelimit"]
    assert len(warnings) == 1 and "not enforced" in warnings[0].getMessage()


def test_bad_settings_are_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_LOGIN"):
        Settings(RATE_LIMIT_LOGIN="ten per minute")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(TRUSTED_PROXIES="10.0.0.0/8,proxy.internal")  # type: ignore[arg-type]
    assert Settings(TRUSTED_PROXIES="10.0.0.0/8, 192.168.1.1").TRUSTED_PROXIES == [  # type: ignore[arg-type]
        "10.0.0.0/8",
        "192.168.1.1",
    ]
