"""HWP 5.0 record streams (Hancom, "HWP 5.0 file format", revision 1.3, §4.1 and §4.3).

A record is a 32-bit header (tag id: 10 bits, level: 10 bits, size: 12 bits; a size of 0xFFF means
the real size follows as another 32-bit word) and its payload. Levels nest: a record belongs to the
closest record before it whose level is one less.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
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
_LEVEL, _CHILDREN = 1, 3  # Record's fields by index


_NOTHING_LEFT_OUT = 0x400  # above every level (10 bits)


def record_spans(data: bytes, left_out: frozenset[int] = frozenset()) -> Iterator[tuple[int, int, int, int]]:
    """Tag, level, payload start and payload end of each record of a stream, in order; a record whose
    tag is in ``left_out`` is not given, nor any record nested in it.

    The one reader of record headers (both the flat list and the tree come from here). Leaving records
    out here rather than in the caller halves the records a section hands on: the layout records are
    half of them.
    """
    offset, end = 0, len(data)
    unpack = _U32.unpack_from
    # Level of the left-out record still open: anything nested deeper belongs to it and is dropped
    # with it. A record at this level or above closes it.
    skip = _NOTHING_LEFT_OUT
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
        start = offset
        offset += size
        level = (header >> 10) & 0x3FF
        if level > skip:
            continue
        tag = header & 0x3FF
        if tag in left_out:
            skip = level
            continue
        skip = _NOTHING_LEFT_OUT
        yield tag, level, start, offset


def iter_records(data: bytes) -> list[Record]:
    """The flat list of records of a stream, in order."""
    return [Record(tag, level, data[start:end], []) for tag, level, start, end in record_spans(data)]


def read_tree(data: bytes) -> list[Record]:
    """``record_tree(iter_records(data))`` in one pass, leaving out the paragraph records no reader
    uses (character shapes, line segments, range tags: leaves, half the records of a section)."""
    roots: list[Record] = []
    stack: list[Record] = []
    for tag, level, start, end in record_spans(data, _LEFT_OUT):
        # Levels on the stack rise strictly; in a well-formed stream they are one per level and the
        # parent is stack[level - 1]. A left-out record needs no pop of its own: the next record's
        # level pops the stack as far as it would have. Fields by index (_LEVEL, _CHILDREN): a
        # NamedTuple's attribute is a descriptor call, its index a plain tuple lookup, once per record.
        if level <= len(stack) and (level == 0 or stack[level - 1][_LEVEL] == level - 1):
            del stack[level:]
        else:
            while stack and stack[-1][_LEVEL] >= level:
                stack.pop()
        record = _new_record(Record, (tag, level, data[start:end], []))
        (stack[-1][_CHILDREN] if stack else roots).append(record)
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
