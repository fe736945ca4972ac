"""HWP 5.0 documents: the body records of each section, in reading order (Hancom, "HWP 5.0 file
format", revision 1.3, §4.3: paragraphs, controls, tables, lists).

A paragraph (PARA_HEADER) holds its text (PARA_TEXT, UTF-16LE) and one CTRL_HEADER per extended
control character in the text, in the same order: tables, shapes, headers and footers, notes and
fields. A control's content is lists of paragraphs, each list opened by a LIST_HEADER.
"""

from __future__ import annotations

import codecs
import re
import struct
from collections.abc import Iterator
from pathlib import Path

from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    HwpContent,
    HwpField,
)
from fastapi_app.extractors.hwp.document import (
    Cell,
    DocumentBuilder,
    join_blocks,
    no_gc_pauses,
    table_grid,
    table_text,
)
from fastapi_app.extractors.hwp.ole import FileHeader, HwpOle
from fastapi_app.extractors.hwp.records import (
    TAG_CTRL_HEADER,
    TAG_DISTRIBUTE_DOC_DATA,
    TAG_DOCUMENT_PROPERTIES,
    TAG_LIST_HEADER,
    TAG_PARA_HEADER,
    TAG_PARA_TEXT,
    TAG_TABLE,
    Record,
    inflate,
    iter_records,
    read_tree,
)

# Control characters of PARA_TEXT (§4.3.2, table 6): these take 8 WCHARs (the code, 6 WCHARs of
# parameters, the code again); the others take one. The extended ones each have a CTRL_HEADER.
_EXTENDED = frozenset({1, 2, 3, 11, 12, 14, 15, 16, 17, 18, 21, 22, 23})
_INLINE = frozenset({4, 5, 6, 7, 8, 9, 19, 20})
_FIELD_END = 4
_TAB, _LINE_BREAK, _PARA_BREAK, _HYPHEN = 9, 10, 13, 24
_SPACES = frozenset({30, 31})  # non-breaking and fixed-width spaces
_CONTROL = re.compile(r"[\x00-\x1f]")
# bytes.decode("utf-16-le") without the codec lookup and its Python wrapper; final=True: an odd last
# byte becomes U+FFFD as it does there.
_utf16 = codecs.utf_16_le_decode
_CELL_ADDRESS = struct.Struct("<HHHH")  # LIST_HEADER of a cell: column, row, column span, row span

_FIELD_TYPES = {
    "%clk": "CLICK_HERE",
    "%hlk": "HYPERLINK",
    "%dte": "DATE",
    "%ddt": "DOC_DATE",
    "%pat": "PATH",
    "%bmk": "BOOKMARK",
    "%mmg": "MAIL_MERGE",
    "%xrf": "CROSS_REF",
    "%fmu": "FORMULA",
    "%smr": "SUMMARY",
    "%usr": "USER_INFO",
    "%mem": "MEMO",
    "%cpr": "PRIVATE_INFO",
    "%sig": "SIGNATURE",
    "%unk": "UNKNOWN",
}


def tokens(payload: bytes | str) -> Iterator[str | int]:
    """PARA_TEXT as text runs (str) and control codes (int), parameters skipped."""
    text = payload.decode("utf-16-le", "replace") if isinstance(payload, bytes) else payload
    pos, end = 0, len(text)
    while pos < end:
        match = _CONTROL.search(text, pos)
        if match is None:
            yield text[pos:]
            return
        at = match.start()
        if at > pos:
            yield text[pos:at]
        code = ord(text[at])
        yield code
        pos = at + (8 if code in _EXTENDED or code in _INLINE else 1)


def control_id(record: Record) -> str:
    """The 4-character id of a CTRL_HEADER ("tbl ", "gso ", "fn  ", "%clk"), stored as a little-endian word."""
    return record.payload[:4][::-1].decode("latin-1") if len(record.payload) >= 4 else ""


def _paragraph_lists(control: Record) -> tuple[list[list[Record]], list[list[Record]], Record | None, list[Record]]:
    """A control's paragraph lists before its TABLE record (a caption), after it (the cells), the TABLE
    record and the LIST_HEADERs of the cells."""
    before: list[list[Record]] = []
    after: list[list[Record]] = []
    table: Record | None = None
    cell_headers: list[Record] = []
    current: list[Record] | None = None
    for child in control.children:
        if child.tag == TAG_TABLE:
            table, current = child, None
        elif child.tag == TAG_LIST_HEADER:
            current = []
            (after if table is not None else before).append(current)
            if table is not None:
                cell_headers.append(child)
        elif child.tag == TAG_PARA_HEADER:
            if current is None:
                current = []
                (after if table is not None else before).append(current)
            current.append(child)
    return before, after, table, cell_headers


