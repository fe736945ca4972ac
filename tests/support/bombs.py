"""Hostile archives and images, generated at test time (nothing big is committed).

Inflating members are streamed through zipfile in 1 MiB chunks of one byte value, which deflates at
about 1000:1, so a 512 MiB member costs half a second and half a megabyte on disk.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
MiB = 1024 * 1024

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'
)
_SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
SHEET_MEMBER = "xl/worksheets/sheet1.xml"


def _stream_member(archive: zipfile.ZipFile, name: str, head: bytes, filler: bytes, size: int, tail: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    chunk = filler * MiB
    with archive.open(info, "w", force_zip64=size > 2**31 - 1 - MiB) as out:
        out.write(head)
        left = size
        while left > 0:
            out.write(chunk[: min(left, MiB)])
            left -= MiB
        out.write(tail)


def ods_mimetype_bomb(path: Path, inflated: int = 512 * MiB) -> Path:
    """An ODS-shaped zip whose `mimetype` is the ODS type padded with spaces to ``inflated`` bytes.

    Anything that reads the member whole and strips it (as the upload's sniffing did) takes it for a
    real ODS file after allocating the whole member.
    """
    with zipfile.ZipFile(path, "w") as archive:
        _stream_member(archive, "mimetype", ODS_MIME, b" ", inflated, b"")
        archive.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>", zipfile.ZIP_DEFLATED)
    return path


def _workbook(path: Path, sheet: bytes | None, **extra: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
    archive.writestr("_rels/.rels", _ROOT_RELS)
    archive.writestr("xl/workbook.xml", _WORKBOOK)
    archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
    if sheet is not None:
        archive.writestr(SHEET_MEMBER, sheet)
    for name, data in extra.items():
        archive.writestr(name, data)
    return archive


def xlsx_sheet_bomb(path: Path, inflated: int = 64 * MiB) -> Path:
    """A workbook whose one sheet part is ``inflated`` bytes of whitespace inside <sheetData>."""
    with _workbook(path, None) as archive:
        head = (_SHEET_HEAD + '<sheetData><row r="1"><c r="A1"><v>1</v></c></row>').encode()
        _stream_member(archive, SHEET_MEMBER, head, b" ", inflated, b"</sheetData></worksheet>")
    return path


def sparse_sheet_xlsx(path: Path, last_cell: str) -> Path:
    """A few-KB workbook with values only in A1 and ``last_cell`` (e.g. CV1048576): its used range
    is the whole rectangle between them."""
    row = last_cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sheet = (
        _SHEET_HEAD + f'<dimension ref="A1:{last_cell}"/><sheetData>'
        '<row r="1"><c r="A1"><v>1</v></c></row>'
        f'<row r="{row}"><c r="{last_cell}"><v>2</v></c></row></sheetData></worksheet>'
    )
    with _workbook(path, sheet.encode()):
        pass
    return path


def xlsx_with_sheet(path: Path, sheet_xml: str) -> Path:
    """A workbook whose one sheet part is ``sheet_xml`` as given (hostile layouts of references)."""
    with _workbook(path, sheet_xml.encode()):
        pass
    return path


def lying_directory_xlsx(path: Path, real: int = 16 * MiB, declared: int = 1000) -> Path:
    """A workbook whose sheet part inflates to ``real`` bytes while the zip's local header and central
    directory both say ``declared``: checks of the directory alone let it through."""
    xlsx_sheet_bomb(path, inflated=real)
    data = bytearray(path.read_bytes())
    name = SHEET_MEMBER.encode()
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(SHEET_MEMBER)
    true_size = info.file_size
    # Local file header: signature, ..., sizes at offset 18 (compressed) and 22 (uncompressed).
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, declared)
    # Central directory entry: uncompressed size at offset 24.
    central = data.find(b"PK\x01\x02")
    while central != -1 and data[central + 46 : central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    assert central != -1 and struct.unpack_from("<I", data, central + 24)[0] == true_size
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def tiff_with_huge_second_frame(path: Path, width: int = 60_000, height: int = 60_000) -> Path:
    """A two-page grayscale TIFF: page 1 is 16x16, page 2's header claims ``width`` x ``height``
    (3.6 gigapixels by default) over a few bytes of strip data."""

    def ifd(offset: int, w: int, h: int, strip_offset: int, strip_bytes: int, next_ifd: int) -> bytes:
        entries = [
            (256, 4, 1, w),  # ImageWidth (LONG)
            (257, 4, 1, h),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: BlackIsZero
            (273, 4, 1, strip_offset),  # StripOffsets
            (277, 3, 1, 1),  # SamplesPerPixel
            (278, 4, 1, h),  # RowsPerStrip
            (279, 4, 1, strip_bytes),  # StripByteCounts
        ]
        out = struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            packed = struct.pack("<H", value) + b"\x00\x00" if kind == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, count) + packed
        return out + struct.pack("<I", next_ifd)

    first_pixels = bytes(range(256))  # 16 x 16, not one flat colour
    header = b"II*\x00" + struct.pack("<I", 8)
    ifd_size = 2 + 9 * 12 + 4
    first_ifd_at = 8
    second_ifd_at = first_ifd_at + ifd_size
    strips_at = second_ifd_at + ifd_size
    second_strip_at = strips_at + len(first_pixels)
    body = (
        header
        + ifd(first_ifd_at, 16, 16, strips_at, len(first_pixels), second_ifd_at)
        + ifd(second_ifd_at, width, height, second_strip_at, 64, 0)
        + first_pixels
        + b"\x80" * 64
    )
    path.write_bytes(body)
    return path


def rgb_png(width: int, height: int) -> bytes:
    """An RGB PNG whose header claims ``width`` x ``height`` over a few rows of data: decoding it
    allocates width * height * 3 bytes before finding the data cut short."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = zlib.compress((b"\x00" + bytes(range(256)) * (width * 3 // 256 + 1))[: width * 3 + 1] * 4)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
