"""Documents we make ourselves, beside the public corpus: Korean content, hostile and broken files."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date
from pathlib import Path


def korean_invoice_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "송장"
    ws.append(["송장번호", "INV-2026-0315"])
    ws.append(["공급자", "주식회사 한빛상사"])
    ws.append(["발행일", date(2026, 3, 15)])
    ws.append([])
    ws.append(["품목", "수량", "단가", "금액"])
    ws.append(["사무용 의자", 2, 150000, 300000])
    ws.append(["모니터", 4, 200000, 800000])
    ws.append(["합계", None, None, "=SUM(D6:D7)"])
    summary = wb.create_sheet("요약")
    summary.append(["항목", "값"])
    summary.append(["합계 금액", 1100000])
    wb.save(path)
    return path


def png_bytes(width: int, height: int) -> bytes:
    """A valid grayscale PNG whose header claims width x height (one zlib stream of zeros)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = zlib.compress(b"\x00" * (width + 1) * min(height, 4))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def decompression_bomb_png() -> bytes:
    """Header says 40,000 x 40,000 pixels (1.6 gigapixels): must be refused, never decoded."""
    return png_bytes(40_000, 40_000)


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n" + b"\x00garbage that is not a pdf object\n" * 200 + b"%%EOF\n"


def small_text_pdf() -> bytes:
    """A one-page PDF with a text layer, made with pypdf only (no font files needed)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 14 Tf 72 770 Td (Invoice Number 42183017 Total 1,100,000 KRW) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


NANUM_GOTHIC = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")


def korean_invoice_pdf(
    number: str = "INV-2026-0315",
    supplier: str = "주식회사 한빛상사",
    items: tuple[tuple[str, int, int], ...] = (("사무용 의자", 2, 150_000), ("모니터", 4, 200_000)),
    issued: str = "2026년 3월 15일",
) -> bytes:
    """A one-page Korean 거래명세서 with a ruled item table; totals are computed from the items."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "TestKorean" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestKorean", str(NANUM_GOTHIC)))
    style = ParagraphStyle("k", fontName="TestKorean", fontSize=11, leading=16)
    title = ParagraphStyle("t", parent=style, fontSize=18, leading=24)
    supply = sum(quantity * price for _, quantity, price in items)
    vat = supply // 10
    rows = [["품목", "수량", "단가", "금액"]] + [
        [name, str(quantity), f"{price:,}", f"{quantity * price:,}"] for name, quantity, price in items
    ]
    table = Table(rows, colWidths=[200, 60, 100, 100])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), "TestKorean"),
                               ("GRID", (0, 0), (-1, -1), 0.8, colors.black)]))  # fmt: skip
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title="거래명세서", author=supplier, invariant=1)
    doc.build([
        Paragraph("거래명세서", title), Spacer(1, 8),
        Paragraph(f"송장번호: {number}", style), Paragraph(f"발행일: {issued}", style),
        Paragraph(f"공급자: {supplier}", style), Paragraph("사업자등록번호: 220-81-62517", style),
        Spacer(1, 8), table, Spacer(1, 8),
        Paragraph(f"공급가액 {supply:,}원", style), Paragraph(f"부가세 {vat:,}원", style),
        Paragraph(f"합계 금액 {supply + vat:,}원", style),
    ])  # fmt: skip
    return buffer.getvalue()


DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def scanned_pages_pdf(page_words: list[str], *, dpi: int = 150) -> bytes:
    """A PDF of text-less pages, each an image of its words in large type (as a scanner delivers them),
    so every page needs OCR and its text is known."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(DEJAVU_SANS), 48)
    images = []
    for words in page_words:
        image = Image.new("L", (1240, 500), 255)
        ImageDraw.Draw(image).text((80, 200), words, font=font, fill=0)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()
