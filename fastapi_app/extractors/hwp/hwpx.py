"""HWPX documents (OWPML, KS X 6101): a zip of XML parts. The body is Contents/section*.xml (hp:p
paragraphs of hp:run runs holding hp:t text, tables hp:tbl/hp:tr/hp:tc, controls hp:ctrl for
headers, footers, notes and fields, and drawing objects whose hp:drawText holds text boxes); the
metadata is Contents/content.hpf, the format version version.xml. META-INF/manifest.xml is not needed.

Every member is read through SafeZip (size, ratio and total caps). The XML is parsed by expat
without a DTD: a part that declares one (and with it entities) is refused, so neither entity
expansion nor an external fetch can happen.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path

from fastapi_app.extractors.archive import ZIP_ERRORS, SafeZip
from fastapi_app.extractors.base import (
    CorruptFileError,
    ExtractionContext,
    ExtractionResult,
    HwpContent,
    HwpField,
    short_reason,
)
from fastapi_app.extractors.hwp.document import (
    Cell,
    DocumentBuilder,
    join_blocks,
    no_gc_pauses,
    table_grid,
    table_text,
)

_SECTION = re.compile(r"^Contents/section(\d+)\.xml$")
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_INLINE_TEXT = {"tab": "\t", "lineBreak": "\n", "nbSpace": " ", "fwSpace": " ", "hyphen": "-"}
_METADATA = {
    "title": "title",
    "creator": "author",
    "subject": "subject",
    "description": "comments",
    "keyword": "keywords",
    "lastsaveby": "last_saved_by",
    "CreatedDate": "created",
    "ModifiedDate": "modified",
    "date": "date",
}
# Parts that only describe the package, read whole: a few KB in real files.
_SMALL_PART_BYTES = 4 * 1024 * 1024


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """A tag without its namespace ("{...}p" -> "p"), memoised: a section has a few dozen distinct tags."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = (
            _LOCAL_NAMES.setdefault(tag, tag.rsplit("}", 1)[-1]) if len(_LOCAL_NAMES) < 4096 else tag.rsplit("}", 1)[-1]
        )
    return name


def parse_xml(data: bytes, name: str) -> ET.Element:
    if _DTD.search(data[:4096]) or _DTD.search(data):
        raise CorruptFileError(f"HWPX part {name} declares a DTD, which OWPML never does; refused")
    try:
        return ET.fromstring(data)  # noqa: S314 - no DTD (checked above), so no entities to expand or fetch
    except ET.ParseError as exc:
        raise CorruptFileError(f"HWPX part {name} is not well-formed XML: {short_reason(exc)}") from None


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _sublists(element: ET.Element) -> Iterator[ET.Element]:
    """The outermost hp:subList elements under ``element`` (text boxes, note bodies, cells)."""
    for child in element:
        if _local(child.tag) == "subList":
            yield child
        else:
            yield from _sublists(child)


