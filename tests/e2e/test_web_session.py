"""The web app's cookie session against the real stack: the refresh token only in an httpOnly cookie,
refresh and logout guarded by the CSRF double submit, rotation and revocation as /api/auth/refresh and
/api/auth/logout do them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.client import ApiClient
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

REFRESH_LIFETIME_S = 14 * 86400


def _cookies(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """Each Set-Cookie as {name: {"value", and its attributes lower-cased}}."""
    found: dict[str, dict[str, Any]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        parsed: dict[str, Any] = {"value": value}
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            parsed[key.lower()] = attr_value or True
        found[name] = parsed
    return found


@pytest.fixture
def account(live_stack: Stack) -> dict[str, Any]:
    return ApiClient(live_stack.base_url).register_and_login()


def _browser(live_stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=live_stack.base_url, timeout=30)


def _login(browser: httpx.Client, account: dict[str, Any], *, as_json: bool = False) -> httpx.Response:
    credentials = {"username": account["username"], "password": account["password"]}
    if as_json:
        return browser.post("/api/auth/session", json=credentials)
    return browser.post("/api/auth/session", data=credentials)


def _me(base_url: str, access_token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/users/me", headers={"Authorization": f"Bearer {access_token}"})


def test_login_sets_an_httponly_refresh_cookie_and_a_readable_csrf_cookie(
    live_stack: Stack, account: dict[str, Any]
) -> None:
    with _browser(live_stack) as browser:
        r = _login(browser, account)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"access_token", "token_type", "expires_in", "user"}  # no refresh token in the body
    assert (data["token_type"], data["expires_in"]) == ("bearer", 3600)
    assert data["user"]["username"] == account["username"] and data["user"]["is_superuser"] is False
    assert _me(live_stack.base_url, data["access_token"]).json()["data"]["id"] == data["user"]["id"]

    cookies = _cookies(r)
    refresh, csrf = cookies["docproc_refresh"], cookies["docproc_csrf"]
    assert refresh["httponly"] is True and refresh["samesite"].lower() == "strict"
    assert refresh["path"] == "/api/auth/session" and int(refresh["max-age"]) == REFRESH_LIFETIME_S
    assert refresh["value"].count(".") == 2  # a JWT
    assert "httponly" not in csrf and csrf["samesite"].lower() == "strict" and csrf["path"] == "/"
    assert len(csrf["value"]) >= 32
    # Plain http: not Secure (the browser would drop it); over https through a trusted proxy: Secure.
    assert "secure" not in refresh and "secure" not in csrf
    with _browser(live_stack) as browser:
        behind_tls = browser.post(
            "/api/auth/session",
            data={"username": account["username"], "password": account["password"]},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert all(cookie.get("secure") is True for cookie in _cookies(behind_tls).values())


def test_login_takes_json_too_and_refuses_a_wrong_password(live_stack: Stack, account: dict[str, Any]) -> None:
    with _browser(live_stack) as browser:
        r = _login(browser, account, as_json=True)
        assert r.status_code == 200 and r.json()["data"]["user"]["username"] == account["username"]
        wrong = browser.post("/api/auth/session", json={"username": account["username"], "password": "nope-nope"})
        assert wrong.status_code == 401 and wrong.json()["error_code"] == "INVALID_CREDENTIALS"
        assert "set-cookie" not in wrong.headers
        missing = browser.post("/api/auth/session", json={"username": account["username"]})
        assert missing.status_code == 422 and missing.json()["error_code"] == "VALIDATION_ERROR"


def test_refresh_needs_the_csrf_header_and_rotates_the_cookie(live_stack: Stack, account: dict[str, Any]) -> None:
    with _browser(live_stack) as browser:
        login = _login(browser, account)
        old_refresh = _cookies(login)["docproc_refresh"]["value"]
        csrf = browser.cookies["docproc_csrf"]

        for headers in ({}, {"X-CSRF-Token": "not-the-cookie"}, {"X-CSRF-Token": ""}):
            refused = browser.post("/api/auth/session/refresh", headers=headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error_code"] == "CSRF_FAILED"

        r = browser.post("/api/auth/session/refresh", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        new_access = r.json()["data"]["access_token"]
        assert _me(live_stack.base_url, new_access).json()["data"]["username"] == account["username"]
        rotated = _cookies(r)
        assert rotated["docproc_refresh"]["value"] != old_refresh
        assert rotated["docproc_csrf"]["value"] != csrf  # a new CSRF token with each new refresh token
        new_csrf = browser.cookies["docproc_csrf"]

    # The old cookie value is used up: presenting it again fails (and, as a stolen copy, ends the session).
    with _browser(live_stack) as replay:
        replay.cookies.set("docproc_refresh", old_refresh, path="/api/auth/session")
        replay.cookies.set("docproc_csrf", new_csrf)
        again = replay.post("/api/auth/session/refresh", headers={"X-CSRF-Token": new_csrf})
        assert again.status_code == 401 and again.json()["error_code"] == "INVALID_TOKEN"


def test_refresh_without_a_session_cookie_is_401(live_stack: Stack) -> None:
    with _browser(live_stack) as browser:
        browser.cookies.set("docproc_csrf", "abc123abc123")
        r = browser.post("/api/auth/session/refresh", headers={"X-CSRF-Token": "abc123abc123"})
    assert r.status_code == 401 and r.json()["error_code"] == "NOT_AUTHENTICATED"


def test_logout_revokes_the_session_and_clears_both_cookies(live_stack: Stack, account: dict[str, Any]) -> None:
    with _browser(live_stack) as browser:
        login = _login(browser, account)
        refresh = _cookies(login)["docproc_refresh"]["value"]
        csrf = browser.cookies["docproc_csrf"]
        assert browser.post("/api/auth/session/logout").json()["error_code"] == "CSRF_FAILED"

        r = browser.post("/api/auth/session/logout", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json() == {"success": True, "message": "Logged out", "data": None}
        cleared = _cookies(r)
        assert (
            cleared["docproc_refresh"]["max-age"] == "0" and cleared["docproc_refresh"]["path"] == "/api/auth/session"
        )
        assert cleared["docproc_csrf"]["max-age"] == "0"
        assert "docproc_refresh" not in browser.cookies

    with _browser(live_stack) as replay:
        replay.cookies.set("docproc_refresh", refresh, path="/api/auth/session")
        replay.cookies.set("docproc_csrf", csrf)
        after = replay.post("/api/auth/session/refresh", headers={"X-CSRF-Token": csrf})
        assert after.status_code == 401 and after.json()["error_code"] == "INVALID_TOKEN"
        # The same token through the API clients' endpoint: the session is over there too.
        assert httpx.post(f"{live_stack.base_url}/api/auth/refresh", json={"refresh_token": refresh}).status_code == 401
        # Logging out again with the dead cookie still answers 200 and clears the cookies.
        again = replay.post("/api/auth/session/logout", headers={"X-CSRF-Token": csrf})
        assert again.status_code == 200 and _cookies(again)["docproc_refresh"]["max-age"] == "0"
