"""Decompression bombs and absurd sheet extents, through the code paths uploads and the worker use.

Every file is generated at test time. Extractions that, unfixed, would allocate gigabytes run in a
child process under an address-space limit, so a regression fails the test instead of the test run.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from fastapi_app.core.errors import AppError
from fastapi_app.extractors import image, spreadsheet
from fastapi_app.extractors.base import ExtractionContext, ExtractionError
from fastapi_app.files.filetypes import detect_type
from tests.support import bombs

ROOT = Path(__file__).resolve().parents[2]
MiB = bombs.MiB


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "ods_mimetype_bomb": bombs.ods_mimetype_bomb(folder / "bomb.ods", inflated=256 * MiB),
        "sheet_bomb": bombs.xlsx_sheet_bomb(folder / "sheet-bomb.xlsx", inflated=64 * MiB),
        "lying": bombs.lying_directory_xlsx(folder / "lying.xlsx"),
        "cv": bombs.sparse_sheet_xlsx(folder / "cv.xlsx", "CV1048576"),
        "xfd": bombs.sparse_sheet_xlsx(folder / "xfd.xlsx", "XFD1048576"),
        "tiff": bombs.tiff_with_huge_second_frame(folder / "pages.tiff"),
    }


def _ctx(path: Path, **overrides: object) -> ExtractionContext:
    return ExtractionContext(
        path=path,
        mime_type="",
        file_type="excel",
        size_bytes=path.stat().st_size,
        sha256="",
        **overrides,  # type: ignore[arg-type]
    )


def _extract_code(path: Path) -> str | None:
    try:
        spreadsheet.extract(_ctx(path))
    except ExtractionError as exc:
        return exc.error_code
    return None


_CHILD = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
from fastapi_app.extractors import spreadsheet
from fastapi_app.extractors.base import ExtractionContext, ExtractionError
path = Path(sys.argv[1])
ctx = ExtractionContext(path=path, mime_type="", file_type="excel", size_bytes=path.stat().st_size, sha256="")
try:
    spreadsheet.extract(ctx)
    print(json.dumps({"code": None}))
except ExtractionError as exc:
    print(json.dumps({"code": exc.error_code, "message": exc.message}))
"""


def _extract_in_child(path: Path, address_space: int = 1024 * MiB) -> dict[str, str | None]:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(address_space)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, f"the extraction died (rc {child.returncode}): {child.stderr[-1500:]}"
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- at upload: sniffing ------------------------------------------------------------------------


def test_upload_sniffing_refuses_the_ods_mimetype_bomb_without_inflating_it(generated: dict[str, Path]) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(AppError) as caught:
            detect_type(generated["ods_mimetype_bomb"], "sheet.ods", None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (caught.value.status_code, caught.value.error_code) == (413, "ARCHIVE_BOMB")
    assert "'mimetype'" in caught.value.message
    assert peak < 8 * MiB, f"sniffing allocated {peak / MiB:.0f} MiB"


def test_upload_sniffing_refuses_a_workbook_whose_sheet_is_a_bomb(generated: dict[str, Path]) -> None:
    with pytest.raises(AppError) as caught:
        detect_type(generated["sheet_bomb"], "report.xlsx", None)
    assert caught.value.error_code == "ARCHIVE_BOMB"
    assert "xl/worksheets/sheet1.xml" in caught.value.message


def test_upload_sniffing_still_recognises_ordinary_workbooks(tmp_path: Path) -> None:
    path = bombs.sparse_sheet_xlsx(tmp_path / "ok.xlsx", "C3")
    assert detect_type(path, "ok.xlsx", None).family == "excel"


# --- in the worker: extraction ------------------------------------------------------------------


def test_worker_refuses_the_ods_mimetype_bomb(generated: dict[str, Path]) -> None:
    assert _extract_code(generated["ods_mimetype_bomb"]) == "ARCHIVE_BOMB"


def test_worker_refuses_a_sheet_bomb(generated: dict[str, Path]) -> None:
    assert _extract_code(generated["sheet_bomb"]) == "ARCHIVE_BOMB"


def test_worker_catches_a_central_directory_that_lies(generated: dict[str, Path]) -> None:
    # The declared sizes pass every check (1000 bytes); the inflated stream is 16 MiB.
    ctx = _ctx(generated["lying"])
    with pytest.raises(ExtractionError) as caught:
        spreadsheet.extract(ctx)
    assert caught.value.error_code == "ARCHIVE_BOMB"
    assert "inflates past the 1000 bytes its directory declares" in caught.value.message


@pytest.mark.parametrize(("name", "cells"), [("cv", "104,857,600"), ("xfd", "17,179,869,184")])
def test_huge_sheet_extent_is_refused_before_the_reader_allocates(
    generated: dict[str, Path], name: str, cells: str
) -> None:
    # Unfixed, calamine allocates 3.3 GB for CV1048576 and aborts on XFD1048576; under 1 GiB of
    # address space the child would die instead of answering.
    outcome = _extract_in_child(generated[name])
    assert outcome["code"] == "SHEET_TOO_LARGE", outcome
    assert f"= {cells} cells, above the limit of 10,000,000" in str(outcome["message"])


def test_sheet_extent_limit_is_a_setting(generated: dict[str, Path], tmp_path: Path) -> None:
    path = bombs.sparse_sheet_xlsx(tmp_path / "wide.xlsx", "J100")  # 100 x 10 = 1,000 cells
    with pytest.raises(ExtractionError) as caught:
        spreadsheet.extract(_ctx(path, max_sheet_grid_cells=999))
    assert caught.value.error_code == "SHEET_TOO_LARGE"
    assert spreadsheet.extract(_ctx(path, max_sheet_grid_cells=1000)).spreadsheet.sheets[0].dimensions == "A1:J100"


def test_a_bogus_dimension_alone_is_harmless_and_accepted(tmp_path: Path) -> None:
    # calamine sizes its grid from the cells, not from <dimension>: refusing this would refuse a
    # harmless file (some writers put the sheet's maximum there).
    path = bombs.sparse_sheet_xlsx(tmp_path / "dim.xlsx", "B2")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "dim2.xlsx", "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == bombs.SHEET_MEMBER:
                assert b'ref="A1:B2"' in body
                body = body.replace(b'ref="A1:B2"', b'ref="A1:XFD1048576"')
            out.writestr(info.filename, body)
    result = spreadsheet.extract(_ctx(tmp_path / "dim2.xlsx"))
    assert result.spreadsheet.sheets[0].dimensions == "A1:B2"


def _ods(path: Path, table: str) -> Path:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="S">{table}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", bombs.ODS_MIME, zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="'
            + bombs.ODS_MIME.decode()
            + '"/></manifest:manifest>',
            zipfile.ZIP_DEFLATED,
        )
    return path