def _t_text(element: ET.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        parts.append(_INLINE_TEXT.get(_local(child.tag), ""))
        parts.append(child.tail or "")
    return "".join(parts)


class _SectionReader:
    def __init__(self, builder: DocumentBuilder, section: int) -> None:
        self.builder = builder
        self.section = section

    def paragraphs(self, container: ET.Element) -> list[str]:
        blocks: list[str] = []
        for paragraph in _children(container, "p"):
            blocks.extend(self.paragraph(paragraph))
        return blocks

    def sublist_text(self, element: ET.Element) -> str:
        return join_blocks([block for sub in _sublists(element) for block in self.paragraphs(sub)])

    def paragraph(self, paragraph: ET.Element) -> list[str]:
        blocks: list[str] = []
        after: list[str] = []
        parts: list[str] = []
        open_fields: dict[str, tuple[HwpField, list[str]]] = {}
        for run in _children(paragraph, "run"):
            for item in run:
                kind = _local(item.tag)
                if kind == "t":
                    text = _t_text(item)
                    parts.append(text)
                    for _, field_parts in open_fields.values():
                        field_parts.append(text)
                elif kind == "tbl":
                    if "".join(parts).strip():
                        blocks.append("".join(parts))
                    parts.clear()
                    blocks.extend(self.table(item))
                elif kind == "ctrl":
                    for control in item:
                        self.control(control, open_fields)
                elif kind != "secPr" and (text := self.sublist_text(item)):
                    # Drawing objects (rectangles, ellipses, containers, ...): their text boxes
                    # follow the paragraph they are anchored in.
                    after.append(text)
        for field, field_parts in open_fields.values():
            field.text = "".join(field_parts).strip()
        if parts or not blocks:
            blocks.append("".join(parts))
        return blocks + after

    def control(self, control: ET.Element, open_fields: dict[str, tuple[HwpField, list[str]]]) -> None:
        kind = _local(control.tag)
        if kind in ("header", "footer"):
            self.builder.header_footer(kind, self.sublist_text(control))
        elif kind in ("footNote", "endNote"):
            note = "footnote" if kind == "footNote" else "endnote"
            self.builder.note(note, self.section, self.sublist_text(control))
        elif kind == "fieldBegin":
            field = HwpField(type=control.get("type") or "UNKNOWN", name=control.get("name") or None)
            self.builder.fields.append(field)
            open_fields[control.get("id") or str(len(open_fields))] = (field, [])
        elif kind == "fieldEnd":
            begun = open_fields.pop(control.get("beginIDRef") or "", None)
            if begun is not None:
                begun[0].text = "".join(begun[1]).strip()

    def table(self, table: ET.Element) -> list[str]:
        index = self.builder.reserve_table()
        cells: list[Cell] = []
        for row_number, row in enumerate(_children(table, "tr")):
            for col_number, cell in enumerate(_children(row, "tc")):
                address = next(_children(cell, "cellAddr"), None)
                span = next(_children(cell, "cellSpan"), None)
                text = join_blocks([b for sub in _children(cell, "subList") for b in self.paragraphs(sub)])
                cells.append(
                    Cell(
                        row=_int(address, "rowAddr", row_number),
                        col=_int(address, "colAddr", col_number),
                        text=text,
                        row_span=_int(span, "rowSpan", 1),
                        col_span=_int(span, "colSpan", 1),
                    )
                )
        grid = table_grid(cells, _int(table, "rowCnt", 0), _int(table, "colCnt", 0))
        self.builder.fill_table(index, grid)
        blocks = [text] if (text := table_text(grid)) else []
        captions = [self.sublist_text(caption) for caption in _children(table, "caption")]
        return blocks + [text for text in captions if text]


def _int(element: ET.Element | None, name: str, default: int) -> int:
    if element is None:
        return default
    try:
        return max(int(element.get(name, default)), 0)
    except ValueError:
        return default


def _section_names(archive: SafeZip, package: ET.Element | None) -> list[str]:
    """The sections in the order of content.hpf's spine; without one, by number."""
    names = archive.names
    if package is not None:
        hrefs = {
            item.get("id"): item.get("href")
            for manifest in _children(package, "manifest")
            for item in _children(manifest, "item")
        }
        ordered = [
            hrefs.get(ref.get("idref")) for spine in _children(package, "spine") for ref in _children(spine, "itemref")
        ]
        spine = [name for name in ordered if name and _SECTION.match(name) and name in names]
        if spine:
            return spine
    numbered = sorted((int(m.group(1)), name) for name in names if (m := _SECTION.match(name)))
    return [name for _, name in numbered]


def _metadata(package: ET.Element | None) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    if package is None:
        return found
    for metadata in _children(package, "metadata"):
        for item in metadata:
            kind = _local(item.tag)
            key = _METADATA.get(item.get("name", "") if kind == "meta" else kind)
            value = (item.text or "").strip()
            if key and value:
                found[key] = value
    return found


def _version(archive: SafeZip) -> str | None:
    if "version.xml" not in archive.names:
        return None
    root = parse_xml(archive.read_small("version.xml", _SMALL_PART_BYTES), "version.xml")
    numbers = [root.get(name) for name in ("major", "minor", "micro", "buildNumber")]
    return ".".join(n for n in numbers if n is not None) or None


def read_hwpx(ctx: ExtractionContext, path: Path) -> ExtractionResult:
    try:
        with SafeZip(path, ctx.archive_limits) as archive:
            package = None
            if "Contents/content.hpf" in archive.names:
                package = parse_xml(archive.read_small("Contents/content.hpf", _SMALL_PART_BYTES), "content.hpf")
            names = _section_names(archive, package)
            if not names:
                raise CorruptFileError("HWPX document has no Contents/section*.xml part")
            content = HwpContent(format="hwpx", version=_version(archive), metadata=_metadata(package))
            content.section_count = len(names)
            builder = DocumentBuilder()
            for done, name in enumerate(names, start=1):
                data = archive.read_small(name, ctx.archive_limits.max_member_bytes)
                archive.count_inflated(len(data))
                section = builder.new_section()
                with no_gc_pauses():
                    builder.body(section, _SectionReader(builder, section).paragraphs(parse_xml(data, name)))
                ctx.progress(done, len(names), "section")
    except (*ZIP_ERRORS, zlib.error) as exc:  # a damaged deflate stream raises zlib.error while read
        raise CorruptFileError(f"Damaged HWPX container: {short_reason(exc)}") from None
    with no_gc_pauses():
        result = builder.result(ctx, content)
    if package is None:
        result.warn("HWPX_NO_PACKAGE", "Contents/content.hpf is missing: no metadata, sections read by number")
    return result
