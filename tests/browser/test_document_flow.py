"""A new user signs up, logs in, uploads the Korean invoice sample, watches it complete live on the
upload page, reads its number and total on its page and downloads its PDF report.

The facts are tests/samples/README.md's for pdf/korean_invoice.pdf (송장번호 INV-2026-0315, 합계 금액
1,100,000원)."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support.browser import KOREAN_INVOICE, PASSWORD, ui_login

INVOICE_NUMBER = "INV-2026-0315"
TOTAL = "1,100,000"
FILENAME = "거래명세서_한빛상사.pdf"


def headline_value(page: Page, label: str) -> Locator:
    return page.locator(".headline > div").filter(has=page.locator("dt", has_text=label)).locator("dd")


def test_sign_up_upload_watch_it_complete_live_read_it_and_download_its_pdf_report(page: Page, tmp_path: Path) -> None:
    name = f"kim{uuid.uuid4().hex[:8]}"

    # Sign up in the UI (it logs the new account in), log out, log in with the form.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    page.get_by_role("link", name="회원가입").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("회원가입")
    page.get_by_label("아이디").fill(name)
    page.get_by_label("이메일").fill(f"{name}@example.com")
    page.get_by_label("이름").fill("김민지")
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_label("비밀번호 확인").fill(PASSWORD)
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(re.compile(r"/documents$"))
    expect(page.locator(".user-name")).to_have_text("김민지")
    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    ui_login(page, name, PASSWORD)

    # Upload on the upload page and watch it there: no reload, no navigation.
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="업로드").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("문서 업로드")
    # Progress comes over the WebSocket (the page would fall back to polling without it).
    expect(page.locator("main .live")).to_have_text("실시간 연결됨")
    page.evaluate("() => { window.__sameDocument = true; }")
    page.get_by_label("업로드할 파일 선택").set_input_files(
        {"name": FILENAME, "mimeType": "application/pdf", "buffer": KOREAN_INVOICE.read_bytes()}
    )
    item = page.locator(".upload-item").filter(has_text=FILENAME)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text("완료", timeout=60_000)
    expect(item.locator("progress")).to_have_count(0)
    assert page.evaluate("() => window.__sameDocument === true"), "the upload page reloaded or navigated"
    expect(page).to_have_url(re.compile(r"/upload$"))

    # Its page: the invoice's number and total, as the sample prints them.
    item.get_by_role("link", name=re.compile("문서 보기")).click()
    expect(page).to_have_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(FILENAME)
    expect(page.locator(".headline")).to_be_visible()
    expect(headline_value(page, "문서 번호")).to_have_text(INVOICE_NUMBER)
    expect(headline_value(page, "합계 금액")).to_contain_text(TOTAL)

    # The PDF report: a real PDF that holds the invoice number.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="보고서 PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    saved = tmp_path / "report.pdf"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(saved), "-"], capture_output=True, check=True, text=True).stdout
    assert INVOICE_NUMBER in text
    assert TOTAL in text