_VALUE = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'


def test_ods_repeated_rows_and_columns_count_towards_the_extent(tmp_path: Path) -> None:
    corner = _ods(
        tmp_path / "corner.ods",
        f"<table:table-row>{_VALUE}</table:table-row>"
        '<table:table-row table:number-rows-repeated="200000"><table:table-cell table:number-columns-repeated="99"/>'
        "</table:table-row>"
        f'<table:table-row><table:table-cell table:number-columns-repeated="99"/>{_VALUE}</table:table-row>',
    )
    outcome = _extract_in_child(corner)
    assert outcome["code"] == "SHEET_TOO_LARGE", outcome
    assert "200,002 rows x 100 columns" in str(outcome["message"])


def test_ods_trailing_empty_repeats_are_not_counted(tmp_path: Path) -> None:
    # LibreOffice pads sheets to the edge with repeated empty rows; readers drop them.
    padded = _ods(
        tmp_path / "padded.ods",
        f"<table:table-row>{_VALUE}{_VALUE}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048575">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>',
    )
    result = spreadsheet.extract(_ctx(padded))
    assert result.spreadsheet.sheets[0].dimensions == "A1:B1"


def test_every_tiff_frame_is_held_to_the_pixel_cap(generated: dict[str, Path]) -> None:
    path = generated["tiff"]
    ctx = ExtractionContext(
        path=path, mime_type="image/tiff", file_type="image", size_bytes=path.stat().st_size, sha256="",
        ocr_enabled=False,
    )  # fmt: skip
    with pytest.raises(ExtractionError) as caught:
        image.extract(ctx)
    assert caught.value.error_code == "IMAGE_TOO_LARGE"
    assert "Frame 2 of 2 is 60000x60000" in caught.value.message


def test_address_space_limit_is_enforceable_here() -> None:
    # The child extractions above rely on RLIMIT_AS; a platform without it would make them vacuous.
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    assert hard == resource.RLIM_INFINITY or hard >= 1024 * MiB


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CORNER_LAYOUTS = {
    # References out of order: the far corner comes first, in row 1's element.
    "out-of-order": f'<worksheet xmlns="{_MAIN_NS}"><sheetData><row r="1"><c r="XFD1048576"><v>2</v></c>'
    '<c r="A1"><v>1</v></c></row></sheetData></worksheet>',
    # A namespace prefix on every tag, and r after another attribute.
    "prefixed": f'<x:worksheet xmlns:x="{_MAIN_NS}"><x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c>'
    '</x:row><x:row spans="1:1" r="1048576"><x:c t="n" r="CV1048576"><x:v>2</x:v></x:c></x:row></x:sheetData>'
    "</x:worksheet>",
    # No references at all: 16,384 cells in row 1 and 1,000 rows below, placed by position.
    "by-position": f'<worksheet xmlns="{_MAIN_NS}"><sheetData><row>' + "<c><v>1</v></c>" * 16384 + "</row>"
    + "<row><c><v>1</v></c></row>" * 1000 + "</sheetData></worksheet>",
}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(_CORNER_LAYOUTS))
def test_sheet_extent_is_measured_whatever_the_reference_layout(tmp_path: Path, layout: str) -> None:
    path = bombs.xlsx_with_sheet(tmp_path / f"{layout}.xlsx", _CORNER_LAYOUTS[layout])
    outcome = _extract_in_child(path)
    assert outcome["code"] == "SHEET_TOO_LARGE", outcome
