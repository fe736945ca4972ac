"""The HWP readers piece by piece: HWP 5.0 records, PARA_TEXT control characters, the distribution key,
and HWPX structures built here (merged cells, headers, notes, fields, no manifest, bombs, DTDs); and
the upload's type sniffing, from bytes only."""

from __future__ import annotations

import hashlib
import random
import struct
import zipfile
from pathlib import Path

import pytest

from fastapi_app.core.errors import FileTypeMismatch
from fastapi_app.extractors.base import (
    ArchiveBombError,
    ArchiveLimits,
    CorruptFileError,
    ExtractionContext,
    ExtractionResult,
)
from fastapi_app.extractors.hwp import extract
from fastapi_app.extractors.hwp.hwp5 import distribution_key, tokens
from fastapi_app.extractors.hwp.records import Record, iter_records, read_tree, record_tree
from fastapi_app.files.filetypes import detect_type
from tests.samples.make_hwpx import cell, control, paragraph, run, section_xml, sublist, table, write_hwpx
from tests.support.corpus import HWP_CORPUS


def _header(tag: int, level: int, size: int) -> bytes:
    if size >= 0xFFF:
        return struct.pack("<II", tag | level << 10 | 0xFFF << 20, size)
    return struct.pack("<I", tag | level << 10 | size << 20)


def _extract(path: Path, limits: ArchiveLimits | None = None) -> ExtractionResult:
    data = path.read_bytes()
    ctx = ExtractionContext(
        path=path,
        mime_type="application/hwp+zip",
        file_type="hwp",  # type: ignore[arg-type]
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        archive_limits=limits or ArchiveLimits(),
    )
    return extract(ctx)


# --- HWP 5.0 records -----------------------------------------------------------------------------


def test_records_split_tag_level_and_size_and_read_the_extended_size() -> None:
    big = b"x" * 5000
    data = _header(0x42, 0, 2) + b"ab" + _header(0x43, 1, len(big)) + big + _header(0x47, 1, 0)
    records = iter_records(data)
    assert [(r.tag, r.level, len(r.payload)) for r in records] == [(0x42, 0, 2), (0x43, 1, 5000), (0x47, 1, 0)]
    (root,) = record_tree(records)
    assert root.payload == b"ab" and [c.tag for c in root.children] == [0x43, 0x47]


def test_a_record_running_past_its_stream_is_a_corrupt_file() -> None:
    with pytest.raises(CorruptFileError, match="runs past the end"):
        iter_records(_header(0x43, 0, 100) + b"short")


def test_nesting_follows_levels_back_up() -> None:
    records = iter_records(_header(0x42, 0, 0) + _header(0x47, 1, 0) + _header(0x48, 2, 0) + _header(0x42, 0, 0))
    first, second = record_tree(records)
    assert [c.tag for c in first.children] == [0x47] and [c.tag for c in first.children[0].children] == [0x48]
    assert second.children == []


def _without_layout(records: list[Record]) -> list[tuple[int, int, bytes, list[object]]]:
    """The reference tree: every record, nested by level, less the layout records and all under them."""
    return [
        (r.tag, r.level, r.payload, _without_layout(r.children)) for r in records if r.tag not in (0x44, 0x45, 0x46)
    ]


def test_the_one_pass_tree_is_the_level_tree_less_the_layout_records() -> None:
    # Random streams, well-formed or not (levels jumping up and down), layout records at any level.
    rng = random.Random(15)
    for _ in range(3000):
        data = b""
        for _ in range(rng.randint(0, 25)):
            payload = bytes([rng.randint(0, 255)] * rng.randint(0, 3))
            tag = rng.choice([0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x4C, 0x4D])
            data += _header(tag, rng.choice([0, 1, 2, 3, rng.randint(0, 7)]), len(payload)) + payload
        expected = _without_layout(record_tree(iter_records(data)))
        assert _without_layout(read_tree(data)) == expected


def test_para_text_control_characters_take_one_or_eight_wchars() -> None:
    def wchars(*codes: int) -> str:
        return "".join(chr(c) for c in codes)

    table_control = wchars(11) + " lbt" + wchars(0, 0, 11)  # extended: 8 WCHARs with its id
    text = "가" + wchars(9) + "tabparm" + "나" + wchars(10) + "다" + table_control + "라" + wchars(13)
    assert list(tokens(text.encode("utf-16-le"))) == ["가", 9, "나", 10, "다", 11, "라", 13]


