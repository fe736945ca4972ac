"""Extractors against the shared corpus facts, plus synthetic edge cases built in tmp_path."""

from __future__ import annotations

import contextlib
import struct
import zlib
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionError,
    ExtractionResult,
    ImageTooLargeError,
    PasswordIncorrectError,
    UnsupportedContentError,
)
from fastapi_app.extractors.pdf import pdf_date_to_iso
from fastapi_app.extractors.spreadsheet import iso_duration, json_safe
from tests.support.corpus import (
    EXIF_ALIASES,
    MIME_BY_TYPE,
    actual_mime,
    cell,
    corpus_path,
    extraction_context,
    manifest,
    same_value,
    sheet_named,
    squash,
    used_range,
)
from tests.support.corpus import facts as facts_of

# --- helpers ---------------------------------------------------------------------------------


def run(path: Path, mime_type: str | None = None, **overrides: Any) -> ExtractionResult:
    return registry.extract(extraction_context(path, mime_type, **overrides))


def files_with(*keys: str) -> list[str]:
    found = (name for name, entry in manifest().items() if any(k in entry.get("facts", {}) for k in keys))
    return sorted(found)


@cache
def corpus_result(name: str) -> ExtractionResult:
    """One extraction per corpus file, with the password from the facts when there is one."""
    return run(corpus_path(name), actual_mime(name), password=facts_of(name).get("password"))


def warning_codes(result: ExtractionResult) -> list[str]:
    return [w.code for w in result.warnings]


# --- corpus: PDFs ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", files_with("page_count", "page_count_min"))
def test_page_count(name: str) -> None:
    facts = facts_of(name)
    result = corpus_result(name)
    assert result.pdf is not None
    if "page_count" in facts:
        assert result.pdf.page_count == facts["page_count"]
    else:
        assert result.pdf.page_count >= facts["page_count_min"]
    assert [p.number for p in result.pdf.pages] == list(range(1, result.pdf.page_count + 1))


@pytest.mark.parametrize("name", files_with("text_contains"))
def test_text_contains(name: str) -> None:
    text = squash(corpus_result(name).text)
    missing = [s for s in facts_of(name)["text_contains"] if squash(s) not in text]
    assert not missing


@pytest.mark.parametrize("name", files_with("text_starts_with"))
def test_text_starts_with(name: str) -> None:
    assert squash(corpus_result(name).text).startswith(squash(facts_of(name)["text_starts_with"]))


def _pdf_info_date(value: str) -> str:
    """Independent of the extractor: "D:20220403203552+02'00'" parsed with strptime."""
    compact = value.removeprefix("D:").replace("'", "")
    return datetime.strptime(compact, "%Y%m%d%H%M%S%z").isoformat()


@pytest.mark.parametrize("name", files_with("metadata"))
def test_pdf_metadata(name: str) -> None:
    keys = {"Title": "title", "Author": "author", "Creator": "creator", "Producer": "producer"}
    result = corpus_result(name)
    assert result.pdf is not None
    for info_key, expected in facts_of(name)["metadata"].items():
        if info_key == "CreationDate":
            assert result.pdf.metadata["creation_date"] == _pdf_info_date(expected)
        else:
            assert result.pdf.metadata[keys[info_key]] == expected


def test_pdf_metadata_has_all_normalised_keys() -> None:
    result = corpus_result("table_with_rounded_borders.pdf")
    assert result.pdf is not None
    assert set(result.pdf.metadata) == {
        "title",
        "author",
        "subject",
        "keywords",
        "creator",
        "producer",
        "creation_date",
        "modification_date",
    }
    assert result.pdf.metadata["modification_date"] == "2022-04-26T12:37:17+02:00"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("D:20220403203552+02'00'", "2022-04-03T20:35:52+02:00"),
        ("D:20160325082400-07'00'", "2016-03-25T08:24:00-07:00"),
        ("D:20140914114338Z00'00'", "2014-09-14T11:43:38+00:00"),
        ("D:20210119093716", "2021-01-19T09:37:16"),
        ("D:2021", "2021-01-01T00:00:00"),
        ("not a date", None),
        ("D:20211345000000", None),
    ],
)
def test_pdf_date_to_iso(raw: str, iso: str | None) -> None:
    assert pdf_date_to_iso(raw) == iso


