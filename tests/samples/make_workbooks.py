"""Writes the spreadsheet samples under tests/samples/sheets/ (facts in tests/samples/README.md).

    .venv/bin/python -m tests.samples.make_workbooks

Needs XlsxWriter and msoffcrypto-tool (dev-only: the extractor itself uses neither). Formulas are
written with their cached results (``value=``), as Excel would have saved them, because the extractor
reports what Excel last computed and never recalculates.
"""

from __future__ import annotations

import struct
import zlib
from datetime import date, datetime, time
from pathlib import Path

SHEETS_DIR = Path(__file__).resolve().parent / "sheets"
# Fixed document properties keep the regenerated files byte-identical (except encrypted.xlsx,
# whose encryption salt is random by design).
_CREATED = datetime(2026, 3, 15, 9, 0, 0)
_PASSWORD = "s3cret"

SALES = [("North", 120, 151, 133), ("South", 98, 105, 110), ("East", 143, 139, 160), ("West", 87, 92, 101)]


def _workbook(path: Path, **options: object) -> object:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), options)
    workbook.set_properties({"created": _CREATED, "author": "tests"})
    return workbook


def sales_multisheet(path: Path) -> None:
    wb = _workbook(path)
    bold = wb.add_format({"bold": True})
    iso_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    clock = wb.add_format({"num_format": "hh:mm:ss"})
    hours = wb.add_format({"num_format": "[h]:mm"})

    ws = wb.add_worksheet("매출")
    ws.merge_range("A1:E1", "2026년 1분기 지역별 매출", bold)
    ws.write_row("A3", ["Region/지역", "Q1", "Q2", "Q3", "합계"], bold)
    for offset, (region, q1, q2, q3) in enumerate(SALES):
        row = 3 + offset  # 0-based: spreadsheet rows 4..7
        ws.write_row(row, 0, [region, q1, q2, q3])
        ws.write_formula(row, 4, f"=SUM(B{row + 1}:D{row + 1})", None, q1 + q2 + q3)
    ws.write_string(7, 0, "합계")
    for col, letter in enumerate("BCDE", start=1):
        total = sum(r[col] for r in SALES) if col < 4 else sum(sum(r[1:]) for r in SALES)
        ws.write_formula(7, col, f"=SUM({letter}4:{letter}7)", None, total)

    plan = wb.add_worksheet("일정")
    plan.write_row("A1", ["작업", "날짜", "시작", "시각", "소요시간"], bold)
    schedule = [
        ("착수", date(2026, 3, 15), datetime(2026, 3, 15, 9, 30), time(9, 30), 1.5 / 24),
        ("중간 점검", date(2026, 4, 1), datetime(2026, 4, 1, 14, 0), time(14, 0, 15), 26.25 / 24),
        ("완료", date(2026, 6, 30), datetime(2026, 6, 30, 18, 45, 30), time(18, 45, 30), 0.5 / 24),
    ]
    for offset, (task, day, start, at, duration) in enumerate(schedule, start=1):
        plan.write_string(offset, 0, task)
        plan.write_datetime(offset, 1, day, iso_date)
        plan.write_datetime(offset, 2, start, stamp)
        plan.write_datetime(offset, 3, at, clock)
        plan.write_number(offset, 4, duration, hours)

    raw = wb.add_worksheet("원본")
    raw.write_row("A1", ["원본 데이터", "값"])
    raw.write_row("A2", ["North Q2", 151])
    raw.hide()
    settings = wb.add_worksheet("설정")
    settings.write("A1", "very hidden setting")
    settings.very_hidden()

    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "Q2", "categories": "='매출'!$A$4:$A$7", "values": "='매출'!$C$4:$C$7"})
    chartsheet = wb.add_chartsheet("차트")
    chartsheet.set_chart(chart)

    wb.define_name("SalesTotal", "='매출'!$E$8")
    wb.define_name("Regions", "='매출'!$A$4:$A$7")
    wb.define_name("'매출'!LocalOnly", "='매출'!$B$4")  # sheet-scoped: not a workbook-level name
    ws.activate()
    wb.close()