def test_the_distribution_key_is_found_under_its_msvc_rand_mask() -> None:
    """The record is built the way Hangul writes it: the key at 4 + (seed & 15), masked from byte 4 on."""
    seed = 0x1234ABCD
    key = bytes(range(16))
    state, mask = seed, bytearray()
    while len(mask) < 256:
        state = (state * 214013 + 2531011) & 0xFFFFFFFF
        value = (state >> 16) & 0xFF
        state = (state * 214013 + 2531011) & 0xFFFFFFFF
        mask.extend([value] * ((((state >> 16) & 0x7FFF) & 0x0F) + 1))
    plain = bytearray(struct.pack("<I", seed) + bytes(252))
    offset = 4 + (seed & 0x0F)
    plain[offset : offset + 16] = key
    block = bytes(plain[:4]) + bytes(p ^ m for p, m in zip(plain[4:], mask[4:256], strict=False))
    assert distribution_key(block) == key


# --- HWPX built here -----------------------------------------------------------------------------


def test_hwpx_merged_cells_headers_notes_and_fields(tmp_path: Path) -> None:
    rows = [
        [cell(0, 0, "구분", row_span=2), cell(0, 1, "상반기", col_span=2)],
        [cell(1, 1, "1분기"), cell(1, 2, "2분기")],
        [cell(2, 0, "매출"), cell(2, 1, "1,000", "(잠정)"), cell(2, 2, "2,000")],
    ]
    body = section_xml(
        paragraph(control(f"<hp:header>{sublist(paragraph(run('머리말 문구')))}</hp:header>")),
        paragraph(control(f"<hp:footer>{sublist(paragraph(run('- 1 -')))}</hp:footer>")),
        paragraph(
            run("본문 첫 문단"),
            control(f'<hp:footNote number="1">{sublist(paragraph(run("각주 내용")))}</hp:footNote>'),
        ),
        paragraph(
            control('<hp:fieldBegin id="7" type="CLICK_HERE" name="회사명"/>'),
            run("주식회사 한빛상사"),
            control('<hp:fieldEnd beginIDRef="7"/>'),
        ),
        paragraph(table(rows, 3, 3)),
        paragraph(control(f"<hp:endNote>{sublist(paragraph(run('미주 내용')))}</hp:endNote>")),
    )
    result = _extract(write_hwpx(tmp_path / "merged.hwpx", [body], title="분기 보고"))
    hwp = result.hwp
    assert hwp is not None and hwp.format == "hwpx" and hwp.version == "5.1.0.1"
    assert hwp.metadata["title"] == "분기 보고" and hwp.metadata["author"] == "홍길동"
    (grid,) = hwp.tables
    assert grid.header == ["구분", "상반기", ""]
    assert grid.rows == [["", "1분기", "2분기"], ["매출", "1,000\n(잠정)", "2,000"]]
    assert hwp.headers == ["머리말 문구"] and hwp.footers == ["- 1 -"]
    assert [(n.kind, n.number, n.text) for n in hwp.notes] == [
        ("footnote", 1, "각주 내용"),
        ("endnote", 1, "미주 내용"),
    ]
    assert [(f.type, f.name, f.text) for f in hwp.fields] == [("CLICK_HERE", "회사명", "주식회사 한빛상사")]
    # The body is the body; the rest follows it, labelled.
    assert "각주 내용" not in hwp.sections[0].text and "머리말" not in hwp.sections[0].text
    body_text, extras = result.text.split("\n\n[머리말", 1)
    assert body_text.startswith("본문 첫 문단\n주식회사 한빛상사\n구분\t상반기")
    assert "[각주 1 / Footnote 1] 각주 내용" in extras and "[미주 1 / Endnote 1] 미주 내용" in extras


