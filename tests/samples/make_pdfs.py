"""Writes the PDF samples under tests/samples/pdf/ (run: .venv/bin/python -m tests.samples.make_pdfs).

ReportLab's invariant mode fixes the creation date and document ID, so re-running the script gives
identical bytes and the samples can be committed. Text is drawn with NanumGothic registered as a
TrueType font, so it is embedded (subset) and extractable; the scanned sample is the exception, by
design: an image and no text layer.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "pdf"
FONT_PATH = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
FONT = "NanumGothic"

USER_PASSWORD = "s3cret-비밀"
OWNER_PASSWORD = "owner-only-2026"
BUSINESS_NUMBER = "220-81-62517"

INVOICE_LINES = [
    "송장번호: INV-2026-0315",
    "발행일: 2026년 3월 15일",
    "공급자: 주식회사 한빛상사",
    f"사업자등록번호: {BUSINESS_NUMBER}",
    "담당자: 010-1234-5678",
    "이메일: sales@hanbit.co.kr",
]
INVOICE_TABLE = [
    ["품목", "수량", "단가", "금액"],
    ["사무용 의자", "2", "150,000", "300,000"],
    ["모니터", "4", "200,000", "800,000"],
]
INVOICE_TOTALS = ["공급가액 1,000,000원", "부가세 100,000원", "합계 금액 1,100,000원"]
UNRULED_TABLE = [
    ["Region", "지역", "Q1", "Q2"],
    ["North", "북부", "120", "151"],
    ["South", "남부", "98", "87"],
    ["East", "동부", "143", "160"],
    ["West", "서부", "77", "102"],
]
SCANNED_LINES = ["스캔 문서 테스트", "Invoice 2026"]


def business_number_is_valid(number: str) -> bool:
    """Korean business registration number checksum (weights 1,3,7,1,3,7,1,3,5)."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) != 10:
        return False
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(d * w for d, w in zip(digits, weights, strict=False)) + digits[8] * 5 // 10
    return (10 - total % 10) % 10 == digits[9]


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH)))


def _canvas(path: Path, title: str, encrypt: Any = None) -> Any:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, invariant=True, encrypt=encrypt)
    c.setTitle(title)
    c.setAuthor("fastapi_app tests")
    c.setCreator("tests/samples/make_pdfs.py")
    return c


def _ruled_table(c: Any, rows: Sequence[Sequence[str]], x: float, y_top: float, widths: Sequence[float]) -> float:
    """Draws a grid table with its text; returns the y of its bottom rule."""
    row_h = 22.0
    right = x + sum(widths)
    bottom = y_top - row_h * len(rows)
    c.setLineWidth(0.8)
    for i in range(len(rows) + 1):
        c.line(x, y_top - i * row_h, right, y_top - i * row_h)
    col_x = x
    for w in [0.0, *widths]:
        col_x += w
        c.line(col_x, y_top, col_x, bottom)
    c.setFont(FONT, 10)
    for r, row in enumerate(rows):
        col_x = x
        for w, text in zip(widths, row, strict=True):
            c.drawString(col_x + 5, y_top - r * row_h - 15, text)
            col_x += w
    return bottom


def korean_invoice(path: Path) -> None:
    assert business_number_is_valid(BUSINESS_NUMBER)
    c = _canvas(path, "거래명세서 INV-2026-0315")
    c.setFont(FONT, 20)
    c.drawString(72, 770, "거래명세서")
    c.setFont(FONT, 11)
    y = 735.0
    for line in INVOICE_LINES:
        c.drawString(72, y, line)
        y -= 18
    bottom = _ruled_table(c, INVOICE_TABLE, 72, y - 12, (170, 70, 110, 110))
    y = bottom - 30
    c.setFont(FONT, 11)
    for line in INVOICE_TOTALS:
        c.drawString(72, y, line)
        y -= 18
    c.showPage()
    c.save()


