"""Regenerate the README's screenshots of the web app (docs/screenshots/*.png).

Starts the real stack itself (uvicorn + Celery worker on PostgreSQL + Redis, tests/support/stack.py),
signs up a demo account made superuser, uploads the Korean invoice sample and a few other documents,
sends a small batch (one file refused), waits for them, and photographs the main pages in Debian's
chromium: desktop 1280x800, plus the document page at a phone's 390x844. With --base-url it uses a
running server instead; then --username/--password must name an existing superuser.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--base-url URL --username U --password P]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.support.browser import PHONE, launch_chromium, make_superuser, new_context, ui_login  # noqa: E402
from tests.support.services import create_postgres_database, drop_postgres_database, require_redis  # noqa: E402
from tests.support.stack import Stack, stack_env  # noqa: E402

SAMPLES = ROOT / "tests" / "samples"
UPLOADS = [
    ("거래명세서_한빛상사.pdf", SAMPLES / "pdf" / "korean_invoice.pdf"),
    ("1분기_지역별_매출.xlsx", SAMPLES / "sheets" / "sales_multisheet.xlsx"),
    ("스캔_명세서.png", SAMPLES / "images" / "scan_korean_english.png"),
    ("암호_걸린_파일.xlsx", SAMPLES / "sheets" / "encrypted.xlsx"),  # fails: the admin page shows why
]
BATCH = [
    ("3월_거래명세서.pdf", (SAMPLES / "pdf" / "korean_invoice.pdf").read_bytes()),
    ("3월_청구서.xlsx", (SAMPLES / "sheets" / "invoice_kv.xlsx").read_bytes()),
    ("스캔_영수증.png", (SAMPLES / "images" / "scan_korean_english.png").read_bytes()),
    ("설치_프로그램.exe", b"MZ" + bytes(254)),  # refused: UNSUPPORTED_FILE_TYPE
]
MAX_HEIGHT = 1500


@contextlib.contextmanager
def own_stack() -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="screenshots-"))
    postgres_url = create_postgres_database()
    redis_url = require_redis()
    stack = Stack(
        env=stack_env(workdir, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url),
        workdir=workdir,
    )
    try:
        with stack.serving():
            yield stack
    finally:
        drop_postgres_database(postgres_url)


def seed(base_url: str, username: str, password: str) -> tuple[str, str]:
    """Uploads the sample documents and sends the batch; returns the Korean invoice's id and the batch's
    id once every document is done."""
    token = httpx.post(f"{base_url}/api/auth/login", data={"username": username, "password": password}).json()[
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for name, path in UPLOADS:
        response = httpx.post(
            f"{base_url}/api/documents/upload", headers=headers, files={"file": (name, path.read_bytes())}, timeout=60
        )
        response.raise_for_status()
        ids.append(response.json()["data"]["id"])
    batch = httpx.post(
        f"{base_url}/api/v1/documents/batch",
        headers=headers,
        files=[("files", (name, content)) for name, content in BATCH],
        timeout=60,
    )
    batch.raise_for_status()
    batch_data = batch.json()["data"]
    ids += [item["document"]["id"] for item in batch_data["items"] if item["status"] == "accepted"]
    deadline = time.monotonic() + 120
    for document_id in ids:
        while True:
            status = httpx.get(f"{base_url}/api/documents/{document_id}", headers=headers).json()["data"]["status"]
            if status in ("completed", "failed"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"document {document_id} still {status}")
            time.sleep(0.3)
    return str(ids[0]), str(batch_data["batch_id"])


def shoot(page: Page, path: str, out: Path, name: str, ready: str = "main h1") -> None:
    page.goto(path)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    # Charts animate in; toasts fade out.
    page.wait_for_timeout(900)
    target = out / f"{name}.png"
    # The whole page, cut at MAX_HEIGHT: long pages (the document's) stay readable and under ~300 KB.
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), MAX_HEIGHT)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    page.screenshot(path=str(target), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  {target.stat().st_size // 1024} KB")


def take(base_url: str, username: str, password: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    invoice_id, batch_id = seed(base_url, username, password)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = new_context(browser, base_url)
            page = context.new_page()
            shoot(page, "/login", out, "login", ready="main form")
            ui_login(page, username, password)
            shoot(page, "/upload", out, "upload")
            shoot(page, "/documents", out, "documents")
            shoot(page, f"/documents/{invoice_id}", out, "document", ready="main h1")
            shoot(page, f"/batches/{batch_id}", out, "batch", ready="main table")
            shoot(page, "/stats", out, "stats")
            shoot(page, "/admin/users", out, "admin-users", ready="main table")
            shoot(page, "/admin/documents", out, "admin-documents", ready="main table")
            shoot(page, "/admin/operations", out, "admin-operations", ready="main canvas")
            context.close()

            phone = new_context(browser, base_url, viewport=PHONE, is_mobile=True, has_touch=True)
            page = phone.new_page()
            ui_login(page, username, password)
            shoot(page, f"/documents/{invoice_id}", out, "document-phone")
            phone.close()
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--base-url")
    parser.add_argument("--username")
    parser.add_argument("--password")
    args = parser.parse_args()
    if args.base_url:
        if not (args.username and args.password):
            parser.error("--base-url needs --username and --password of a superuser")
        take(args.base_url.rstrip("/"), args.username, args.password, args.out)
        return
    with own_stack() as stack:
        account = {
            "username": "minji",
            "email": f"minji-{uuid.uuid4().hex[:6]}@example.com",
            "password": "password123",
            "full_name": "김민지",
        }
        registered = httpx.post(f"{stack.base_url}/api/auth/register", json=account)
        registered.raise_for_status()
        make_superuser(stack.env, account)
        for other in ("hanbit_sales", "seoul_office"):
            httpx.post(
                f"{stack.base_url}/api/auth/register",
                json={"username": other, "email": f"{other}@example.com", "password": "password123"},
            ).raise_for_status()
        take(stack.base_url, account["username"], account["password"], args.out)


if __name__ == "__main__":
    main()
