"""What calamine does not give for xlsx/xlsm, read from the raw XML: formula counts, cached error
values, the 1904 date system and defined names."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from fastapi_app.extractors.archive import SafeZip
from fastapi_app.extractors.base import ExtractionContext, column_letter, not_about_the_file, short_reason
from fastapi_app.extractors.spreadsheet.rows import Extras

# Above this size the formula/error scan of the sheet XML is skipped (it is still only ~0.15 s for a
# 1M-cell sheet, so the limit only guards against pathological files).
XLSX_SCAN_MAX_XML_BYTES = 512 * 1024 * 1024
# Parts read whole (workbook.xml, relationships) are refused past this; real ones are kilobytes.
WHOLE_PART_MAX_BYTES = 64 * 1024 * 1024
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def xlsx_extras(ctx: ExtractionContext) -> Extras:
    """Formula counts, cached error values (calamine drops them), the 1904 flag and defined names."""
    from xml.etree import ElementTree

    extras = Extras()
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            # workbook.xml is small; ElementTree never fetches external entities and expat >= 2.4.1
            # refuses entity-expansion bombs, so defusedxml would add nothing.
            workbook = ElementTree.fromstring(archive.read_small("xl/workbook.xml", WHOLE_PART_MAX_BYTES))  # noqa: S314
            extras.date_system = "1900"
            for element in workbook.iter():
                tag = local_name(element.tag)
                if tag == "workbookPr" and element.get("date1904", "").lower() in ("1", "true"):
                    extras.date_system = "1904"
                elif tag == "definedName" and _workbook_level_name(element.get("name", ""), element.attrib):
                    extras.defined_names.append(element.get("name", ""))
            parts = xlsx_sheet_parts(archive, workbook)
            size = sum(archive.declared_size(p) for p in parts.values() if p in archive.names)
            if size > XLSX_SCAN_MAX_XML_BYTES:
                extras.warnings.append(("PARTIAL_METADATA", "Workbook too large to count formulas and error cells"))
                return extras
            for name, part in parts.items():
                if part not in archive.names or not part.startswith("xl/worksheets/"):
                    continue
                with archive.open(part) as stream:
                    listed = FormulaList(MAX_FORMULAS_LISTED - sum(map(len, extras.formula_cells.values())))
                    extras.formulas[name], extras.errors[name] = _scan_sheet_xml(stream, listed)
                    extras.formula_cells[name] = listed.cells
    except Exception as exc:  # values come from calamine; these extras are best effort
        if not_about_the_file(exc):
            raise
        extras.warnings.append(("PARTIAL_METADATA", f"Formula/error scan failed: {short_reason(exc)}"))
    return extras


def _workbook_level_name(name: str, attrib: dict[str, str]) -> bool:
    # Sheet-scoped names, Excel's own (_xlnm.Print_Area, _FilterDatabase) and hidden names are not
    # what a user defined for the workbook.
    if not name or name.lower().startswith("_xlnm."):
        return False
    return "localSheetId" not in attrib and attrib.get("hidden", "").lower() not in ("1", "true")


def xlsx_sheet_parts(archive: SafeZip, workbook: Any) -> dict[str, str]:
    from xml.etree import ElementTree

    targets: dict[str, str] = {}
    try:
        rels = ElementTree.fromstring(archive.read_small("xl/_rels/workbook.xml.rels", WHOLE_PART_MAX_BYTES))  # noqa: S314
    except KeyError:
        return {}
    for rel in rels.iter():
        if local_name(rel.tag) == "Relationship" and rel.get("Id") and rel.get("Target"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            targets[rel.get("Id", "")] = posixpath.normpath(path)
    parts: dict[str, str] = {}
    for element in workbook.iter():
        if local_name(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if local_name(k) == "id"), None)
        if rel_id in targets and element.get("name") is not None:
            parts[element.get("name", "")] = targets[rel_id]
    return parts


_XML_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
# Small reads: the scan runs in a thread, and large buffers freed there would stay in that thread's
# malloc arena, adding to the peak RSS while calamine holds the sheet.
SCAN_CHUNK = 128 * 1024


def _scan_sheet_xml(stream: Any, listed: FormulaList | None = None) -> tuple[int, dict[tuple[int, int], str]]:
    """Formula cells and cached error values of one worksheet part, by scanning its bytes.

    An XML parse costs ~3 s on a 1M-cell sheet; counting tags in the raw bytes costs ~0.15 s
    (mostly inflating the ZIP member). Text content cannot contain a raw ``<``, so the tags found are
    real. Buffers are cut after the last ``</row>``, so no cell straddles two buffers, and between
    two row ends the only element starting with "f" is a formula: one count of ``<f`` suffices there.
    The part before the first and after the last row end (sheet properties, conditional formats
    with ``<formula>``, filters) is counted tag by tag.
    """
    formulas = 0
    errors: dict[tuple[int, int], str] = {}
    head = stream.read(SCAN_CHUNK)
    match = _XML_PREFIX.search(head)
    prefix = (match.group(1) or b"") if match else b""
    tags = (b"<" + prefix + b"f>", b"<" + prefix + b"f ", b"<" + prefix + b"f/>")
    in_rows = b"<" + prefix + b"f"
    row_end = b"</" + prefix + b"row>"
    carry = b""
    chunk = head
    first = True
    while chunk:
        buffer = carry + chunk if carry else chunk
        cut = buffer.rfind(row_end)
        if cut == -1:
            carry = buffer
        else:
            cut += len(row_end)
            part, carry = buffer[:cut], buffer[cut:]
            found = sum(part.count(tag) for tag in tags) if first else part.count(in_rows)
            formulas += found
            first = False
            if found and listed is not None:
                listed.scan(part, prefix)
            if b't="e"' in part:
                errors.update(_error_cells(part, prefix))
        chunk = stream.read(SCAN_CHUNK)
    if carry:
        found = sum(carry.count(tag) for tag in tags)
        formulas += found
        if found and listed is not None:
            listed.scan(carry, prefix)
        if b't="e"' in carry:
            errors.update(_error_cells(carry, prefix))
    return formulas, errors


# Formula cells listed with their text (and computed when the file has no cached value), per workbook.
MAX_FORMULAS_LISTED = 1_000
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f(\s[^>]*?)?(?:/>|>([^<]*)</(?:[\w.-]+:)?f>)")
_SHARED_INDEX = re.compile(rb"\bsi=\"(\d+)\"")
# A1 references in formula text (outside string literals), not followed by "(" (LOG10( is a function).
_FORMULA_REF = re.compile(r"(?<![A-Za-z0-9_.!$])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![\d(A-Za-z_])")


class FormulaList:
    """The formula cells of a sheet part with their text and whether the file stores a value.

    Found from each ``<f>`` back to its ``<c`` (for the reference) and forward to ``</c>`` (for the
    value), so the cost is per formula, not per cell. A shared formula's followers (``<f t="shared"
    si="0"/>``) get the anchor's text with its relative references moved, as Excel shows them."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.cells: list[tuple[int, int, str, bool]] = []  # row, col (0-based), formula, has cached value
        self._shared: dict[bytes, tuple[int, int, str]] = {}

    def scan(self, part: bytes, prefix: bytes) -> None:
        if self.room <= 0:
            return
        from html import unescape

        cell_start = b"<" + prefix + b"c "
        cell_end = b"</" + prefix + b"c>"
        for match in _FORMULA.finditer(part):
            start = part.rfind(cell_start, 0, match.start())
            ref = _REF_ATTR.search(part, start, match.start()) if start != -1 else None
            position = _parse_ref(ref.group(1).decode("ascii")) if ref else None
            if position is None:
                continue
            attrs = match.group(1) or b""
            shared = _SHARED_INDEX.search(attrs) if b"shared" in attrs else None
            if match.group(2) is not None:
                text = unescape(match.group(2).decode("utf-8", "replace"))
                if shared:
                    self._shared[shared.group(1)] = (*position, text)
            elif shared and shared.group(1) in self._shared:
                row, col, anchor = self._shared[shared.group(1)]
                text = shift_references(anchor, position[0] - row, position[1] - col)
            else:
                continue
            end = part.find(cell_end, match.end())
            value = _VALUE.search(part, match.end(), end if end != -1 else len(part))
            # Excel stores a formula that returned "" as <v></v> on a t="str" cell: a cached value.
            # openpyxl writes <v /> (or nothing): none.
            empty_string = value is not None and b't="str"' in part[start : match.start()]
            self.cells.append((*position, text, bool(value and (value.group(1).strip() or empty_string))))
            self.room -= 1
            if self.room <= 0:
                return