def test_hwpx_without_manifest_or_package_still_opens(tmp_path: Path) -> None:
    sections = [section_xml(paragraph(run("둘째"))), section_xml(paragraph(run("셋째")))]
    path = write_hwpx(tmp_path / "bare.hwpx", sections, manifest=False, package=False)
    with zipfile.ZipFile(path) as archive:
        assert "META-INF/manifest.xml" not in archive.namelist()
    result = _extract(path)
    assert result.text == "둘째\n\n셋째"
    assert [w.code for w in result.warnings] == ["HWPX_NO_PACKAGE"]


def test_hwpx_member_that_inflates_past_the_caps_is_refused(tmp_path: Path) -> None:
    filler = section_xml(paragraph(run("가" * 3_000_000)))  # 9 MB of XML that deflates a thousandfold
    path = write_hwpx(tmp_path / "bomb.hwpx", [filler])
    with pytest.raises(ArchiveBombError):
        _extract(path, ArchiveLimits(max_member_bytes=4 * 1024 * 1024))


def test_hwpx_with_a_dtd_is_refused_before_parsing(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE sec [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<hs:sec xmlns:hs="urn:s" xmlns:hp="urn:p"><hp:p><hp:run><hp:t>&b;</hp:t></hp:run></hp:p></hs:sec>'
    )
    with pytest.raises(CorruptFileError, match="DTD"):
        _extract(write_hwpx(tmp_path / "dtd.hwpx", [laughs]))


def test_hwpx_without_sections_is_a_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptFileError, match="no Contents/section"):
        _extract(write_hwpx(tmp_path / "empty.hwpx", []))


# --- sniffing ------------------------------------------------------------------------------------


def test_hwp_and_hwpx_are_recognised_from_their_bytes_whatever_their_name(tmp_path: Path) -> None:
    hwp = tmp_path / "no_extension"
    hwp.write_bytes((HWP_CORPUS / "hwprs_hello_world.hwp").read_bytes())
    assert (detect_type(hwp, hwp.name, None).mime_type, detect_type(hwp, hwp.name, None).family) == (
        "application/x-hwp",
        "hwp",
    )
    # No mimetype member: the section and version parts are enough.
    bare = write_hwpx(tmp_path / "archive.zip", [section_xml(paragraph(run("x")))], mimetype=None)
    detected = detect_type(bare, bare.name, None)
    assert (detected.mime_type, detected.family, detected.extension) == ("application/hwp+zip", "hwp", ".hwpx")
    with pytest.raises(FileTypeMismatch):
        detect_type(hwp, "report.pdf", None)  # a .pdf that is an HWP: refused, not read as a PDF


def test_other_ole_and_zip_files_are_not_taken_for_hwp(tmp_path: Path) -> None:
    xls = Path(__file__).resolve().parents[1] / "corpus" / "files" / "vba_defined_names_multisheet.xls"
    assert detect_type(xls, xls.name, None).family == "excel"
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("version.xml", "<v/>")
        archive.writestr("notes.txt", "hello")
    from fastapi_app.core.errors import UnsupportedFileType

    with pytest.raises(UnsupportedFileType):
        detect_type(plain, plain.name, None)


# --- the CLI -------------------------------------------------------------------------------------


