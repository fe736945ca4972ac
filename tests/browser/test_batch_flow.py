"""Office staff send a ZIP of the month's papers as one batch: the upload page sends it and opens the
batch's page, which names the refused file and why, counts the documents to 2 completed live (the
WebSocket's batch.progress, no reload), links to each document, and downloads the batch's summary
report, which names both documents.

The ZIP holds the Korean invoice sample, the scanned page sample (seconds of OCR: the page is open
before the batch ends, so the counts it shows at the end came over the WebSocket) and a Windows program
(no type the service reads: UNSUPPORTED_FILE_TYPE, refused at upload; README "Batches")."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from playwright.sync_api import Page, WebSocket, expect

from tests.support.browser import KOREAN_INVOICE, ROOT, ConsoleWatch, ui_login

INVOICE = "거래명세서_한빛상사.pdf"
SCAN = "스캔_명세서.png"
PROGRAM = "setup.exe"
ZIP_NAME = "3월_거래서류.zip"
# A DOS/PE header: libmagic's application/x-dosexec.
SCAN_SAMPLE = ROOT / "tests" / "samples" / "images" / "scan_korean_english.png"
PROGRAM_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(112) + b"PE\x00\x00" + bytes(256)


def month_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"3월/{INVOICE}", KOREAN_INVOICE.read_bytes())
        archive.writestr(f"3월/{SCAN}", SCAN_SAMPLE.read_bytes())
        archive.writestr(PROGRAM, PROGRAM_BYTES)
    return buffer.getvalue()


def count_of(page: Page, label: str, within: str) -> Any:
    return page.locator(f"{within} > div").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def test_a_zip_batch_from_upload_to_its_live_page_its_documents_and_its_summary_report(
    page: Page, account: dict[str, str], tmp_path: Path
) -> None:
    # What the page hears over the WebSocket, to tell live counts from ones read again.
    frames: list[dict[str, Any]] = []

    def on_socket(socket: WebSocket) -> None:
        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and payload.startswith("{"):
                frames.append(json.loads(payload))

        socket.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    ui_login(page, account["username"], account["password"])

    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="업로드").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("문서 업로드")
    expect(page.get_by_role("heading", level=2, name="한 묶음으로 올리기 (일괄 업로드)")).to_be_visible()
    expect(page.locator("main .live").first).to_have_text("실시간 연결됨")
    page.evaluate("() => { window.__sameDocument = true; }")

    send = page.get_by_role("button", name="일괄 업로드", exact=True)
    expect(send).to_be_disabled()
    page.get_by_label("일괄 업로드할 ZIP 파일 또는 여러 파일 선택").set_input_files(
        {"name": ZIP_NAME, "mimeType": "application/zip", "buffer": month_zip()}
    )
    expect(page.locator("main")).to_contain_text(f"선택한 ZIP 파일: {ZIP_NAME}")
    send.click()

    # The batch's page, reached without a reload.
    expect(page).to_have_url(re.compile(r"/batches/[0-9a-f-]{36}$"))
    batch_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text("일괄 업로드")
    expect(page).to_have_title("일괄 업로드 · 문서 처리 서비스")
    expect(page.locator(".toast")).to_contain_text("일괄 업로드를 받았습니다: 접수 2개, 거부 1개.")
    expect(page.locator("main")).to_contain_text("ZIP 압축 파일")
    expect(count_of(page, "보낸 파일", ".batch-totals")).to_have_text("3")
    expect(count_of(page, "접수", ".batch-totals")).to_have_text("2")
    expect(count_of(page, "거부", ".batch-totals")).to_have_text("1")

    # The refused file, with its reason in words.
    refused = page.get_by_role("region", name="거부된 파일 (표)").get_by_role("row").filter(has_text=PROGRAM)
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("지원하지 않는 파일 형식입니다")
    expect(refused).to_contain_text("UNSUPPORTED_FILE_TYPE")

    # The counts reach 2 completed as the documents finish, announced in the live region.
    expect(count_of(page, "완료", ".batch-counts")).to_have_text("2", timeout=90_000)
    expect(count_of(page, "실패", ".batch-counts")).to_have_text("0")
    expect(count_of(page, "대기", ".batch-counts")).to_have_text("0")
    expect(page.locator("#batch-progress")).to_have_attribute("value", "2")
    expect(page.locator("main [role=status][aria-live=polite]")).to_have_text(
        "일괄 업로드 처리가 끝났습니다: 완료 2개, 실패 0개."
    )
    assert page.evaluate("() => window.__sameDocument === true"), "the app reloaded"
    live = [f for f in frames if f.get("type") in ("batch.progress", "batch.completed") and f["batch_id"] == batch_id]
    assert any(f["counts"]["completed"] == 2 for f in live), live
    assert [f["type"] for f in live].count("batch.completed") == 1

    # Each document of the batch: its row is final and links to its page.
    documents = page.get_by_role("table", name="묶음의 문서")
    expect(documents.get_by_role("row")).to_have_count(3)  # the header and two documents
    expect(documents.locator(".badge")).to_have_text(["완료", "완료"])
    documents.get_by_role("link", name=INVOICE).click()
    expect(page).to_have_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(INVOICE)
    expect(page.locator(".headline")).to_contain_text("INV-2026-0315")
    page.go_back()
    expect(page).to_have_url(re.compile(f"/batches/{batch_id}$"))
    expect(count_of(page, "완료", ".batch-counts")).to_have_text("2")
    assert page.evaluate("() => window.__sameDocument === true"), "the app reloaded"

    # The summary report of the batch: a workbook that names both documents, and nothing refused.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="요약 보고서 엑셀 (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    saved = tmp_path / "batch.xlsx"
    download.save_as(saved)
    workbook = openpyxl.load_workbook(saved, read_only=True)
    cells = {str(c) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for c in row}
    assert {INVOICE, SCAN} <= cells, sorted(cells)[:40]
    assert PROGRAM not in cells


def test_a_batch_with_nothing_acceptable_says_why_for_each_file_and_stays_on_the_upload_page(
    page: Page, account: dict[str, str], console: ConsoleWatch
) -> None:
    console.allow_http_error(r"/api/v1/documents/batch$", 422)
    console.allow_http_error(r"/api/v1/batches/", 404)
    ui_login(page, account["username"], account["password"])
    page.goto("/upload")
    page.get_by_label("일괄 업로드할 ZIP 파일 또는 여러 파일 선택").set_input_files(
        [
            {"name": "빈_파일.csv", "mimeType": "text/csv", "buffer": b""},
            {"name": PROGRAM, "mimeType": "application/octet-stream", "buffer": PROGRAM_BYTES},
        ]
    )
    expect(page.locator("main")).to_contain_text("선택한 파일: 2개")
    page.get_by_role("button", name="일괄 업로드", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("일괄 업로드에서 받아들인 파일이 없습니다")
    expect(alert.get_by_role("listitem")).to_have_text(
        [re.compile(r"^빈_파일\.csv: 빈 파일"), re.compile(rf"^{re.escape(PROGRAM)}: 지원하지 않는 파일 형식")]
    )
    expect(page).to_have_url(re.compile(r"/upload$"))

    # Someone else's batch, or none: not found, as for documents.
    page.goto("/batches/0b0a8f3e-8d1f-4c1e-9b55-1d3c2a1e0f00")
    expect(page.get_by_role("heading", level=1)).to_have_text("찾을 수 없습니다")
    expect(page.locator("main")).to_contain_text("일괄 업로드를 찾을 수 없습니다.")