def unruled_table(path: Path) -> None:
    c = _canvas(path, "Quarterly sales by region")
    c.setFont(FONT, 14)
    c.drawString(72, 770, "지역별 분기 매출 Quarterly sales")
    c.setFont(FONT, 10)
    c.drawString(72, 745, "아래 표는 선 없이 열을 맞춘 표입니다. The table below has no rules.")
    y = 710.0
    for row in UNRULED_TABLE:
        c.drawString(72, y, row[0])
        c.drawString(160, y, row[1])
        # numbers are right-aligned, as in most reports
        c.drawRightString(280, y, row[2])
        c.drawRightString(350, y, row[3])
        y -= 18
    c.drawString(72, y - 20, "출처: 영업팀 내부 자료. Source: sales team.")
    c.showPage()
    c.save()


def _one_line_pdf(path: Path, title: str, text: str, encrypt: Any) -> None:
    c = _canvas(path, title, encrypt=encrypt)
    c.setFont(FONT, 16)
    c.drawString(72, 760, text)
    c.setFont(FONT, 11)
    c.drawString(72, 730, "This page is used by the PDF extraction tests.")
    c.showPage()
    c.save()


def encrypted_user_pw(path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    encrypt = StandardEncryption(USER_PASSWORD, OWNER_PASSWORD, strength=128)
    _one_line_pdf(path, "Encrypted sample", "암호화된 문서", encrypt)


def copy_protected(path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    # An empty user password: anyone can open and print it, but copying is forbidden.
    encrypt = StandardEncryption("", OWNER_PASSWORD, canPrint=1, canModify=0, canCopy=0, canAnnotate=0, strength=128)
    _one_line_pdf(path, "Copy-protected sample", "복사 금지 문서", encrypt)


def scanned_korean(path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader

    dpi = 300
    width_in, height_in = 6.0, 1.6
    image = Image.new("L", (int(width_in * dpi), int(height_in * dpi)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT_PATH), 96)  # 96 px at 300 dpi is about 23 pt
    for i, line in enumerate(SCANNED_LINES):
        draw.text((60, 60 + i * 170), line, fill=0, font=font)
    png = io.BytesIO()
    image.save(png, format="PNG", dpi=(dpi, dpi))
    png.seek(0)

    c = _canvas(path, "Scanned sample")
    c.drawImage(ImageReader(png), 72, 842 - 72 - height_in * 72, width=width_in * 72, height=height_in * 72)
    c.showPage()
    c.save()


def twenty_pages(path: Path) -> None:
    c = _canvas(path, "20-page report")
    paragraph = [
        "이 보고서는 문서 처리 서비스의 성능 측정을 위한 예시입니다.",
        "This report is a sample used to time report rendering and extraction.",
        "매출, 비용, 재고 현황을 페이지마다 요약합니다. Sales, costs and stock are summarised.",
    ]
    for number in range(1, 21):
        c.setFont(FONT, 16)
        c.drawString(72, 780, f"월간 보고서 Monthly report — {number}쪽 / page {number}")
        c.setFont(FONT, 10)
        y = 750.0
        for k in range(12):
            c.drawString(72, y, paragraph[k % len(paragraph)])
            y -= 15
        if number % 5 == 0:
            rows = [["항목 Item", "1월 Jan", "2월 Feb", "3월 Mar"]]
            rows += [
                [f"품목 {i}", f"{100 + i * number}", f"{110 + i * number}", f"{120 + i * number}"] for i in range(1, 7)
            ]
            _ruled_table(c, rows, 72, y - 20, (160, 90, 90, 90))
        c.setFont(FONT, 8)
        c.drawString(72, 40, f"- {number} -")
        c.showPage()
    c.save()


SAMPLES: dict[str, Callable[[Path], None]] = {
    "korean_invoice.pdf": korean_invoice,
    "unruled_table.pdf": unruled_table,
    "encrypted_user_pw.pdf": encrypted_user_pw,
    "copy_protected.pdf": copy_protected,
    "scanned_korean.pdf": scanned_korean,
    "twenty_pages.pdf": twenty_pages,
}


def main(out: Path = OUT) -> list[Path]:
    _register_font()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SAMPLES.items():
        make(out / name)
        written.append(out / name)
    return written


if __name__ == "__main__":
    for written_path in main():
        print(f"{written_path} {written_path.stat().st_size} bytes")