def test_encrypted_pdf_without_password_fails_cleanly() -> None:
    name = "encrypted_openpassword.pdf"
    assert facts_of(name)["without_password_should_fail"]
    with pytest.raises(EncryptedFileError) as caught:
        run(corpus_path(name))
    assert caught.value.error_code == "ENCRYPTED_FILE"


def test_encrypted_pdf_wrong_password() -> None:
    with pytest.raises(PasswordIncorrectError) as caught:
        run(corpus_path("encrypted_openpassword.pdf"), password="not-the-password")
    assert caught.value.error_code == "PASSWORD_INCORRECT"


def test_encrypted_pdf_right_password() -> None:
    result = run(corpus_path("encrypted_openpassword.pdf"), password="openpassword")
    assert result.pdf is not None
    assert result.pdf.encrypted is True
    assert result.pdf.page_count == 1
    assert result.text.startswith("Lorem ipsum dolor sit amet")


def test_owner_password_only_pdf_extracts(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(corpus_path("invoice_qualityhosting_de.pdf")))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")
    path = tmp_path / "owner_only.pdf"
    writer.write(path)

    result = run(path)
    assert result.pdf is not None
    assert result.pdf.encrypted is True
    assert "QualityHosting" in result.text
    # A wrong password must not block a file that opens without one.
    assert "QualityHosting" in run(path, password="wrong").text


def test_scanned_pdf_has_no_text_layer() -> None:
    # OCR off: this asserts the missing text layer; OCR of PDF pages is tested in test_pdf_extraction.py
    result = run(corpus_path("scanned_image_only.pdf"), ocr_enabled=False)
    assert result.pdf is not None
    assert facts_of("scanned_image_only.pdf")["text_extractable"] is False
    assert [p.has_text_layer for p in result.pdf.pages] == [False]
    assert "NO_TEXT_LAYER" in warning_codes(result)
    assert result.text == ""


def test_malformed_pdf_does_not_crash_and_page_one_has_text() -> None:
    result = corpus_result("malformed_offpage_text.pdf")
    assert result.pdf is not None
    assert result.pdf.pages[0].has_text_layer
    assert result.pdf.pages[0].char_count > 0


def test_pdf_pages_geometry_and_progress() -> None:
    calls: list[tuple[int, int, str]] = []
    result = run(corpus_path("invoice_free_fiber_fr.pdf"), progress=lambda c, t, u: calls.append((c, t, u)))
    assert result.pdf is not None
    assert calls == [(1, 2, "page"), (2, 2, "page")]
    page = result.pdf.pages[0]
    assert (page.width_pt, page.height_pt) == (pytest.approx(595, abs=1), pytest.approx(842, abs=1))
    assert page.char_count == len(page.text)
    assert result.text == "\n\n".join(p.text for p in result.pdf.pages)
    assert "extract" in result.timings_ms


def test_cjk_pdf_text() -> None:
    assert "安徽省建设用地使用标准" in corpus_result("three_tables_one_page.pdf").text


def test_pdf_page_limit() -> None:
    result = run(corpus_path("ca_warn_report_table.pdf"), max_pages=2)
    assert result.pdf is not None
    assert result.pdf.page_count == 16
    assert len(result.pdf.pages) == 2
    assert "PAGE_LIMIT" in warning_codes(result)


@pytest.mark.parametrize("content", [b"", b"this is not a pdf at all" * 10, b"%PDF-1.7\n%%EOF"])
def test_broken_pdf_is_corrupt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError):
        run(path)


# --- corpus: spreadsheets --------------------------------------------------------------------


@pytest.mark.parametrize("name", files_with("sheet_names_contain"))
def test_sheet_names(name: str) -> None:
    result = corpus_result(name)
    assert result.spreadsheet is not None
    names = [s.name for s in result.spreadsheet.sheets]
    assert set(facts_of(name)["sheet_names_contain"]) <= set(names)
    assert result.spreadsheet.sheet_count == len(names)


@pytest.mark.parametrize("name", files_with("cells", "cells_interpreted"))
def test_cells(name: str) -> None:
    facts = facts_of(name)
    sheet = sheet_named(corpus_result(name), facts.get("sheet"))
    expected = {**facts.get("cells", {}), **facts.get("cells_interpreted", {})}
    actual = {ref: cell(sheet, ref) for ref in expected}
    wrong = {ref: value for ref, value in actual.items() if not same_value(value, expected[ref])}
    assert not wrong, f"expected {expected}"