def test_the_cli_extracts_hwp_like_the_worker(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import json

    from fastapi_app.cli import main
    from tests.samples.make_hwp import hwp_document

    blocks = [
        "거래명세서",
        "발행일: 2026년 3월 15일",
        [["공급자", "주식회사 한빛상사"], ["합계 금액", "1,210,000원"]],
        "문의: sales@hanbit.co.kr",
    ]
    document = hwp_document(tmp_path / "명세서", blocks)  # no extension: the bytes decide
    assert main(["extract", str(document), "--file-type", "hwp"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["file_type"], result["mime_type"], result["extractor"]["name"]) == (
        "hwp",
        "application/x-hwp",
        "hwp",
    )
    assert result["hwp"]["tables"][0]["header"] == ["공급자", "주식회사 한빛상사"]
    # Entities and key values come out of HWP text and tables as out of a PDF's.
    entities = {(e["type"], str(e["value"])) for e in result["entities"]}
    assert {("date", "2026-03-15"), ("email", "sales@hanbit.co.kr")} <= entities
    assert any(e["type"] == "amount" and e["value"] == 1_210_000 for e in result["entities"])
    pairs = {(p["key"], p["source"]): p["normalized"] for p in result["key_values"]}
    assert pairs[("공급자", "table")] == "주식회사 한빛상사" and pairs[("합계 금액", "table")] == 1_210_000
    assert pairs[("발행일", "text")] == "2026-03-15"


def test_damaged_documents_fail_as_corrupt_files(tmp_path: Path) -> None:
    """Found by mutating the corpus: a damaged deflate stream inside an HWPX member raised zlib.error,
    a damaged OLE directory a TypeError; both are the file's fault and must say so."""
    from tests.samples.make_hwp import hwp_document

    hwpx = bytearray((HWP_CORPUS / "hwpxlib_table.hwpx").read_bytes())
    with zipfile.ZipFile(HWP_CORPUS / "hwpxlib_table.hwpx") as archive:
        info = archive.getinfo("Contents/section0.xml")
    data_start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    hwpx[data_start + 100 : data_start + 160] = bytes(range(60))
    broken_zip = tmp_path / "broken.hwpx"
    broken_zip.write_bytes(bytes(hwpx))
    with pytest.raises(CorruptFileError):
        _extract(broken_zip)

    whole = hwp_document(tmp_path / "whole.hwp", ["본문"] * 50).read_bytes()
    truncated = tmp_path / "truncated.hwp"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorruptFileError):
        _extract(truncated)


def test_hwp5_fields_footnotes_and_headers_from_records() -> None:
    """A paragraph whose text points at a click-here field, a footnote and a header (8-WCHAR controls,
    one CTRL_HEADER each, in order), read the way the section reader reads a real document."""
    from fastapi_app.extractors.hwp.document import DocumentBuilder
    from fastapi_app.extractors.hwp.hwp5 import _SectionReader
    from fastapi_app.extractors.hwp.records import read_tree
    from tests.samples.make_hwp import CTRL_HEADER, LIST_HEADER, PARA_HEADER, PARA_TEXT, record

    def control_char(code: int, chid: str) -> str:
        return chr(code) + chid[::-1] + "\x00\x00" + chr(code)

    def inner_paragraph(text: str, level: int) -> bytes:
        return record(PARA_HEADER, level, bytes(22)) + record(PARA_TEXT, level + 1, (text + "\r").encode("utf-16-le"))

    command = "Clickhere:set:0:"
    field_header = b"klc%" + bytes(5) + struct.pack("<H", len(command)) + command.encode("utf-16-le") + bytes(4)
    text = (
        "회사: " + control_char(3, "%clk") + "한빛상사" + chr(4) + "\x00" * 7 + " 끝"
        + control_char(17, "fn  ") + control_char(16, "head") + "\r"
    )  # fmt: skip
    stream = (
        record(PARA_HEADER, 0, bytes(22))
        + record(PARA_TEXT, 1, text.encode("utf-16-le"))
        + record(CTRL_HEADER, 1, field_header)
        + record(CTRL_HEADER, 1, b"  nf" + bytes(8))
        + record(LIST_HEADER, 2, bytes(8))
        + inner_paragraph("각주 본문", 2)
        + record(CTRL_HEADER, 1, b"daeh" + bytes(8))
        + record(LIST_HEADER, 2, bytes(8))
        + inner_paragraph("머리말", 2)
    )
    builder = DocumentBuilder()
    section = builder.new_section()
    blocks = _SectionReader(builder, section).paragraphs(read_tree(stream))
    assert blocks == ["회사: 한빛상사 끝"]
    assert [(f.type, f.name, f.text) for f in builder.fields] == [("CLICK_HERE", command, "한빛상사")]
    assert [(n.kind, n.text) for n in builder.notes] == [("footnote", "각주 본문")]
    assert builder.headers == ["머리말"]


def test_an_older_hwp_is_refused_as_unsupported(tmp_path: Path) -> None:
    """HWP 3 (not an OLE file; libmagic may still call it x-hwp) is not read: 415, not a failed run."""
    from fastapi_app.core.errors import UnsupportedFileType

    old = tmp_path / "old.hwp"
    old.write_bytes(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + bytes(2000))
    with pytest.raises(UnsupportedFileType):
        detect_type(old, old.name, None)
