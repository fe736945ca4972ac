"""HWPX (OWPML) documents built in tests, for structures the corpus does not have: merged cells,
headers and footers, notes, fields, a missing manifest, and large documents for the benchmark.

Only the parts an HWPX reader needs are written (mimetype, version.xml, Contents/content.hpf,
Contents/section*.xml), in the namespaces Hangul uses.
"""

from __future__ import annotations

import random
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"
MIMETYPE = "application/hwp+zip"
VERSION_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>'
    '<hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version" tagetApplication="WORDPROCESSOR" '
    'major="5" minor="1" micro="0" buildNumber="1" os="1" xmlVersion="1.4" application="Hancom Office Hangul"/>'
)


def content_hpf(title: str, sections: int, author: str = "홍길동") -> str:
    items = "".join(
        f'<opf:item id="section{i}" href="Contents/section{i}.xml" media-type="application/xml"/>'
        for i in range(sections)
    )
    spine = "".join(f'<opf:itemref idref="section{i}" linear="yes"/>' for i in range(sections))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/">'
        f"<opf:metadata><opf:title>{escape(title)}</opf:title>"
        f'<opf:meta name="creator" content="text">{escape(author)}</opf:meta>'
        '<opf:meta name="CreatedDate" content="text">2026-03-15T09:00:00Z</opf:meta></opf:metadata>'
        f"<opf:manifest>{items}</opf:manifest><opf:spine>{spine}</opf:spine></opf:package>"
    )


def run(text: str) -> str:
    return f"<hp:run><hp:t>{escape(text)}</hp:t></hp:run>"


def paragraph(*runs: str) -> str:
    return f"<hp:p>{''.join(runs)}</hp:p>"


def sublist(*paragraphs: str) -> str:
    return f"<hp:subList>{''.join(paragraphs)}</hp:subList>"


def cell(row: int, col: int, *texts: str, row_span: int = 1, col_span: int = 1) -> str:
    return (
        f"<hp:tc>{sublist(*(paragraph(run(t)) for t in texts))}"
        f'<hp:cellAddr colAddr="{col}" rowAddr="{row}"/>'
        f'<hp:cellSpan colSpan="{col_span}" rowSpan="{row_span}"/></hp:tc>'
    )


def table(rows: Sequence[Sequence[str]], row_count: int, col_count: int) -> str:
    """``rows``: each row's <hp:tc> elements (from ``cell``)."""
    body = "".join(f"<hp:tr>{''.join(r)}</hp:tr>" for r in rows)
    return f'<hp:run><hp:tbl rowCnt="{row_count}" colCnt="{col_count}">{body}</hp:tbl></hp:run>'


def control(inner: str) -> str:
    return f"<hp:run><hp:ctrl>{inner}</hp:ctrl></hp:run>"


def section_xml(*paragraphs: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes" ?><hs:sec xmlns:hp="{HP}" xmlns:hs="{HS}">'
        f"{''.join(paragraphs)}</hs:sec>"
    )


def write_hwpx(
    path: Path,
    sections: Sequence[str],
    *,
    title: str = "시험 문서",
    mimetype: str | None = MIMETYPE,
    manifest: bool = True,
    package: bool = True,
    extra: dict[str, bytes] | None = None,
) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        if mimetype is not None:
            archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("version.xml", VERSION_XML, compress_type=zipfile.ZIP_DEFLATED)
        if package:
            archive.writestr(
                "Contents/content.hpf", content_hpf(title, len(sections)), compress_type=zipfile.ZIP_DEFLATED
            )
        for i, section in enumerate(sections):
            archive.writestr(f"Contents/section{i}.xml", section, compress_type=zipfile.ZIP_DEFLATED)
        if manifest:
            archive.writestr(
                "META-INF/manifest.xml",
                '<?xml version="1.0"?><odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
            )
        for name, data in (extra or {}).items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def large_hwpx(path: Path, target_bytes: int = 300 * 1024) -> Path:
    """Paragraphs and 5x4 tables repeated until the file is about ``target_bytes``: the benchmark's input.
    Each paragraph carries seeded random syllables, so it compresses like real text, not like a run."""
    rng = random.Random(15)
    blocks: list[str] = []
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressed = 0
    n = 0
    while compressed < target_bytes:
        n += 1
        words = " ".join(
            "".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(rng.randint(1, 4))) for _ in range(12)
        )
        text = f"{n}. 2026년 3월 {n % 28 + 1}일 거래 내역: 공급가액 {n * 1000:,}원, 담당자 010-1234-{n % 10000:04d}."
        text += f" {words}"
        added = [paragraph(run(text))]
        if n % 5 == 0:
            rows = [[cell(r, c, f"항목 {n}-{r}-{c}", f"{rng.randrange(10**6):,}") for c in range(4)] for r in range(5)]
            added.append(paragraph(table(rows, 5, 4)))
        blocks.extend(added)
        compressed += len(compressor.compress("".join(added).encode()))
    write_hwpx(path, [section_xml(*blocks)], title="대용량 문서")
    return path