@pytest.mark.parametrize("name", files_with("merged_ranges"))
def test_merged_ranges(name: str) -> None:
    facts = facts_of(name)
    result = corpus_result(name)
    for sheet_name, ranges in facts["merged_ranges"].items():
        assert set(sheet_named(result, sheet_name).merged_ranges) == set(ranges)
    if "merged_range_count" in facts:
        assert result.spreadsheet is not None
        assert sum(len(s.merged_ranges) for s in result.spreadsheet.sheets) == facts["merged_range_count"]


@pytest.mark.parametrize("name", files_with("sheet_used_range_values"))
def test_sheet_used_range_values(name: str) -> None:
    result = corpus_result(name)
    for sheet_name, rows in facts_of(name)["sheet_used_range_values"].items():
        assert same_value(used_range(sheet_named(result, sheet_name)), rows)


@pytest.mark.parametrize("name", files_with("delimiter"))
def test_csv_dialect_and_rows(name: str) -> None:
    facts = facts_of(name)
    result = corpus_result(name)
    assert result.spreadsheet is not None
    assert result.spreadsheet.csv_delimiter == facts["delimiter"]
    sheet = result.spreadsheet.sheets[0]
    assert sheet.rows == facts["rows"]
    assert sheet.header_row == 1
    revenue = sheet.columns[2]
    assert (revenue.header, revenue.type) == ("Revenue", "number")
    assert revenue.sum == pytest.approx(123 + 143.1 + 215.32)


def test_iso_dates_are_iso_strings() -> None:
    sheet = sheet_named(corpus_result("iso_dates.xlsx"), None)
    assert [cell(sheet, r) for r in ("A1", "A2", "A3")] == ["2021-01-01", "2021-01-01T10:10:10", "10:10:10"]


def test_korean_formulas_are_counted() -> None:
    result = corpus_result("korean_text_in_formulas.xlsx")
    assert result.spreadsheet is not None
    sheet = result.spreadsheet.sheets[0]
    assert sheet.formula_count > 0
    assert result.spreadsheet.formula_count == sheet.formula_count
    assert sheet.dimensions == "B2:B20"
    assert cell(sheet, "B20") in ("한글", "영어")


def test_workbook_corruption_succeeds_or_is_corrupt() -> None:
    facts = facts_of("workbook_corruption.xls")
    assert facts["lenient_open_succeeds"]
    try:
        result = corpus_result("workbook_corruption.xls")
    except CorruptFileError:
        return
    assert result.spreadsheet is not None
    sheet = result.spreadsheet.sheets[0]
    assert sheet.row_count > 0
    assert sheet.header_row == 4
    assert sheet.merged_ranges == ["A1:G1", "A2:G2"]


@pytest.mark.parametrize("name", files_with("mislabelled"))
def test_mislabelled_workbooks_are_read_by_content(name: str) -> None:
    claimed = MIME_BY_TYPE[facts_of(name)["claimed_ext"]]
    try:
        result = run(corpus_path(name), claimed)
    except (UnsupportedContentError, CorruptFileError):
        return
    assert result.spreadsheet is not None
    assert result.spreadsheet.format == facts_of(name)["actual_type"]


# --- corpus: images --------------------------------------------------------------------------


@pytest.mark.parametrize("name", files_with("image"))
def test_image_properties(name: str) -> None:
    result = corpus_result(name)
    assert result.image is not None
    for key, expected in facts_of(name)["image"].items():
        assert getattr(result.image, key) == expected, key


@pytest.mark.parametrize("name", files_with("exif"))
def test_exif_values(name: str) -> None:
    image = corpus_result(name).image
    assert image is not None
    for tag, expected in facts_of(name)["exif"].items():
        actual = image.exif.get(EXIF_ALIASES.get(tag, tag))
        assert same_value(actual, expected), f"{tag}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("name", files_with("exif_tags_present"))
def test_exif_tags_present(name: str) -> None:
    image = corpus_result(name).image
    assert image is not None
    assert set(facts_of(name)["exif_tags_present"]) <= set(image.exif)


