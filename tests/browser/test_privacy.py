"""Another user's document URL shows "not found", and nothing of that document reaches the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import KOREAN_INVOICE, ConsoleWatch, register, ui_login, upload_and_wait
from tests.support.stack import Stack

SAMPLE_NAME = "한빛상사_비밀_거래명세서.pdf"


def test_another_users_document_url_shows_not_found_and_none_of_its_data(
    page: Page, console: ConsoleWatch, live_stack: Stack, account: dict[str, str]
) -> None:
    owner = register(live_stack.base_url, prefix="owner")
    document_id = upload_and_wait(live_stack.base_url, owner, KOREAN_INVOICE, SAMPLE_NAME)

    console.allow_http_error(rf"/api/v1/documents/{document_id}", 404)
    ui_login(page, account["username"], account["password"])
    page.goto(f"/documents/{document_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("찾을 수 없습니다")
    expect(page.locator("main")).to_contain_text("문서를 찾을 수 없습니다. 삭제되었거나 다른 사용자의 문서입니다.")
    page.wait_for_load_state("networkidle")
    html = page.content()
    for secret in (SAMPLE_NAME, "INV-2026-0315", "한빛상사", "1,100,000", owner["username"]):
        assert secret not in html, f"{secret!r} of another user's document is in the page"

    # Their own list does not show it either.
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="문서", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("문서 목록")
    page.wait_for_load_state("networkidle")
    expect(page.locator("main")).not_to_contain_text(SAMPLE_NAME)
