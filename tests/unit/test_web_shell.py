"""The web app's shell and static files: served with the strict CSP, the right content types and
revalidation caching; the API keeps its JSON 404s and its own CSP, and /docs still works."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fastapi_app.api.web import SHELL_ROUTES, WEB_DIR
from fastapi_app.core.security_headers import API_CSP, DOCS_CSP, WEB_CSP, is_web_path, security_headers_for
from fastapi_app.main import create_app

SHELL_PATHS = [re.sub(r"\{\w+\}", "0b0a8f3e-8d1f-4c1e-9b55-1d3c2a1e0f00", route) for route in SHELL_ROUTES]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def test_the_web_csp_is_strict() -> None:
    directives = dict(part.strip().split(" ", 1) for part in WEB_CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' blob: data:"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in WEB_CSP and "unsafe-eval" not in WEB_CSP


@pytest.mark.parametrize(
    ("path", "csp"),
    [
        ("/", WEB_CSP),
        ("/documents", WEB_CSP),
        ("/documents/abc", WEB_CSP),
        ("/batches/0b0a8f3e-8d1f-4c1e-9b55-1d3c2a1e0f00", WEB_CSP),
        ("/admin/operations", WEB_CSP),
        ("/static/app/main.js", WEB_CSP),
        ("/static/vendor/chart.umd.js", WEB_CSP),
        ("/documents/abc/extra", API_CSP),
        ("/documents/", API_CSP),
        ("/batches", API_CSP),
        ("/batches/", API_CSP),
        ("/batches/abc/report", API_CSP),
        ("/api/v1/batches/abc", API_CSP),
        ("/api/documents/", API_CSP),
        ("/api/documents/abc", API_CSP),
        ("/static-offline-docs/swagger-ui.css", API_CSP),
        ("/docs", DOCS_CSP),
        ("/ws", API_CSP),
    ],
)
def test_the_csp_is_chosen_by_path(path: str, csp: str) -> None:
    headers = dict(security_headers_for({"type": "http", "path": path, "scheme": "http"}))
    assert headers[b"content-security-policy"].decode() == csp
    assert is_web_path(path) is (csp == WEB_CSP)


@pytest.mark.parametrize("path", SHELL_PATHS)
async def test_every_page_route_serves_the_shell_with_the_strict_csp(web: httpx.AsyncClient, path: str) -> None:
    r = await web.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"] == WEB_CSP
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-cache"
    assert r.text == (WEB_DIR / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in r.text


def test_the_shell_has_no_inline_script_or_style() -> None:
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attrs, body in scripts:
        assert 'src="/static/' in attrs and body.strip() == "", attrs
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers either


def test_no_app_file_sets_inline_styles_or_evaluates_strings() -> None:
    """The CSP would block them in the browser: catch them before."""
    for path in (WEB_DIR / "static" / "app").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bstyle=\$?[{\"']", text), path
        assert "eval(" not in text and "new Function" not in text, path
        assert "innerHTML" not in text and "dangerouslySetInnerHTML" not in text, path


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/app/main.js", "text/javascript; charset=utf-8"),
        ("/static/app/api.js", "text/javascript; charset=utf-8"),
        ("/static/app/app.css", "text/css; charset=utf-8"),
        ("/static/app/i18n/ko.json", "application/json"),
        ("/static/vendor/htm-preact-standalone.module.js", "text/javascript; charset=utf-8"),
        ("/static/vendor/chart.umd.js", "text/javascript; charset=utf-8"),
        ("/static/vendor/VENDOR.json", "application/json"),
        ("/static/vendor/LICENSE-htm.txt", "text/plain; charset=utf-8"),
        ("/static/app/favicon.svg", "image/svg+xml"),
        ("/static/app/icons/document.svg", "image/svg+xml"),
    ],
)
async def test_static_files_have_their_content_type_and_revalidate(
    web: httpx.AsyncClient, path: str, content_type: str
) -> None:
    r = await web.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["content-security-policy"] == WEB_CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-cache"
    on_disk = WEB_DIR / "static" / path.removeprefix("/static/")
    assert r.content == on_disk.read_bytes()
    etag = r.headers["etag"]
    again = await web.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    stale = await web.get(path, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == on_disk.read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/app/nope.js",
        "/static/app/../../api/web.py",
        "/static/app/%2e%2e/%2e%2e/api/web.py",
        "/static/vendor/..%2fapp%2fmain.js",
        "/static/other/main.js",
        "/static/app/pages",
        "/static/app/main.py",
    ],
)
async def test_nothing_outside_the_static_roots_or_of_unknown_kinds_is_served(
    web: httpx.AsyncClient, path: str
) -> None:
    r = await web.get(path)
    assert r.status_code == 404
    assert r.json()["error_code"] == "NOT_FOUND"
    assert "def " not in r.text


async def test_unknown_api_paths_keep_the_json_404_envelope(web: httpx.AsyncClient) -> None:
    for path in ("/api/nope", "/api/documents/x/y/z", "/nope", "/documents/a/b", "/batches", "/batches/a/report"):
        r = await web.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/json"), path
        assert r.json() == {
            "success": False,
            "message": "The requested resource was not found.",
            "error_code": "NOT_FOUND",
            "details": None,
        }
        assert r.headers["content-security-policy"] == API_CSP


async def test_docs_still_work_and_the_shell_is_not_in_the_openapi_schema(web: httpx.AsyncClient) -> None:
    docs = await web.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = (await web.get("/openapi.json")).json()
    paths = set(schema["paths"])
    assert "/api/v1/documents/" in paths
    for route in (*SHELL_ROUTES, "/static/{root}/{file_path}"):
        assert route not in paths
    assert not [p for p in paths if not p.startswith(("/api/", "/health", "/metrics"))], paths


def test_every_route_of_the_app_router_is_served_by_the_shell() -> None:
    """main.js decides the pages; the server must answer each of them with the shell (a reload or a
    bookmark of any page works), and nothing else."""
    main_js = (WEB_DIR / "static" / "app" / "main.js").read_text(encoding="utf-8")
    patterns = set(re.findall(r'pattern: "([^"]+)"', main_js))
    # Parameter names may differ (:id there, {batch_id} here): compare the shapes.
    assert {re.sub(r":\w+", "{}", p) for p in patterns} == {re.sub(r"\{\w+\}", "{}", r) for r in SHELL_ROUTES}
    for module in re.findall(r'module: "\./([^"]+)"', main_js):
        assert (WEB_DIR / "static" / "app" / module).is_file(), module