@pytest.mark.parametrize("name", files_with("gps"))
def test_gps_coordinates(name: str) -> None:
    gps_fact = facts_of(name)["gps"]
    image = corpus_result(name).image
    assert image is not None
    assert image.gps is not None
    assert image.gps.latitude == pytest.approx(gps_fact["lat"], abs=gps_fact["tolerance"])
    assert image.gps.longitude == pytest.approx(gps_fact["lon"], abs=gps_fact["tolerance"])
    if "altitude_m" in gps_fact:
        assert image.gps.altitude_m == pytest.approx(gps_fact["altitude_m"], abs=0.5)


@pytest.mark.parametrize("name", files_with("has_gps"))
def test_has_gps(name: str) -> None:
    image = corpus_result(name).image
    assert image is not None
    assert (image.gps is not None) == facts_of(name)["has_gps"]


@pytest.mark.parametrize("name", files_with("gps_ifd"))
def test_gps_ifd_tags(name: str) -> None:
    gps_fact = facts_of(name)["gps_ifd"]
    image = corpus_result(name).image
    assert image is not None
    gps_tags = image.exif["GPSInfo"]
    assert set(gps_fact["tags_present"]) <= set(gps_tags)
    assert gps_tags["GPSMapDatum"] == gps_fact["GPSMapDatum"]
    assert gps_tags["GPSVersionID"] == gps_fact["GPSVersionID"]
    # The FLIR file has coordinates too (not asserted upstream): they must at least be valid.
    assert image.gps is not None
    assert "INVALID_GPS" not in warning_codes(corpus_result(name))


def test_exif_dates_also_in_iso() -> None:
    image = corpus_result("nikon_d70.jpg").image
    assert image is not None
    assert image.exif["DateTimeOriginal_iso"] == "2008-03-15T09:52:01"
    assert image.exif["DateTime_iso"] == "2008-07-31T10:03:44"


def test_truncated_image_is_partial_or_corrupt() -> None:
    assert facts_of("truncated_image.png")["should_fail_or_partial"]
    try:
        result = corpus_result("truncated_image.png")
    except CorruptFileError:
        return
    assert "TRUNCATED_IMAGE" in warning_codes(result)
    assert result.image is not None
    assert (result.image.format, result.image.width, result.image.height) == ("PNG", 640, 480)


# --- synthetic: CSV --------------------------------------------------------------------------


def test_korean_cp949_csv(tmp_path: Path) -> None:
    path = tmp_path / "korean.csv"
    path.write_bytes("품목,금액\n사과,1000\n배,2500".encode("cp949"))
    calls: list[tuple[int, int, str]] = []
    result = run(path, progress=lambda c, t, u: calls.append((c, t, u)))
    assert result.spreadsheet is not None
    assert result.spreadsheet.csv_encoding in ("cp949", "euc-kr")
    assert result.spreadsheet.csv_delimiter == ","
    sheet = result.spreadsheet.sheets[0]
    assert sheet.rows == [["품목", "금액"], ["사과", "1000"], ["배", "2500"]]
    assert sheet.header_row == 1
    amount = sheet.columns[1]
    assert (amount.column, amount.header, amount.type) == ("B", "금액", "number")
    assert (amount.count, amount.sum, amount.min, amount.max, amount.mean) == (2, 3500, 1000, 2500, 1750)
    assert sheet.columns[0].type == "text"
    assert "사과\t1000" in result.text
    assert calls == [(1, 1, "sheet")]


def test_utf8_bom_tab_csv(tmp_path: Path) -> None:
    path = tmp_path / "tabs.csv"
    path.write_bytes("\ufeffname\tqty\nA\t1\nB\t2\n".encode())
    result = run(path)
    assert result.spreadsheet is not None
    assert (result.spreadsheet.csv_encoding, result.spreadsheet.csv_delimiter) == ("utf-8-sig", "\t")
    assert result.spreadsheet.sheets[0].rows[0] == ["name", "qty"]


def test_csv_cell_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(100)))
    result = run(path, max_cells=20)
    assert result.spreadsheet is not None
    sheet = result.spreadsheet.sheets[0]
    assert sheet.rows_truncated
    assert len(sheet.rows) == 10
    assert sheet.row_count == 101
    assert "CELL_LIMIT" in warning_codes(result)


# --- synthetic: workbooks --------------------------------------------------------------------


