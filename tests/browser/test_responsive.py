"""At a phone's width (390x844) the document list, a document's page and a batch's page fit the screen
(no sideways scrolling) and the menu opens and leads somewhere."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.support.browser import KOREAN_INVOICE, PHONE, batch_and_wait, ui_login, upload_and_wait
from tests.support.stack import Stack

# A long name without spaces: the kind that pushes a table wider than a phone.
LONG_NAME = "아주_긴_이름의_거래명세서_2026년_3월분_주식회사_한빛상사_최종본.pdf"
LONG_PROGRAM_NAME = "아주_긴_이름의_실행_파일_설치_프로그램_최종본_v2.exe"


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: content {widths[0]} px wide on a {widths[1]} px screen"


def test_phone_width_lists_and_document_fit_and_the_menu_works(
    new_page: PageFactory, live_stack: Stack, account: dict[str, str]
) -> None:
    document_id = upload_and_wait(
        live_stack.base_url, account, KOREAN_INVOICE, "아주_긴_이름의_거래명세서_2026년_3월분_한빛상사.pdf"
    )
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    ui_login(page, account["username"], account["password"])

    expect(page.get_by_role("heading", level=1)).to_have_text("문서 목록")
    expect(page.locator("main")).to_contain_text("아주_긴_이름의_거래명세서")
    page.wait_for_load_state("networkidle")
    assert_no_horizontal_scroll(page)

    page.goto(f"/documents/{document_id}")
    expect(page.locator(".headline")).to_contain_text("INV-2026-0315")
    page.wait_for_load_state("networkidle")
    assert_no_horizontal_scroll(page)

    batch_id = batch_and_wait(
        live_stack.base_url,
        account,
        [(LONG_NAME, KOREAN_INVOICE.read_bytes()), (LONG_PROGRAM_NAME, b"MZ" + bytes(254))],
    )
    page.goto(f"/batches/{batch_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("일괄 업로드")
    expect(page.get_by_role("table", name="묶음의 문서")).to_contain_text("아주_긴_이름의_거래명세서")
    expect(page.locator("main")).to_contain_text(LONG_PROGRAM_NAME)
    page.wait_for_load_state("networkidle")
    assert_no_horizontal_scroll(page)

    # The nav is folded behind the menu button; it opens, its links work, and it folds again.
    menu = page.get_by_role("button", name="메뉴")
    nav = page.get_by_role("navigation", name="주 메뉴")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="통계")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="통계").click()
    expect(page).to_have_url(re.compile(r"/stats$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("통계")
    expect(nav.get_by_role("link", name="통계")).to_be_hidden()
    assert_no_horizontal_scroll(page)
