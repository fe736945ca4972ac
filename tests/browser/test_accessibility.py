"""axe-core on every page (no serious or critical violation), and the login form by keyboard alone.

axe-core (tests/browser/vendor/axe-core) runs through the DevTools protocol in the same watched
context: the app's CSP stays on and the console check still applies. Each page is checked once its
content is there (no loading state left)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.support.browser import (
    KOREAN_INVOICE,
    all_axe_violations,
    assert_accessible,
    axe_summary,
    batch_and_wait,
    ui_login,
    upload_and_wait,
)
from tests.support.stack import Stack

RESULTS: dict[str, str] = {}


def settled(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".state-loading")).to_have_count(0)
    page.wait_for_load_state("networkidle")


def check(page: Page, path: str) -> None:
    settled(page, path)
    RESULTS[path] = axe_summary(all_axe_violations(page))
    assert_accessible(page)


@pytest.fixture(scope="module", autouse=True)
def report_results() -> Iterator[None]:
    yield
    # The figures for the closing note: every violation found, by impact, per page.
    print("\naxe-core violations by impact:\n" + "\n".join(f"  {p}: {c}" for p, c in RESULTS.items()))


def test_guest_pages(page: Page) -> None:
    for path in ("/login", "/signup"):
        check(page, path)


def test_user_pages(page: Page, live_stack: Stack, account: dict[str, str]) -> None:
    document_id = upload_and_wait(live_stack.base_url, account, KOREAN_INVOICE, "거래명세서.pdf")
    # A batch with a refused file: its page shows the refused-files table too.
    batch_id = batch_and_wait(
        live_stack.base_url, account, [("명세서_사본.pdf", KOREAN_INVOICE.read_bytes()), ("빈_파일.csv", b"")]
    )
    ui_login(page, account["username"], account["password"])
    for path in ("/upload", "/documents", f"/documents/{document_id}", f"/batches/{batch_id}", "/stats", "/profile"):
        check(page, path)
    RESULTS["/documents/{id}"] = RESULTS.pop(f"/documents/{document_id}")
    RESULTS["/batches/{id}"] = RESULTS.pop(f"/batches/{batch_id}")


def test_admin_pages(new_page: PageFactory, live_stack: Stack, superuser: dict[str, str]) -> None:
    page = new_page()
    ui_login(page, superuser["username"], superuser["password"])
    for path in ("/admin", "/admin/users", "/admin/documents", "/admin/operations"):
        check(page, path)


def test_login_form_by_keyboard_alone(page: Page, account: dict[str, str]) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("로그인")
    username = page.get_by_label("아이디 또는 이메일")
    # From the top of the page, Tab reaches the username field (after the skip link and the header).
    for _ in range(15):
        page.keyboard.press("Tab")
        if username.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the username field")
    page.keyboard.type(account["username"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("비밀번호")).to_be_focused()
    page.keyboard.type(account["password"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/documents$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("문서 목록")
    # Focus moved to the new page's heading, so a screen reader announces it.
    expect(page.get_by_role("heading", level=1)).to_be_focused()
