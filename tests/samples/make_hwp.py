"""HWP 5.0 documents built in tests and benchmarks: a minimal OLE compound file (CFB version 3, as
Hangul writes it) holding FileHeader, DocInfo and BodyText/Section0, whose records are paragraphs and
tables (Hancom, "HWP 5.0 file format", revision 1.3). Nothing of any HWP library is used.

`hwp_document(blocks)` takes paragraphs (str) and tables (list of rows of cell text) in order.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

SECTOR, MINI_SECTOR, MINI_CUTOFF = 512, 64, 4096
FREE, END, FAT_SECT, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
PARA_HEADER, PARA_TEXT, CTRL_HEADER, LIST_HEADER, TABLE = 0x42, 0x43, 0x47, 0x48, 0x4D
PARA_CHAR_SHAPE, PARA_LINE_SEG = 0x44, 0x45
Block = str | Sequence[Sequence[str]]


def record(tag: int, level: int, payload: bytes) -> bytes:
    size = len(payload)
    if size >= 0xFFF:
        return struct.pack("<II", tag | level << 10 | 0xFFF << 20, size) + payload
    return struct.pack("<I", tag | level << 10 | size << 20) + payload


def _paragraph(text: str, level: int, controls: Sequence[bytes] = ()) -> bytes:
    """A paragraph; each control (a CTRL_HEADER and its children) gets its 8-WCHAR character first."""
    chars = "".join(chr(11) + " lbt" + "\x00\x00" + chr(11) for _ in controls) + text + "\r"
    out = record(PARA_HEADER, level, struct.pack("<I", len(chars)) + bytes(18))
    out += record(PARA_TEXT, level + 1, chars.encode("utf-16-le"))
    # What Hangul always writes after the text: character shapes and line segments (layout).
    out += record(PARA_CHAR_SHAPE, level + 1, struct.pack("<II", 0, 0))
    out += record(PARA_LINE_SEG, level + 1, bytes(36))
    return out + b"".join(controls)


def _table(rows: Sequence[Sequence[str]], level: int) -> bytes:
    """A table control at ``level``: CTRL_HEADER('tbl '), TABLE, then per cell a LIST_HEADER and its paragraphs."""
    cols = max(len(r) for r in rows)
    out = record(CTRL_HEADER, level, b" lbt" + bytes(40))
    out += record(TABLE, level + 1, struct.pack("<IHH", 0x04000006, len(rows), cols) + bytes(14))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            lines = text.split("\n")
            header = struct.pack("<HHI", len(lines), 0, 0x20) + struct.pack("<HHHH", c, r, 1, 1) + bytes(22)
            out += record(LIST_HEADER, level + 1, header)
            out += b"".join(_paragraph(line, level + 1) for line in lines)
    return out


def section_records(blocks: Sequence[Block]) -> bytes:
    out = bytearray()
    for block in blocks:
        if isinstance(block, str):
            out += _paragraph(block, 0)
        else:
            out += _paragraph("", 0, [_table(block, 1)])
    return bytes(out)


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def file_header(version: int = 0x05000107, flags: int = 1) -> bytes:
    return (b"HWP Document File".ljust(32, b"\x00") + struct.pack("<II", version, flags)).ljust(256, b"\x00")


def hwp_document(path: Path, blocks: Sequence[Block], *, flags: int = 1, bin_data: Sequence[bytes] = ()) -> Path:
    """``bin_data``: embedded files (pictures), stored as Hangul stores them: BinData/BIN0001... streams,
    deflated like the other streams of a compressed document. Nothing in the body points at them."""
    compressed = bool(flags & 1)
    doc_info = record(0x10, 0, struct.pack("<H", 1) + bytes(24))  # DOCUMENT_PROPERTIES: 1 section
    body = section_records(blocks)
    streams = {
        "FileHeader": file_header(flags=flags),
        "DocInfo": _deflate(doc_info) if compressed else doc_info,
        "BodyText/Section0": _deflate(body) if compressed else body,
    }
    for number, data in enumerate(bin_data, start=1):
        streams[f"BinData/BIN{number:04X}.jpg"] = _deflate(data) if compressed else data
    path.write_bytes(compound_file(streams))
    return path


# --- a minimal compound file writer (MS-CFB version 3) ---------------------------------------------


def _entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)  # all black: a valid red-black tree of chains
        + struct.pack("<III", NO_STREAM, right, child)
        + bytes(16 + 4 + 16)
        + struct.pack("<IQ", start, size)
    )


def compound_file(streams: dict[str, bytes]) -> bytes:
    """``streams``: "Stream" or "Storage/Stream" (one level) to bytes."""
    big = {n: d for n, d in streams.items() if len(d) >= MINI_CUTOFF}
    small = {n: d for n, d in streams.items() if len(d) < MINI_CUTOFF}
    fat: list[int] = []
    sectors: list[bytes] = []

    def allocate(data: bytes) -> int:
        count = max(1, -(-len(data) // SECTOR))
        first = len(fat)
        for i in range(count):
            fat.append(first + i + 1 if i < count - 1 else END)
            sectors.append(data[i * SECTOR : (i + 1) * SECTOR].ljust(SECTOR, b"\x00"))
        return first

    starts: dict[str, tuple[int, int]] = {n: (allocate(d), len(d)) for n, d in big.items()}
    mini_fat: list[int] = []
    mini_stream = bytearray()
    for name, data in small.items():
        count = max(1, -(-len(data) // MINI_SECTOR))
        first = len(mini_fat)
        mini_fat.extend(first + i + 1 if i < count - 1 else END for i in range(count))
        mini_stream += data.ljust(count * MINI_SECTOR, b"\x00")
        starts[name] = (first, len(data))
    root_start = allocate(bytes(mini_stream)) if mini_stream else END
    mini_fat_start = allocate(struct.pack(f"<{len(mini_fat)}I", *mini_fat)) if mini_fat else END
    mini_fat_sectors = -(-len(mini_fat) * 4 // SECTOR)

    # Directory: root, then the top-level names chained as right siblings; a storage's streams likewise.
    top: dict[str, list[str]] = {}
    for name in streams:
        parent, _, leaf = name.rpartition("/")
        top.setdefault(parent, []).append(leaf)
    order = ["Root Entry"]
    ids: dict[str, int] = {}
    for leaf in top.get("", []):
        ids[leaf] = len(order)
        order.append(leaf)
    for storage in (s for s in top if s):
        ids[storage] = len(order)
        order.append(storage)
        for leaf in top[storage]:
            ids[f"{storage}/{leaf}"] = len(order)
            order.append(f"{storage}/{leaf}")

    def chain(names: list[str]) -> dict[str, int]:
        return {n: (ids[names[i + 1]] if i + 1 < len(names) else NO_STREAM) for i, n in enumerate(names)}

    top_level = [*top.get("", []), *(s for s in top if s)]
    right = chain(top_level)
    for storage in (s for s in top if s):
        right |= chain([f"{storage}/{leaf}" for leaf in top[storage]])
    entries = [_entry("Root Entry", 5, ids[top_level[0]], NO_STREAM, root_start, len(mini_stream))]
    for name in order[1:]:
        if name in top and name:  # a storage
            first_child = ids[f"{name}/{top[name][0]}"]
            entries.append(_entry(name, 1, first_child, right[name], 0, 0))
        else:
            start, size = starts[name]
            entries.append(_entry(name.rpartition("/")[2], 2, NO_STREAM, right[name], start, size))
    unused = bytes(68) + struct.pack("<III", NO_STREAM, NO_STREAM, NO_STREAM) + bytes(48)
    directory = b"".join(entries) + unused * (-len(entries) % (SECTOR // 128))
    dir_start = allocate(directory)

    fat_count = 1
    while fat_count * (SECTOR // 4) < len(fat) + fat_count:
        fat_count += 1
    if fat_count > 109:
        raise ValueError("compound file too large for this writer (no DIFAT)")
    fat_start = len(fat)
    fat.extend([FAT_SECT] * fat_count)
    table = fat + [FREE] * (fat_count * (SECTOR // 4) - len(fat))
    fat_bytes = struct.pack(f"<{len(table)}I", *table)
    sectors.extend(fat_bytes[i * SECTOR : (i + 1) * SECTOR] for i in range(fat_count))

    difat = [fat_start + i for i in range(fat_count)] + [FREE] * (109 - fat_count)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, MINI_CUTOFF, mini_fat_start, mini_fat_sectors, END, 0)
        + struct.pack("<109I", *difat)
    )
    return header + b"".join(sectors)


def large_hwp(path: Path, target_bytes: int = 300 * 1024) -> Path:
    """Paragraphs and 5x4 tables until the compressed body is about ``target_bytes``: the benchmark's HWP.
    Seeded random syllables make it compress like real text."""
    return hwp_document(path, _text_blocks(target_bytes))


def pictured_hwp(path: Path, target_bytes: int = 300 * 1024, text_bytes: int = 25 * 1024) -> Path:
    """A document made as a real ~300 KB one is: about ``text_bytes`` of compressed text and tables
    (the blocks of `large_hwp`, whole steps of 200 paragraphs: ~28 KB, 31,000 characters and 40
    tables for the default) and pictures making up the rest (four seeded random, so incompressible,
    streams, as JPEG data is)."""
    blocks = _text_blocks(text_bytes)
    rng = random.Random(15)
    picture = max(0, target_bytes - len(_deflate(section_records(blocks)))) // 4
    return hwp_document(path, blocks, bin_data=[rng.randbytes(picture) for _ in range(4)])


def _text_blocks(target_bytes: int) -> list[Block]:
    rng = random.Random(15)
    blocks: list[Block] = []
    n = 0
    while n % 200 or len(_deflate(section_records(blocks))) < target_bytes:
        n += 1
        words = " ".join(
            "".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(rng.randint(1, 4))) for _ in range(12)
        )
        blocks.append(f"{n}. 2026년 3월 {n % 28 + 1}일 거래 내역: 공급가액 {n * 1000:,}원. {words}")
        if n % 5 == 0:
            blocks.append([[f"항목 {n}-{r}-{c}\n{rng.randrange(10**6):,}" for c in range(4)] for r in range(5)])
    return blocks