def _openpyxl_workbook(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Data"
    ws.append(["Item", "Amount", "When"])
    ws.append(["apple", 10, date(2024, 3, 1)])
    ws.append(["pear", 2.5, datetime(2024, 3, 2, 8, 30)])
    ws["B4"] = "=SUM(B2:B3)"
    ws.merge_cells("D1:E2")
    hidden = wb.create_sheet("Secret")
    hidden["A1"] = "hidden value"
    hidden.sheet_state = "hidden"
    very_hidden = wb.create_sheet("Deep")
    very_hidden["A1"] = 1
    very_hidden.sheet_state = "veryHidden"
    wb.save(path)


def test_openpyxl_workbook_extras(tmp_path: Path) -> None:
    path = tmp_path / "made.xlsx"
    _openpyxl_workbook(path)
    calls: list[tuple[int, int, str]] = []
    result = run(path, progress=lambda c, t, u: calls.append((c, t, u)))
    book = result.spreadsheet
    assert book is not None
    assert (book.format, book.sheet_count, book.date_system) == ("xlsx", 3, "1900")
    data, secret, _very_hidden = book.sheets
    assert [s.visibility for s in book.sheets] == ["visible", "hidden", "very_hidden"]
    assert data.merged_ranges == ["D1:E2"]
    assert data.formula_count == 1
    assert book.formula_count == 1
    assert cell(data, "C2") == "2024-03-01"
    assert cell(data, "C3") == "2024-03-02T08:30:00"
    assert cell(data, "B2") == 10
    assert isinstance(cell(data, "B2"), int)
    assert data.header_row == 1
    assert [(c.column, c.header, c.type) for c in data.columns[:3]] == [
        ("A", "Item", "text"),
        ("B", "Amount", "number"),
        ("C", "When", "date"),
    ]
    assert secret.rows == [["hidden value"]]
    assert calls == [(1, 3, "sheet"), (2, 3, "sheet"), (3, 3, "sheet")]
    assert "hidden value" in result.text


def test_chartsheet_kind(tmp_path: Path) -> None:
    import openpyxl
    from openpyxl.chart import BarChart, Reference

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for i in range(1, 4):
        ws.append([i])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=3))
    wb.create_chartsheet("Chart").add_chart(chart)
    path = tmp_path / "chart.xlsx"
    wb.save(path)
    result = run(path)
    assert result.spreadsheet is not None
    assert [s.kind for s in result.spreadsheet.sheets] == ["worksheet", "chartsheet"]


def test_workbook_cell_limit(tmp_path: Path) -> None:
    path = tmp_path / "made.xlsx"
    _openpyxl_workbook(path)
    result = run(path, max_cells=6)
    assert result.spreadsheet is not None
    data = result.spreadsheet.sheets[0]
    assert data.rows_truncated
    # Used range A1:C3 (the uncalculated formula in B4 has no value): 6 cells = 2 rows of 3.
    assert data.dimensions == "A1:C3"
    assert len(data.rows) == 2
    assert "CELL_LIMIT" in warning_codes(result)


def test_encrypted_ooxml_is_reported_as_encrypted(tmp_path: Path) -> None:
    # Only the compound-file signature and the stream name matter to the check.
    path = tmp_path / "locked.xlsx"
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    path.write_bytes(header + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(EncryptedFileError):
        run(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsupportedContentError):
        run(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_garbage_workbook_is_corrupt(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(CorruptFileError):
        run(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.0, 3),
        (2.5, 2.5),
        (True, True),
        (float("nan"), None),
        (date(2024, 1, 2), "2024-01-02"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (time(13, 5, 9), "13:05:09"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        ("#DIV/0!", "#DIV/0!"),
    ],
)
def test_cell_json_safe(value: Any, expected: Any) -> None:
    converted = json_safe(value)
    assert converted == expected or (expected is None and converted is None)
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(days=1, hours=2), "PT26H"),
        (timedelta(hours=36, minutes=30), "PT36H30M"),
        (timedelta(seconds=90.5), "PT1M30.5S"),
        (-timedelta(minutes=5), "-PT5M"),
    ],
)
def test_iso_duration(value: timedelta, expected: str) -> None:
    assert iso_duration(value) == expected


# --- synthetic: images -----------------------------------------------------------------------