def date1904(path: Path) -> None:
    wb = _workbook(path, date_1904=True)
    iso_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws = wb.add_worksheet("Dates")
    ws.write_row("A1", ["항목", "날짜", "일시"])
    rows = [
        ("발행", date(2026, 3, 15), datetime(2026, 3, 15, 14, 30, 0)),
        ("기준", date(1904, 1, 2), datetime(1999, 12, 31, 23, 59, 59)),
    ]
    for offset, (label, day, stamp_value) in enumerate(rows, start=1):
        ws.write_string(offset, 0, label)
        ws.write_datetime(offset, 1, day, iso_date)
        ws.write_datetime(offset, 2, stamp_value, stamp)
    wb.close()


def invoice_kv(path: Path) -> None:
    wb = _workbook(path)
    iso_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("송장")
    ws.write_row("A1", ["송장번호", "INV-2026-0315"])
    ws.write_row("A2", ["공급자", "주식회사 한빛상사"])
    ws.write_row("A3", ["사업자등록번호", "220-81-62517"])
    ws.write_string("A4", "발행일")
    ws.write_datetime("B4", datetime(2026, 3, 15), iso_date)
    ws.write_row("A6", ["품목", "수량", "단가", "금액"])
    items = [("사무용 의자", 2, 150000), ("모니터", 4, 200000)]
    for offset, (name, qty, price) in enumerate(items):
        row = 6 + offset
        ws.write_row(row, 0, [name, qty, price])
        ws.write_formula(row, 3, f"=B{row + 1}*C{row + 1}", None, qty * price)
    ws.write_string("A9", "합계 금액")
    ws.write_formula("D9", "=SUM(D7:D8)", None, sum(q * p for _, q, p in items))
    # Sheet protection is not encryption: the file opens without a password and must be extracted.
    ws.protect("lock-only")
    wb.close()


def csv_files(directory: Path) -> None:
    # 똠 and 햏 exist in cp949 but not in EUC-KR: decoding as EUC-KR would lose them.
    cp949 = "품목,수량,단가,금액\n사무용 의자,2,150000,300000\n모니터,4,200000,800000\n똠얌꿍 햏,1,5000,5000\n"
    (directory / "korean_cp949.csv").write_bytes(cp949.encode("cp949"))
    semicolon = '이름;금액;비고\n김철수;1234,5;"메모; 세미콜론 포함"\n이영희;-99,25;없음\n'
    (directory / "semicolon_utf8bom.csv").write_bytes(b"\xef\xbb\xbf" + semicolon.encode("utf-8"))


def encrypted(path: Path) -> None:
    import msoffcrypto
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = path.with_name("_plain.xlsx")
    wb = _workbook(plain)
    wb.add_worksheet("Secret").write("A1", "암호로 보호된 값")
    wb.close()
    try:
        with open(plain, "rb") as source, open(path, "wb") as target:
            OOXMLFile(source).encrypt(_PASSWORD, target)
    finally:
        plain.unlink()
    assert isinstance(msoffcrypto.OfficeFile(open(path, "rb")), OOXMLFile)  # noqa: SIM115


def broken(directory: Path) -> None:
    whole = (directory / "sales_multisheet.xlsx").read_bytes()
    # Cut in the middle: the central directory at the end of the ZIP is gone.
    (directory / "truncated.xlsx").write_bytes(whole[: len(whole) // 2])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\xff\x00" * 2)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    (directory / "png_named.xlsx").write_bytes(png)


def main() -> None:
    SHEETS_DIR.mkdir(parents=True, exist_ok=True)
    sales_multisheet(SHEETS_DIR / "sales_multisheet.xlsx")
    date1904(SHEETS_DIR / "date1904.xlsx")
    invoice_kv(SHEETS_DIR / "invoice_kv.xlsx")
    csv_files(SHEETS_DIR)
    encrypted(SHEETS_DIR / "encrypted.xlsx")
    broken(SHEETS_DIR)
    for path in sorted(SHEETS_DIR.iterdir()):
        print(f"{path.stat().st_size:>8}  {path.relative_to(SHEETS_DIR.parent)}")


if __name__ == "__main__":
    main()
