"""Korean tax invoices (전자세금계산서) as PDF and a statement of transaction (거래명세서) as XLSX,
written where a test asks (tmp_path), one that adds up and one that does not."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.samples.make_pdfs import FONT, _canvas, _register_font, _ruled_table

SUPPLIER_BRN = "220-81-62517"  # checksum-valid
BUYER_BRN = "214-81-00006"  # checksum-valid
INVALID_BRN = "214-81-00007"  # last digit off: checksum fails


@dataclass(frozen=True)
class Invoice:
    supplier_brn: str = SUPPLIER_BRN
    buyer_brn: str = BUYER_BRN
    items: tuple[tuple[str, int, int], ...] = (("사무용 의자", 2, 150_000), ("모니터", 4, 200_000))
    tax: int | None = None  # None: 10 % of the supply amount
    total: int | None = None  # None: supply + tax
    item_taxes: tuple[int, ...] = field(default=())

    @property
    def supply(self) -> int:
        return sum(q * p for _, q, p in self.items)

    @property
    def tax_amount(self) -> int:
        return self.tax if self.tax is not None else self.supply // 10

    @property
    def total_amount(self) -> int:
        return self.total if self.total is not None else self.supply + self.tax_amount


GOOD = Invoice()
# 세액 100,000 where 10 % of 1,100,000 is 110,000, and a buyer number whose checksum fails.
BAD = Invoice(buyer_brn=INVALID_BRN, tax=100_000)


def tax_invoice_pdf(path: Path, invoice: Invoice) -> Path:
    _register_font()
    c = _canvas(path, "전자세금계산서")
    c.setFont(FONT, 20)
    c.drawString(72, 780, "전자세금계산서")
    c.setFont(FONT, 11)
    lines = [
        "승인번호: 20260315-41000012-7c9f3a21",
        "작성일자: 2026-03-15",
        f"공급자 등록번호: {invoice.supplier_brn}",
        "공급자 상호: 주식회사 한빛상사",
        f"공급받는자 등록번호: {invoice.buyer_brn}",
        "공급받는자 상호: 주식회사 가람유통",
    ]
    y = 750.0
    for line in lines:
        c.drawString(72, y, line)
        y -= 18
    rows = [["월일", "품목", "수량", "단가", "공급가액", "세액"]]
    for name, quantity, price in invoice.items:
        amount = quantity * price
        rows.append(["03/15", name, str(quantity), f"{price:,}", f"{amount:,}", f"{amount // 10:,}"])
    bottom = _ruled_table(c, rows, 72, y - 10, (45, 110, 45, 75, 90, 80))
    y = bottom - 30
    for line in (
        f"공급가액: {invoice.supply:,}원",
        f"세액: {invoice.tax_amount:,}원",
        f"합계금액: {invoice.total_amount:,}원",
    ):
        c.drawString(72, y, line)
        y -= 18
    c.showPage()
    c.save()
    return path


def statement_xlsx(path: Path, invoice: Invoice) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "거래명세서"
    ws.append(["거래명세서"])
    ws.append([])
    ws.append(["거래일자", "2026-03-15"])
    ws.append(["공급자 등록번호", invoice.supplier_brn])
    ws.append(["공급받는자 등록번호", invoice.buyer_brn])
    ws.append([])
    ws.append(["품목", "수량", "단가", "공급가액", "세액"])
    first = ws.max_row + 1
    for name, quantity, price in invoice.items:
        ws.append([name, quantity, price, quantity * price, quantity * price // 10])
    last = ws.max_row
    ws.append([])
    # Values as a script writes them: formulas without cached results, computed by the extractor.
    ws.append(["공급가액", f"=SUM(D{first}:D{last})"])
    ws.append(["세액", invoice.tax_amount if invoice.tax is not None else f"=SUM(E{first}:E{last})"])
    ws.append(
        ["합계금액", invoice.total_amount if invoice.total is not None else f"=SUM(B{ws.max_row - 1},B{ws.max_row})"]
    )
    wb.save(path)
    return path