def _shape_paragraphs(node: Record) -> Iterator[list[Record]]:
    """The text lists of a drawing object (text boxes), looked for in its whole subtree."""
    current: list[Record] | None = None
    for child in node.children:
        if child.tag == TAG_LIST_HEADER:
            if current:
                yield current
            current = []
        elif child.tag == TAG_PARA_HEADER:
            current = current if current is not None else []
            current.append(child)
        else:
            yield from _shape_paragraphs(child)
    if current:
        yield current


class _SectionReader:
    def __init__(self, builder: DocumentBuilder, section: int) -> None:
        self.builder = builder
        self.section = section

    def paragraphs(self, nodes: list[Record]) -> list[str]:
        blocks: list[str] = []
        append = blocks.append
        plain = _CONTROL.search
        for node in nodes:
            if node.tag != TAG_PARA_HEADER:
                continue
            children = node.children
            # Most paragraphs are their text alone, ending with the paragraph break and no other
            # control character: that text is the block (what paragraph() returns for them, cheaper).
            if len(children) == 1 and children[0].tag == TAG_PARA_TEXT:
                text = _utf16(children[0].payload, "replace", True)[0]
                if text and text[-1] == "\r":
                    body = text[:-1]
                    # isprintable() is False for every control character, and a C loop: the search
                    # decides only the few texts it doubts (tabs, line breaks, other unprintables).
                    if body.isprintable() or plain(body) is None:
                        append(body)
                        continue
            blocks.extend(self.paragraph(node))
        return blocks

    def paragraph(self, node: Record) -> list[str]:
        text_record = None
        control_list = []
        for child in node.children:
            if child.tag == TAG_PARA_TEXT:
                text_record = text_record or child
            elif child.tag == TAG_CTRL_HEADER:
                control_list.append(child)
        text = _utf16(text_record.payload, "replace", True)[0] if text_record else ""
        # Most paragraphs are plain text and a paragraph end: no control to walk through.
        if not control_list and (not text or (text[-1] == "\r" and _CONTROL.search(text, 0, len(text) - 1) is None)):
            return [text[:-1]]
        controls = iter(control_list)
        blocks: list[str] = []
        after: list[str] = []
        parts: list[str] = []
        open_fields: list[tuple[HwpField, list[str]]] = []

        def add(text: str) -> None:
            parts.append(text)
            for _, field_parts in open_fields:
                field_parts.append(text)

        for token in tokens(text):
            if isinstance(token, str):
                add(token)
            elif token == _PARA_BREAK:
                break
            elif token == _TAB:
                add("\t")
            elif token == _LINE_BREAK:
                add("\n")
            elif token == _HYPHEN:
                add("-")
            elif token in _SPACES:
                add(" ")
            elif token == _FIELD_END and open_fields:
                field, field_parts = open_fields.pop()
                field.text = "".join(field_parts).strip()
            elif token in _EXTENDED:
                control = next(controls, None)
                if control is None:
                    continue
                if control_id(control) == "tbl ":
                    if "".join(parts).strip():
                        blocks.append("".join(parts))
                    parts.clear()
                    blocks.extend(self.control(control))
                elif (field := self.field(control)) is not None:
                    open_fields.append((field, []))
                else:
                    after.extend(self.control(control))
        # Controls the text did not point at (a damaged paragraph) are still read.
        for control in controls:
            after.extend(self.control(control))
        for field, field_parts in open_fields:
            field.text = "".join(field_parts).strip()
        if parts or not blocks:
            blocks.append("".join(parts))
        return blocks + after

    def field(self, control: Record) -> HwpField | None:
        cid = control_id(control)
        if not cid.startswith("%"):
            return None
        name = None
        payload = control.payload
        if len(payload) >= 11:
            (length,) = struct.unpack_from("<H", payload, 9)
            # The command ("Clickhere:set:..."); a field's own name is in its CTRL_DATA parameter set.
            name = payload[11 : 11 + 2 * length].decode("utf-16-le", "replace").strip()[:200] or None
        field = HwpField(type=_FIELD_TYPES.get(cid, cid.strip("%").strip().upper()), name=name)
        self.builder.fields.append(field)
        return field

    def control(self, control: Record) -> list[str]:
        """Reads a control; returns the blocks it adds to the body where it stands (tables, text boxes)."""
        cid = control_id(control)
        if cid == "tbl ":
            return self.table(control)
        if cid in ("head", "foot"):
            lists = _paragraph_lists(control)[0]
            text = join_blocks([b for paragraphs in lists for b in self.paragraphs(paragraphs)])
            self.builder.header_footer("header" if cid == "head" else "footer", text)
            return []
        if cid in ("fn  ", "en  "):
            lists = _paragraph_lists(control)[0]
            text = join_blocks([b for paragraphs in lists for b in self.paragraphs(paragraphs)])
            self.builder.note("footnote" if cid == "fn  " else "endnote", self.section, text)
            return []
        if cid == "gso ":
            texts = [join_blocks(self.paragraphs(paragraphs)) for paragraphs in _shape_paragraphs(control)]
            return [text for text in texts if text]
        return []

    def table(self, control: Record) -> list[str]:
        index = self.builder.reserve_table()
        caption, cell_lists, table, cell_headers = _paragraph_lists(control)
        declared_rows = declared_cols = 0
        if table is not None and len(table.payload) >= 8:
            declared_rows, declared_cols = struct.unpack_from("<HH", table.payload, 4)
        cells: list[Cell] = []
        for header, paragraphs in zip(cell_headers, cell_lists, strict=False):
            text = join_blocks(self.paragraphs(paragraphs))
            if len(header.payload) >= 16:
                col, row, col_span, row_span = _CELL_ADDRESS.unpack_from(header.payload, 8)
                cells.append(Cell(row=row, col=col, text=text, row_span=row_span, col_span=col_span))
        grid = table_grid(cells, declared_rows, declared_cols)
        self.builder.fill_table(index, grid)
        blocks = [text] if (text := table_text(grid)) else []
        captions = [join_blocks(self.paragraphs(paragraphs)) for paragraphs in caption]
        return blocks + [text for text in captions if text]