def _png_claiming_size(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose IHDR claims width x height: the header is all a bomb check may read."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_png_decompression_bomb_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    _png_claiming_size(path, 100_000, 100_000)
    with pytest.raises(ImageTooLargeError) as caught:
        run(path)
    assert caught.value.error_code == "IMAGE_TOO_LARGE"


def test_image_over_context_pixel_limit(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "small.png"
    Image.new("RGB", (40, 30)).save(path)
    with pytest.raises(ImageTooLargeError):
        run(path, max_image_pixels=1000)
    assert run(path, max_image_pixels=1200).image is not None


def _jpeg_with_gps(path: Path, gps: dict[int, Any]) -> None:
    from PIL import Image

    img = Image.new("RGB", (16, 16), "white")
    exif = img.getexif()
    exif[0x0132] = "2008:08:11 14:32:12"
    exif.get_ifd(0x8825).update(gps)
    img.save(path, exif=exif)


def test_gps_south_west_and_below_sea_level(tmp_path: Path) -> None:
    path = tmp_path / "gps.jpg"
    _jpeg_with_gps(
        path,
        {1: "S", 2: (33.0, 51.0, 54.0), 3: "W", 4: (151.0, 12.0, 36.0), 5: b"\x01", 6: 12.5},
    )
    result = run(path)
    assert result.image is not None
    assert result.image.gps is not None
    assert result.image.gps.latitude == pytest.approx(-(33 + 51 / 60 + 54 / 3600), abs=1e-6)
    assert result.image.gps.longitude == pytest.approx(-(151 + 12 / 60 + 36 / 3600), abs=1e-6)
    assert result.image.gps.altitude_m == pytest.approx(-12.5)
    assert result.image.exif["DateTime_iso"] == "2008-08-11T14:32:12"
    assert not result.warnings


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (7.0, 35.0, 31.0)},  # latitude out of range
        {1: "N", 2: (51.0, 1.0, 30.0)},  # longitude missing
        {1: "X", 2: (51.0, 1.0, 30.0), 3: "E", 4: (7.0, 35.0, 31.0)},  # bad reference
        {1: "N", 2: (51.0, 75.0, 30.0), 3: "E", 4: (7.0, 35.0, 31.0)},  # minutes >= 60
    ],
)
def test_invalid_gps_is_dropped_with_warning(tmp_path: Path, gps: dict[int, Any]) -> None:
    path = tmp_path / "bad_gps.jpg"
    _jpeg_with_gps(path, gps)
    result = run(path)
    assert result.image is not None
    assert result.image.gps is None
    assert "INVALID_GPS" in warning_codes(result)


def test_garbage_image_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.png"
    path.write_bytes(b"not an image at all" * 20)
    with pytest.raises(CorruptFileError):
        run(path)


# --- robustness: cut-off copies of every corpus file ------------------------------------------


@pytest.mark.parametrize("name", sorted(n for n in manifest() if Path(n).suffix != ".csv"))
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_copies_fail_cleanly(tmp_path: Path, name: str, fraction: float) -> None:
    """Whatever a damaged upload looks like, only typed ExtractionErrors may leave an extractor."""
    data = corpus_path(name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * fraction)])
    with contextlib.suppress(ExtractionError):
        run(path, actual_mime(name), password=facts_of(name).get("password"))


def test_unknown_mime_type_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"data")
    ctx = ExtractionContext(path=path, mime_type="application/zip", file_type="pdf", size_bytes=4, sha256="0")
    with pytest.raises(UnsupportedContentError):
        registry.extract(ctx)


class SoftTimeLimitExceeded(Exception):
    """Stands in for Celery's soft time limit, which extractors must never turn into CORRUPT_FILE."""


class PanicException(BaseException):
    """pyo3 raises Rust panics under this name."""


def test_time_limit_is_not_reported_as_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    def hit_time_limit(*args: Any, **kwargs: Any) -> None:
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(pypdfium2, "PdfDocument", hit_time_limit)
    with pytest.raises(SoftTimeLimitExceeded):
        run(corpus_path("metadata_japanese_title.pdf"))


def test_calamine_panic_is_a_corrupt_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import python_calamine

    class PanickingWorkbook:
        @staticmethod
        def from_filelike(*args: Any) -> None:
            raise PanicException("index out of bounds")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", PanickingWorkbook)
    path = tmp_path / "made.xlsx"
    _openpyxl_workbook(path)
    with pytest.raises(CorruptFileError):
        run(path)
