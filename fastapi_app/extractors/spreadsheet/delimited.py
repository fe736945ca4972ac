"""CSV through the csv module: encoding and dialect sniffed from the bytes, rows streamed."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi_app.extractors.base import CorruptFileError, ExtractionContext, SpreadsheetContent, short_reason
from fastapi_app.extractors.spreadsheet.rows import FULL_READ_MAX_CELLS, Budget, RawSheet, a1

CSV_SNIFF_CHARS = 64 * 1024
# Progress is offered to ctx.progress (throttled by the caller) every this many rows, as bytes read.
CSV_PROGRESS_ROWS = 4096
# Cell texts already seen are shared, per column, until a column has this many distinct ones: dates,
# names and categories repeat down a column, and one str object per cell was most of a large CSV's
# memory (500,000 rows of 5 cells: 220 MB of rows, 110 MB with sharing). A column of unique values
# (amounts, ids) stops adding at the cap and costs only the lookups.
CSV_SHARED_VALUES_PER_COLUMN = 4096
CSV_ENCODING_SAMPLE_BYTES = 4 * 1024 * 1024
_CSV_DELIMITERS = ",;\t|"


def read_csv(ctx: ExtractionContext, budget: Budget, content: SpreadsheetContent) -> RawSheet:
    try:
        with open(ctx.path, "rb") as fh:
            sample = fh.read(CSV_ENCODING_SAMPLE_BYTES + 1)
        encoding, codec = _detect_encoding(sample)
        content.csv_encoding = encoding
        # Streamed through a text wrapper so a large CSV is never held in memory as bytes and str.
        with open(ctx.path, encoding=codec, errors="replace", newline="") as text:
            delimiter, quotechar = _sniff_dialect(text.read(CSV_SNIFF_CHARS))
        content.csv_delimiter = delimiter
        with open(ctx.path, "rb") as raw, io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="") as text:
            size = max(ctx.size_bytes, 1)

            def progress() -> None:
                ctx.progress(min(raw.tell(), size), size, "byte")

            return _csv_rows(csv.reader(text, delimiter=delimiter, quotechar=quotechar), budget, progress)
    except FileNotFoundError:
        raise
    except (OSError, LookupError) as exc:
        raise CorruptFileError(f"CSV could not be read: {short_reason(exc)}") from None


def _csv_rows(reader: Any, budget: Budget, progress: Callable[[], None] = lambda: None) -> RawSheet:
    raw = RawSheet(name="Sheet1")
    kept_cells = read_cells = 0
    shared: list[dict[str, str]] = []
    try:
        for record in reader:
            raw.total_rows += 1
            if not raw.total_rows % CSV_PROGRESS_ROWS:
                progress()
            if len(shared) < len(record):
                shared.extend({} for _ in range(len(record) - len(shared)))
            record = _shared(record, shared)
            raw.total_cols = max(raw.total_cols, len(record))
            # Rows keep their own length: CSV has no used range, and padding would invent cells.
            if not raw.rows_truncated and kept_cells + len(record) <= budget.remaining:
                raw.keep += 1
                kept_cells += len(record)
            else:
                raw.rows_truncated = True
            if not raw.summaries_partial and read_cells + len(record) <= FULL_READ_MAX_CELLS:
                raw.rows.append(record)  # past the kept rows, still read for exact summaries
                read_cells += len(record)
            else:
                raw.summaries_partial = True
    except csv.Error as exc:
        raise CorruptFileError(f"Malformed CSV at line {reader.line_num}: {short_reason(exc)}") from None
    budget.remaining -= kept_cells
    if raw.total_rows and raw.total_cols:
        raw.dimensions = f"A1:{a1(raw.total_rows - 1, raw.total_cols - 1)}"
    return raw


def _shared(record: list[str], shared: list[dict[str, str]]) -> list[str]:
    """The record with each cell replaced by an equal string seen before in its column, if any."""
    out = []
    for value, seen in zip(record, shared, strict=False):
        same = seen.get(value)
        if same is None:
            same = value
            if len(seen) < CSV_SHARED_VALUES_PER_COLUMN:
                seen[value] = value
        out.append(same)
    return out


def _detect_encoding(sample: bytes) -> tuple[str, str]:
    """(name reported to clients, Python codec), judged from the first CSV_ENCODING_SAMPLE_BYTES."""
    complete = len(sample) <= CSV_ENCODING_SAMPLE_BYTES
    sample = sample[:CSV_ENCODING_SAMPLE_BYTES]
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "utf-16"
    try:
        # Not final unless the sample is the whole file: it may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8", "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.encoding is None:
        raise CorruptFileError("File is not text: no character encoding fits its bytes")
    codec = best.encoding
    if codec in ("euc_kr", "cp949", "johab") and _decodes(sample, "cp949", final=complete):
        # Korean Excel saves CSV as cp949 (UHC), a superset of EUC-KR: decoding as EUC-KR would
        # turn the extra syllables (똠, 햏, ...) into replacement characters.
        codec = "cp949"
    return _ENCODING_NAMES.get(codec, codec), codec


def _decodes(sample: bytes, codec: str, *, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=final)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


# charset-normalizer reports Python codec names; clients expect the common spelling.
_ENCODING_NAMES = {"utf_8": "utf-8", "utf_16": "utf-16", "euc_kr": "euc-kr", "cp949": "cp949"}


def _sniff_dialect(sample: str) -> tuple[str, str]:
    if "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]  # a cut-off last line confuses the sniffer
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
        return dialect.delimiter, dialect.quotechar or '"'
    except csv.Error:
        pass
    first_line = sample.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in _CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return (best if counts[best] else ","), '"'