def _section_records(ole: HwpOle, name: str, header: FileHeader) -> bytes:
    data = ole.read(name)
    if header.distribution:
        data = _decrypt_distribution(data, name)
    return inflate(data) if header.compressed else data


def _decrypt_distribution(data: bytes, name: str) -> bytes:
    """A ViewText section of a 배포용 document (§3.2.8): a DISTRIBUTE_DOC_DATA record, then the
    section's (compressed) records encrypted with AES-128-ECB under a key hidden in that record."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    first = iter_records(data[:260]) if len(data) >= 260 else []
    if not first or first[0].tag != TAG_DISTRIBUTE_DOC_DATA or len(first[0].payload) != 256:
        raise CorruptFileError(f"Distribution document: {name} does not start with its key record")
    key = distribution_key(first[0].payload)
    body = data[260:]
    body = body[: len(body) - len(body) % 16]
    # ECB is what the format uses (§3.2.8): this reads a document, it protects nothing.
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305
    return decryptor.update(body) + decryptor.finalize()


def distribution_key(block: bytes) -> bytes:
    """The AES-128 key of a distribution document, from its 256-byte DISTRIBUTE_DOC_DATA block.

    The first 4 bytes seed the Microsoft C runtime's rand(); pairs of rand() values (a byte, then a
    count of 1 to 16) fill a 256-byte mask that is XORed over the block from byte 4. The key is the 16
    bytes at offset 4 + (seed & 0x0F) of the result.
    """
    (seed,) = struct.unpack_from("<I", block, 0)
    state = seed
    mask = bytearray()
    while len(mask) < 256:
        state = (state * 214013 + 2531011) & 0xFFFFFFFF
        value = (state >> 16) & 0x7FFF & 0xFF
        state = (state * 214013 + 2531011) & 0xFFFFFFFF
        count = (((state >> 16) & 0x7FFF) & 0x0F) + 1
        mask.extend([value] * count)
    decoded = block[:4] + bytes(b ^ m for b, m in zip(block[4:], mask[4:256], strict=False))
    offset = 4 + (seed & 0x0F)
    return decoded[offset : offset + 16]


def _declared_sections(ole: HwpOle, header: FileHeader) -> int:
    """The section count of DocInfo's DOCUMENT_PROPERTIES, 0 when it cannot be read."""
    if header.distribution or not ole.exists("DocInfo"):
        return 0
    try:
        data = ole.read("DocInfo")
        records = iter_records(inflate(data) if header.compressed else data)
    except CorruptFileError:
        return 0
    for record in records[:1]:
        if record.tag == TAG_DOCUMENT_PROPERTIES and len(record.payload) >= 2:
            return int(struct.unpack_from("<H", record.payload, 0)[0])
    return 0


def read_hwp5(ctx: ExtractionContext, path: Path) -> ExtractionResult:
    with HwpOle(path) as ole:
        header = ole.file_header()
        if header.password:
            raise EncryptedFileError("HWP document is password-protected")
        storage = "ViewText" if header.distribution else "BodyText"
        names = ole.sections(storage)
        if not names:
            raise CorruptFileError(f"HWP document has no {storage}/Section stream")
        content = HwpContent(
            format="hwp5",
            version=header.version,
            compressed=header.compressed,
            distribution=header.distribution,
            section_count=_declared_sections(ole, header) or len(names),
            metadata=ole.summary(),
        )
        builder = DocumentBuilder()
        for done, name in enumerate(names, start=1):
            section = builder.new_section()
            data = _section_records(ole, name, header)
            with no_gc_pauses():
                builder.body(section, _SectionReader(builder, section).paragraphs(read_tree(data)))
            ctx.progress(done, len(names), "section")
    with no_gc_pauses():
        result = builder.result(ctx, content)
    if content.section_count != len(names):
        result.warn("HWP_SECTIONS_MISSING", f"DocInfo lists {content.section_count} sections, {len(names)} were found")
    return result
