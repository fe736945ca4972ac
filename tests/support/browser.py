"""Debian's chromium driven by Playwright, for the browser tests and the screenshot/FCP scripts.

Playwright never downloads a browser here (no `playwright install`): it drives the chromium that
apt installs (run_tests.sh), through executable_path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Response

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / "tests" / "browser" / "vendor" / "axe-core"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "password123"


def chromium_executable() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


def launch_chromium(playwright: Playwright) -> Browser:
    executable = chromium_executable()
    if executable is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def new_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A fresh context (empty cache and cookies) as a Korean user in Seoul sees the app."""
    settings: dict[str, Any] = {
        "base_url": base_url,
        "viewport": DESKTOP,
        "locale": "ko-KR",
        "timezone_id": "Asia/Seoul",
        "accept_downloads": True,
    }
    settings.update(options)
    return browser.new_context(**settings)


@dataclass
class ConsoleWatch:
    """Console errors, uncaught page errors and 5xx responses of the contexts it watches.

    The browser itself logs "Failed to load resource: ... status of 404" for every refused request;
    a test that provokes one on purpose (another user's document, a session that was ended) names it
    with `allow_http_error`, and every other one still counts."""

    problems: list[str] = field(default_factory=list)
    allowed: list[tuple[re.Pattern[str], set[int]]] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> BrowserContext:
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        context.on("response", self._on_response)
        return context

    def allow_http_error(self, url_pattern: str, *statuses: int) -> None:
        self.allowed.append((re.compile(url_pattern), set(statuses)))

    def _is_allowed(self, url: str, status: int) -> bool:
        return any(pattern.search(url) and status in statuses for pattern, statuses in self.allowed)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        status = re.search(r"status of (\d{3})", message.text)
        if status and self._is_allowed(url, int(status.group(1))):
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.problems.append(f"server error {response.status}: {response.request.method} {response.url}")


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now, of the given impacts.

    Evaluated through the DevTools protocol, which the app's CSP (script-src 'self') does not govern:
    an injected <script> would be refused, and the console check would see the refusal."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate((AXE_DIR / "axe.min.js").read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')).slice(0, 10),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in impacts]


def all_axe_violations(page: Page) -> list[dict[str, Any]]:
    return axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core on {page.url}: serious/critical violations:\n" + "\n".join(
        f"  [{v['impact']}] {v['id']} ({v['help']}): {', '.join(v['targets'])}" for v in violations
    )


def register(base_url: str, prefix: str = "u") -> dict[str, str]:
    """A new account, made through the API (the browser tests sign up in the UI only where that is
    what they test)."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, "full_name": f"{name} 님"}
    response = httpx.post(f"{base_url}/api/auth/register", json=account, timeout=10)
    assert response.status_code == 201, response.text
    account["id"] = str(response.json()["data"]["id"])
    return account


def make_superuser(env: dict[str, str], account: dict[str, str]) -> None:
    """As an operator does it: `init_db.py --create-superuser` (keeps the account's password)."""
    subprocess.run(
        [sys.executable, "init_db.py", "--create-superuser", account["username"], account["email"]],
        cwd=ROOT,
        env={**env, "FIRST_SUPERUSER_PASSWORD": account["password"]},
        check=True,
        capture_output=True,
        timeout=60,
    )


def api_token(base_url: str, account: dict[str, str]) -> str:
    response = httpx.post(
        f"{base_url}/api/auth/login", data={"username": account["username"], "password": account["password"]}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def axe_summary(violations: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
    return json.dumps(counts, sort_keys=True)


def ui_login(page: Page, username: str, password: str, next_path: str = "/documents") -> None:
    """Logs in through the login form, as a person does, and waits for the page it leads to."""
    page.goto("/login")
    form = page.locator("main form")
    form.locator("input[autocomplete=username]").fill(username)
    form.locator("input[type=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**{next_path}")


KOREAN_INVOICE = ROOT / "tests" / "samples" / "pdf" / "korean_invoice.pdf"


def upload_and_wait(
    base_url: str, account: dict[str, str], path: Path, filename: str, expect_status: str = "completed"
) -> str:
    """Uploads through the API and waits until the document is done (completed, unless another status
    is expected); returns its id."""
    headers = {"Authorization": f"Bearer {api_token(base_url, account)}"}
    response = httpx.post(
        f"{base_url}/api/documents/upload", headers=headers, files={"file": (filename, path.read_bytes())}, timeout=30
    )
    assert response.status_code == 202, response.text
    document_id = str(response.json()["data"]["id"])
    deadline = time.monotonic() + 60
    while True:
        status = httpx.get(f"{base_url}/api/documents/{document_id}", headers=headers).json()["data"]["status"]
        if status in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, f"still {status}"
        time.sleep(0.2)
    assert status == expect_status, status
    return document_id


def batch_and_wait(base_url: str, account: dict[str, str], files: list[tuple[str, bytes]]) -> str:
    """Sends the files as one batch through the API and waits until every accepted document is done;
    returns the batch id."""
    headers = {"Authorization": f"Bearer {api_token(base_url, account)}"}
    response = httpx.post(
        f"{base_url}/api/v1/documents/batch",
        headers=headers,
        files=[("files", (name, content)) for name, content in files],
        timeout=60,
    )
    assert response.status_code == 202, response.text
    batch_id = str(response.json()["data"]["batch_id"])
    deadline = time.monotonic() + 90
    while httpx.get(f"{base_url}/api/v1/batches/{batch_id}", headers=headers).json()["data"]["completed_at"] is None:
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.2)
    return batch_id
