"""HWP 5.0 record streams (Hancom, "HWP 5.0 file format", revision 1.3, §4.1 and §4.3).

A record is a 32-bit header (tag id: 10 bits, level: 10 bits, size: 12 bits; a size of 0xFFF means
the real size follows as another 32-bit word) and its payload. Levels nest: a record belongs to the
closest record before it whose level is one less.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from fastapi_app.extractors.base import CorruptFileError

HWPTAG_BEGIN = 0x10
# DocInfo
TAG_DOCUMENT_PROPERTIES = HWPTAG_BEGIN
TAG_DISTRIBUTE_DOC_DATA = HWPTAG_BEGIN + 12
# BodyText
TAG_PARA_HEADER = HWPTAG_BEGIN + 50
TAG_PARA_TEXT = HWPTAG_BEGIN + 51
TAG_CTRL_HEADER = HWPTAG_BEGIN + 55
TAG_LIST_HEADER = HWPTAG_BEGIN + 56
TAG_SHAPE_COMPONENT = HWPTAG_BEGIN + 60
TAG_TABLE = HWPTAG_BEGIN + 61

_EXTENDED_SIZE = 0xFFF
_U32 = struct.Struct("<I")
# PARA_CHAR_SHAPE, PARA_LINE_SEG, PARA_RANGE_TAG: layout of a paragraph, never read.
_LEFT_OUT = frozenset({HWPTAG_BEGIN + 52, HWPTAG_BEGIN + 53, HWPTAG_BEGIN + 54})
# A section inflated past this is refused: real documents stay far below it, a deflate bomb does not.
MAX_INFLATED_STREAM = 256 * 1024 * 1024


class Record(NamedTuple):
    """A record and the records nested in it. A tuple: a section has tens of thousands of them, and
    ``tuple.__new__`` makes one in half the time of a class's ``__init__``."""

    tag: int
    level: int
    payload: bytes
    children: list[Record]


_new_record = tuple.__new__


def iter_records(data: bytes) -> list[Record]:
    """The flat list of records of a stream, in order."""
    records: list[Record] = []
    append = records.append
    offset, end = 0, len(data)
    unpack = _U32.unpack_from
    while offset + 4 <= end:
        (header,) = unpack(data, offset)
        offset += 4
        size = header >> 20
        if size == _EXTENDED_SIZE:
            if offset + 4 > end:
                raise CorruptFileError("HWP record stream ends inside a record header")
            (size,) = unpack(data, offset)
            offset += 4
        if offset + size > end:
            raise CorruptFileError(f"HWP record (tag {header & 0x3FF}) runs past the end of its stream")
        append(Record(header & 0x3FF, (header >> 10) & 0x3FF, data[offset : offset + size], []))
        offset += size
    return records


_NOTHING_LEFT_OUT = 0x400  # above every level (10 bits)


def read_tree(data: bytes) -> list[Record]:
    """``record_tree(iter_records(data))`` in one pass, leaving out the paragraph records no reader
    uses (character shapes, line segments, range tags: leaves, half the records of a section)."""
    roots: list[Record] = []
    stack: list[Record] = []
    # Level of the left-out record still open: anything nested deeper belongs to it and is dropped
    # with it instead of being given to the wrong parent. A record at this level or above closes it,
    # and pops the stack as the left-out record would have.
    skip = _NOTHING_LEFT_OUT
    left_out = _LEFT_OUT
    offset, end = 0, len(data)
    unpack = _U32.unpack_from
    while offset + 4 <= end:
        (header,) = unpack(data, offset)
        offset += 4
        size = header >> 20
        if size == _EXTENDED_SIZE:
            if offset + 4 > end:
                raise CorruptFileError("HWP record stream ends inside a record header")
            (size,) = unpack(data, offset)
            offset += 4
        if offset + size > end:
            raise CorruptFileError(f"HWP record (tag {header & 0x3FF}) runs past the end of its stream")
        level = (header >> 10) & 0x3FF
        if level > skip:
            offset += size
            continue
        tag = header & 0x3FF
        if tag in left_out:
            skip = level
            offset += size
            continue
        skip = _NOTHING_LEFT_OUT
        # Levels on the stack rise strictly; in a well-formed stream they are one per level and the
        # parent is stack[level - 1].
        if level <= len(stack) and (level == 0 or stack[level - 1].level == level - 1):
            del stack[level:]
        else:
            while stack and stack[-1].level >= level:
                stack.pop()
        record = _new_record(Record, (tag, level, data[offset : offset + size], []))
        (stack[-1].children if stack else roots).append(record)
        offset += size
        stack.append(record)
    return roots


def record_tree(records: list[Record]) -> list[Record]:
    """The top-level records, each with its nested children (by level)."""
    roots: list[Record] = []
    stack: list[Record] = []
    for record in records:
        while stack and stack[-1].level >= record.level:
            stack.pop()
        if stack and record.level > stack[-1].level:
            stack[-1].children.append(record)
        else:
            roots.append(record)
        stack.append(record)
    return roots


def inflate(data: bytes, limit: int = MAX_INFLATED_STREAM) -> bytes:
    """A raw deflate stream (no zlib header: wbits=-15), refused past ``limit`` bytes."""
    decompressor = zlib.decompressobj(-15)
    try:
        out = decompressor.decompress(data, limit)
    except zlib.error as exc:
        raise CorruptFileError(f"HWP stream does not inflate: {exc}") from None
    if decompressor.unconsumed_tail:
        raise CorruptFileError(f"HWP stream inflates past {limit // (1024 * 1024)} MiB")
    return out