def shift_references(formula: str, rows: int, cols: int) -> str:
    """The formula as it reads ``rows`` down and ``cols`` right of where it is written ($ fixes a part)."""

    def shift(match: re.Match[str]) -> str:
        col_abs, letters, row_abs, digits = match.groups()
        col = 0
        for char in letters:
            col = col * 26 + ord(char) - 64
        if not col_abs:
            col += cols
        row = int(digits) + (0 if row_abs else rows)
        if col < 1 or row < 1:
            return "#REF!"
        return f"{col_abs}{column_letter(col - 1)}{row_abs}{row}"

    parts = formula.split('"')
    # Even parts are outside string literals.
    return '"'.join(_FORMULA_REF.sub(shift, p) if i % 2 == 0 else p for i, p in enumerate(parts))


_ERROR_CELL = re.compile(rb"<(?:[\w.-]+:)?c\s([^>]*\bt=\"e\"[^>]*)>")
_REF_ATTR = re.compile(rb"\br=\"([A-Z]{1,3}\d+)\"")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)<")


def _error_cells(part: bytes, prefix: bytes) -> dict[tuple[int, int], str]:
    cells: dict[tuple[int, int], str] = {}
    cell_end = b"</" + prefix + b"c>"
    for match in _ERROR_CELL.finditer(part):
        attrs = match.group(1)
        ref = _REF_ATTR.search(attrs)
        if attrs.endswith(b"/") or ref is None:
            continue
        end = part.find(cell_end, match.end())
        value = _VALUE.search(part, match.end(), end if end != -1 else len(part))
        position = _parse_ref(ref.group(1).decode("ascii"))
        if value and position is not None:
            cells[position] = value.group(1).decode("utf-8", "replace")
    return cells


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_ref(ref: str) -> tuple[int, int] | None:
    match = _CELL_REF.match(ref.replace("$", "").upper())
    if not match:
        return None
    col = 0
    for char in match.group(1):
        col = col * 26 + (ord(char) - 64)
    return int(match.group(2)) - 1, col - 1
