"""PDF extraction: pypdfium2 for page text, geometry and tables, pypdf for the Info dictionary.

pypdfium2 is used for text because it is an order of magnitude faster than pypdf on the corpus and
keeps CJK text intact; pypdf is used for metadata because it decodes Info strings stored as raw UTF-8
bytes (pdfium returns mojibake for those).

Tables use pdfplumber's table finder (edges -> intersections -> cells -> tables), but the edges and
words are read from pdfium rather than from pdfplumber's own pdfminer parse: that parse costs about
200 ms on a dense page, pdfium's a few ms, and it lets a cheap per-page check skip pages with no
table-like geometry at all. Pages without a text layer are rendered and sent to OCR (ocr.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from fastapi_app.extractors.base import (
    CorruptFileError,
    EncryptedFileError,
    ExtractionContext,
    ExtractionResult,
    OcrPageResult,
    PasswordIncorrectError,
    PdfContent,
    PdfPage,
    Table,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    import pypdfium2

# pdfium's FPDF_ERR_PASSWORD: the document needs a (different) password.
_PDFIUM_ERR_PASSWORD = 4
# Permission bit 5 (PDF 32000-1, table 22): copy or otherwise extract text and graphics.
_PERMISSION_EXTRACT = 1 << 4

_METADATA_KEYS: dict[str, str] = {
    "title": "Title",
    "author": "Author",
    "subject": "Subject",
    "keywords": "Keywords",
    "creator": "Creator",
    "producer": "Producer",
    "creation_date": "CreationDate",
    "modification_date": "ModDate",
}
_DATE_KEYS = frozenset({"creation_date", "modification_date"})

# D:YYYYMMDDHHmmSSOHH'mm' where everything after the year is optional (PDF 32000-1, 7.9.4).
# Some producers drop the "D:" prefix or write "Z00'00'", both accepted here.
_PDF_DATE = re.compile(
    r"^\s*(?:D:)?(?P<Y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?(?P<H>\d{2})?(?P<M>\d{2})?(?P<S>\d{2})?"
    r"(?:\.\d+)?\s*(?P<tz>[Zz+\-])?(?P<th>\d{2})?'?(?P<tm>\d{2})?'?"
)
# Control characters pdfium emits for soft hyphens and unmapped glyphs; \t and \n are kept.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def extract(ctx: ExtractionContext) -> ExtractionResult:
    result = ExtractionResult.for_context(ctx)
    info, encrypted = _read_info_with_pypdf(ctx)
    doc = _open_with_pdfium(ctx, result)
    try:
        import pypdfium2.raw as pdfium_c

        if encrypted is None:
            encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(doc) != -1
        copy_protected = bool(encrypted) and _copy_forbidden(doc)
        if info is None:
            info = _info_from_pdfium(doc)
        page_count = len(doc)
        pages, tables = _extract_pages(ctx, doc, page_count, result)
    except CorruptFileError:
        raise
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"PDF could not be read: {short_reason(exc)}") from None
    finally:
        doc.close()

    result.pdf = PdfContent(
        metadata=_normalise_metadata(info),
        page_count=page_count,
        encrypted=bool(encrypted),
        copy_protected=copy_protected,
        pages=pages,
        tables=tables,
    )
    result.text = "\n\n".join(page.text for page in pages)
    return result


def _copy_forbidden(doc: pypdfium2.PdfDocument) -> bool:
    """True when the permissions forbid copying text (bit 5, "extract"), whoever opened the file.

    The user permissions are read, not the effective ones: with an owner password pdfium grants
    everything, but the document is still marked as copy-protected for whoever handles the result.
    """
    import pypdfium2.raw as pdfium_c

    try:
        permissions = pdfium_c.FPDF_GetDocUserPermissions(doc) & 0xFFFFFFFF
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return False
    return not permissions & _PERMISSION_EXTRACT


def _open_with_pdfium(ctx: ExtractionContext, result: ExtractionResult) -> pypdfium2.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(ctx.path, password=ctx.password)
    except FileNotFoundError:
        raise
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) != _PDFIUM_ERR_PASSWORD:
            raise CorruptFileError(f"PDF could not be opened: {short_reason(exc)}") from None
        if not ctx.password:
            raise EncryptedFileError("PDF is password-protected and no password was given") from None
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise CorruptFileError(f"PDF could not be opened: {short_reason(exc)}") from None

    # A wrong password on a file that only has an owner password (opens with an empty user
    # password) should not block extraction, since the content was never protected.
    try:
        doc = pdfium.PdfDocument(ctx.path, password=None)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise PasswordIncorrectError("The password given does not open this PDF") from None
    result.warn("PASSWORD_IGNORED", "The password given is wrong, but the PDF opens without one")
    return doc


def _read_info_with_pypdf(ctx: ExtractionContext) -> tuple[dict[str, Any] | None, bool | None]:
    """Info dictionary and encryption flag; (None, None) when pypdf cannot read the file.

    pypdf is stricter than pdfium on damaged files, so its failures never fail the extraction.
    """
    try:
        from pypdf import PdfReader

        reader = PdfReader(ctx.path, strict=False)
        encrypted = bool(reader.is_encrypted)
        if encrypted and not _pypdf_decrypt(reader, ctx.password):
            return None, True
        raw = reader.trailer.get("/Info")
        raw = raw.get_object() if raw is not None else None
        if not isinstance(raw, dict):
            return {}, encrypted
        return {str(k).lstrip("/"): _pypdf_value(v) for k, v in raw.items()}, encrypted
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return None, None


def _pypdf_decrypt(reader: Any, password: str | None) -> bool:
    for candidate in (password, ""):
        if candidate is None:
            continue
        try:
            if reader.decrypt(candidate):
                return True
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            return False
    return False


def _pypdf_value(value: Any) -> str | None:
    from pypdf.generic import IndirectObject

    if isinstance(value, IndirectObject):
        value = value.get_object()
    if isinstance(value, bytes):
        # Info strings are meant to be PDFDocEncoding or UTF-16, but Word exports often hold raw
        # UTF-8 bytes; latin-1 is the nearest lossless guess for anything else.
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    if isinstance(value, str):
        return str(value)
    return None


def _info_from_pdfium(doc: pypdfium2.PdfDocument) -> dict[str, Any]:
    try:
        return dict(doc.get_metadata_dict(skip_empty=True))
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return {}


def _normalise_metadata(info: dict[str, Any]) -> dict[str, str | None]:
    metadata: dict[str, str | None] = {}
    for key, info_key in _METADATA_KEYS.items():
        value = info.get(info_key)
        text = value.replace("\x00", "").strip() if isinstance(value, str) else None
        if text and key in _DATE_KEYS:
            text = pdf_date_to_iso(text)
        metadata[key] = text or None
    return metadata


def pdf_date_to_iso(value: str) -> str | None:
    """PDF "D:20220403203552+02'00'" -> "2022-04-03T20:35:52+02:00"; None when it is not a date."""
    match = _PDF_DATE.match(value)
    if not match:
        return None
    part = match.groupdict()
    try:
        tz = None
        if part["tz"] in ("Z", "z"):
            tz = UTC
        elif part["tz"]:
            offset = timedelta(hours=int(part["th"] or 0), minutes=int(part["tm"] or 0))
            tz = timezone(-offset if part["tz"] == "-" else offset)
        parsed = datetime(
            int(part["Y"]),
            int(part["m"] or 1),
            int(part["d"] or 1),
            int(part["H"] or 0),
            int(part["M"] or 0),
            int(part["S"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return parsed.isoformat()


def _extract_pages(
    ctx: ExtractionContext, doc: pypdfium2.PdfDocument, page_count: int, result: ExtractionResult
) -> tuple[list[PdfPage], list[Table]]:
    limit = min(page_count, max(ctx.max_pages, 0))
    if limit < page_count:
        result.warn("PAGE_LIMIT", f"Only the first {limit} of {page_count} pages were extracted")

    ocr = _PageOcr(ctx, result)
    pages: list[PdfPage] = []
    tables: list[Table] = []
    without_text: list[int] = []
    unreadable: list[int] = []
    tables_failed: list[int] = []
    # ctx.extra["pdf_tables"] = False skips the table pass (benchmarks, callers that only want text)
    want_tables = bool(ctx.extra.get("pdf_tables", True))
    for index in range(limit):
        number = index + 1
        width = height = None
        text = ""
        page_ocr: OcrPageResult | None = None
        try:
            page = doc[index]
            try:
                width, height = (round(v, 2) for v in page.get_size())
                textpage = page.get_textpage()
                try:
                    text = _clean_text(textpage.get_text_range())
                    if want_tables and text.strip() and not _find_page_tables(page, textpage, number, tables):
                        tables_failed.append(number)
                finally:
                    textpage.close()
                if not text.strip():
                    page_ocr = ocr.recognise(page, number, limit)
            finally:
                page.close()
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            unreadable.append(number)
        has_text = bool(text.strip())
        source: Literal["text_layer", "ocr", "none"] = "text_layer" if has_text else "none"
        if page_ocr is not None:
            text = _clean_text(page_ocr.text)
            source = "ocr" if text.strip() else "none"
        if source == "none" and number not in unreadable:
            without_text.append(number)
        pages.append(
            PdfPage(
                number=number,
                text=text,
                char_count=len(text),
                has_text_layer=has_text,
                text_source=source,
                ocr=page_ocr,
                width_pt=width,
                height_pt=height,
            )
        )
        ctx.progress(number, limit, "page")

    if ocr.pages:
        from fastapi_app.extractors import ocr as ocr_module

        result.ocr = ocr_module.summarize(ocr.pages, ctx)
    if without_text:
        hint = "OCR found no text" if ocr.pages else "OCR needed"
        result.warn("NO_TEXT_LAYER", f"No text layer on pages {_page_ranges(without_text)}; {hint}")
    if unreadable:
        result.warn("PAGE_UNREADABLE", f"Pages {_page_ranges(unreadable)} could not be read")
    if tables_failed:
        result.warn("TABLES_UNREADABLE", f"Tables could not be read on pages {_page_ranges(tables_failed)}")
    return pages, tables


class _PageOcr:
    """Renders text-less pages and sends them to OCR; gives up for the document after the first
    OcrUnavailable, since a missing Tesseract will not appear on the next page."""

    def __init__(self, ctx: ExtractionContext, result: ExtractionResult) -> None:
        self.ctx = ctx
        self.result = result
        self.pages: list[OcrPageResult] = []
        self.failed: list[int] = []
        self._stopped = False

    def recognise(self, page: pypdfium2.PdfPage, number: int, total: int) -> OcrPageResult | None:
        if self._stopped:
            return None
        if not self.ctx.ocr_enabled:
            self._stop("OCR_DISABLED", "OCR is disabled, so pages without a text layer have no text")
            return None
        from fastapi_app.extractors import ocr

        try:
            dpi = _render_dpi(page, self.ctx)
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            try:
                image = bitmap.to_pil()
                recognised = ocr.ocr_image(image, self.ctx, source_dpi=dpi)
            finally:
                bitmap.close()
        except getattr(ocr, "OcrPageError", ()) as exc:
            # One page Tesseract could not read (timeout, crash): the next page may still work.
            self.failed.append(number)
            self.result.warn("OCR_PAGE_FAILED", f"OCR failed on page {number}: {short_reason(exc)}")
            return None
        except ocr.OcrUnavailable as exc:
            self._stop("OCR_UNAVAILABLE", f"OCR is not available: {short_reason(exc)}")
            return None
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            self.failed.append(number)
            self.result.warn("OCR_PAGE_FAILED", f"Page {number} could not be rendered for OCR: {short_reason(exc)}")
            return None
        self.pages.append(recognised)
        self.ctx.progress(number, total, "ocr")
        return recognised

    def _stop(self, code: str, message: str) -> None:
        self._stopped = True
        self.result.warn(code, message)


def _render_dpi(page: pypdfium2.PdfPage, ctx: ExtractionContext) -> int:
    """ctx.ocr_dpi, lowered for oversized pages so the bitmap stays under the pixel limit."""
    width, height = page.get_size()
    dpi = max(ctx.ocr_dpi, 1)
    pixels = (width * dpi / 72) * (height * dpi / 72)
    if pixels > ctx.max_image_pixels > 0:
        dpi = max(int(dpi * (ctx.max_image_pixels / pixels) ** 0.5), 1)
    return dpi


# --- tables -----------------------------------------------------------------------------------

# A page is only handed to the table finder when its geometry could hold a table: at least this many
# horizontal and vertical rules (a 2x2 grid has 3 of each), or, without rules, this many text lines
# whose runs line up in this many columns. Everything else costs one pass over the page objects.
_MIN_RULES = 3
_MIN_UNRULED_ROWS = 3
_MIN_UNRULED_COLUMNS = 3
_ALIGN_TOLERANCE = 2.0  # pt, for runs sharing a left or right edge
# Vector drawings (maps, charts) can hold hundreds of thousands of segments and are not tables.
_MAX_PATH_SEGMENTS = 20_000
# Chars straddling a cell border are attributed by the larger part, not by a touching sliver.
_CELL_INSET = 1.0

_RULED_SETTINGS: dict[str, Any] = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
_UNRULED_SETTINGS: dict[str, Any] = {
    "vertical_strategy": "text",
    "horizontal_strategy": "text",
    "min_words_vertical": _MIN_UNRULED_ROWS,
}

Edge = dict[str, Any]
Matrix = tuple[float, float, float, float, float, float]


class _Geometry:
    """The part of a pdfplumber Page that its TableFinder reads, filled from pdfium."""

    def __init__(self, bbox: tuple[float, float, float, float], edges: list[Edge], words: list[Edge]) -> None:
        self.bbox = bbox
        self.edges = edges
        self._words = words

    def extract_words(self, **_: Any) -> list[Edge]:
        return self._words


def _find_page_tables(
    page: pypdfium2.PdfPage, textpage: pypdfium2.PdfTextPage, number: int, tables: list[Table]
) -> bool:
    """Appends the page's tables; False when the page's geometry could not be read."""
    try:
        left, _, right, top = page.get_cropbox()
        box = (0.0, 0.0, right - left, top - page.get_cropbox()[1])
        found: list[tuple[Literal["ruled", "unruled"], Any]] = []
        edges = _rule_edges(page, left, top)
        if edges is not None and _has_grid(edges):
            found = [("ruled", t) for t in _table_finder(_Geometry(box, edges, []), _RULED_SETTINGS)]
        if not found:
            for block in _tabular_blocks(_text_runs(textpage, left, top)):
                found += [("unruled", t) for t in _table_finder(_Geometry(box, [], block), _UNRULED_SETTINGS)]
        for kind, table in found:
            rows = _table_rows(table, textpage, left, top)
            if kind == "unruled":
                # the text strategy rules both the top and the bottom of each line, leaving empty
                # rows for the gaps between lines
                rows = [row for row in rows if any(row)]
            if len(rows) < 2 or max(len(r) for r in rows) < 2:
                continue  # a framed paragraph or a single rule pair, not a table
            tables.append(
                Table(
                    page=number,
                    index=sum(1 for t in tables if t.page == number),
                    kind=kind,
                    bbox=tuple(round(v, 2) for v in table.bbox),
                    header=rows[0],
                    rows=rows[1:],
                )
            )
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return False
    return True


def _table_finder(geometry: _Geometry, settings: dict[str, Any]) -> list[Any]:
    from pdfplumber.table import TableFinder

    return list(TableFinder(geometry, settings).tables)  # type: ignore[arg-type]


def _table_rows(table: Any, textpage: pypdfium2.PdfTextPage, left: float, top: float) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    for row in table.rows:
        cells: list[str | None] = []
        for cell in row.cells:
            if cell is None:
                cells.append(None)
                continue
            x0, y_top, x1, y_bottom = cell
            text = textpage.get_text_bounded(
                left + x0 + _CELL_INSET,
                top - y_bottom + _CELL_INSET,
                left + x1 - _CELL_INSET,
                top - y_top - _CELL_INSET,
            )
            lines = (line.strip() for line in _CONTROL_CHARS.sub("", text.replace("\r\n", "\n")).split("\n"))
            cells.append("\n".join(line for line in lines if line) or None)
        rows.append(cells)
    return rows


def _has_grid(edges: list[Edge]) -> bool:
    horizontal = sum(1 for e in edges if e["orientation"] == "h" and e["width"] >= 3)
    vertical = sum(1 for e in edges if e["orientation"] == "v" and e["height"] >= 3)
    return horizontal >= _MIN_RULES and vertical >= _MIN_RULES


def _rule_edges(page: pypdfium2.PdfPage, left: float, top: float) -> list[Edge] | None:
    """Horizontal and vertical segments of every path on the page (inside forms too), in
    pdfplumber's top-left coordinates; None when the page is a drawing too large to be a table."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    edges: list[Edge] = []
    budget = _MAX_PATH_SEGMENTS
    x = ctypes.c_float()
    y = ctypes.c_float()
    fs_matrix = pdfium_c.FS_MATRIX()

    def own_matrix(obj: Any) -> Matrix:
        if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(fs_matrix)):
            return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        m = fs_matrix
        return (m.a, m.b, m.c, m.d, m.e, m.f)

    def add_edge(p0: tuple[float, float], p1: tuple[float, float]) -> None:
        (ax, ay), (bx, by) = p0, p1
        if abs(ay - by) < 0.05 and abs(ax - bx) >= 1:
            y_top = top - ay
            x0, x1 = sorted((ax - left, bx - left))
            edges.append(_edge("h", x0, x1, y_top, y_top))
        elif abs(ax - bx) < 0.05 and abs(ay - by) >= 1:
            t0, t1 = sorted((top - ay, top - by))
            edges.append(_edge("v", ax - left, ax - left, t0, t1))

    def path_edges(obj: Any, m: Matrix) -> None:
        nonlocal budget
        count = pdfium_c.FPDFPath_CountSegments(obj)
        budget -= count
        if budget < 0:
            raise _TooManyPaths
        start: tuple[float, float] | None = None
        prev: tuple[float, float] | None = None
        for j in range(count):
            segment = pdfium_c.FPDFPath_GetPathSegment(obj, j)
            pdfium_c.FPDFPathSegment_GetPoint(segment, ctypes.byref(x), ctypes.byref(y))
            point = (x.value * m[0] + y.value * m[2] + m[4], x.value * m[1] + y.value * m[3] + m[5])
            if pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_MOVETO or prev is None:
                start = prev = point
                continue
            add_edge(prev, point)
            prev = point
            if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None:
                add_edge(point, start)
                prev = start

    def walk(count: int, get: Any, parent: Matrix | None, depth: int) -> None:
        for i in range(count):
            obj = get(i)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
                path_edges(obj, _compose(own_matrix(obj), parent))
            elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 8:
                form = _compose(own_matrix(obj), parent)
                children = pdfium_c.FPDFFormObj_CountObjects(obj)
                walk(children, lambda k, o=obj: pdfium_c.FPDFFormObj_GetObject(o, k), form, depth + 1)

    try:
        walk(pdfium_c.FPDFPage_CountObjects(page), lambda k: pdfium_c.FPDFPage_GetObject(page, k), None, 0)
    except _TooManyPaths:
        return None
    return edges


def _edge(orientation: str, x0: float, x1: float, top: float, bottom: float) -> Edge:
    return {
        "object_type": "line",
        "orientation": orientation,
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
    }


class _TooManyPaths(Exception):
    pass


def _compose(child: Matrix, parent: Matrix | None) -> Matrix:
    """child then parent, in PDF's row-vector convention."""
    if parent is None:
        return child
    a1, b1, c1, d1, e1, f1 = child
    a2, b2, c2, d2, e2, f2 = parent
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _text_runs(textpage: pypdfium2.PdfTextPage, left: float, top: float) -> list[Edge]:
    """pdfium's text rectangles (one per run of text on a line, so a table cell rather than a
    word), as pdfplumber word dicts."""
    runs: list[Edge] = []
    for i in range(textpage.count_rects()):
        r_left, r_bottom, r_right, r_top = textpage.get_rect(i)
        if r_right - r_left <= 0 or r_top - r_bottom <= 0:
            continue
        x0, x1 = r_left - left, r_right - left
        y0, y1 = top - r_top, top - r_bottom
        runs.append({"x0": x0, "x1": x1, "top": y0, "bottom": y1, "doctop": y0, "width": x1 - x0, "height": y1 - y0})
    return runs


def _tabular_blocks(runs: list[Edge]) -> list[list[Edge]]:
    """Groups of consecutive text lines whose runs line up in columns, plus the line above each
    group (a header is often centred over right-aligned numbers, so it does not line up itself)."""
    lines: list[list[Edge]] = []
    for run in sorted(runs, key=lambda r: (r["top"] + r["bottom"]) / 2):
        centre = (run["top"] + run["bottom"]) / 2
        if lines:
            last = lines[-1][0]
            if abs((last["top"] + last["bottom"]) / 2 - centre) <= min(last["height"], run["height"]) / 2:
                lines[-1].append(run)
                continue
        lines.append([run])
    multi = [i for i, line in enumerate(lines) if len(line) >= 2]
    if len(multi) < _MIN_UNRULED_ROWS:
        return []

    def anchored(edge: str) -> list[float]:
        values = sorted(r[edge] for i in multi for r in lines[i])
        anchors: list[float] = []
        group: list[float] = []
        for value in values:
            if group and value - group[-1] > _ALIGN_TOLERANCE:
                if len(group) >= _MIN_UNRULED_ROWS:
                    anchors.append(sum(group) / len(group))
                group = []
            group.append(value)
        if len(group) >= _MIN_UNRULED_ROWS:
            anchors.append(sum(group) / len(group))
        return anchors

    lefts, rights = anchored("x0"), anchored("x1")

    def aligned(run: Edge) -> bool:
        return any(abs(run["x0"] - a) <= _ALIGN_TOLERANCE for a in lefts) or any(
            abs(run["x1"] - a) <= _ALIGN_TOLERANCE for a in rights
        )

    tabular = [sum(1 for r in line if aligned(r)) >= _MIN_UNRULED_COLUMNS for line in lines]
    blocks: list[list[Edge]] = []
    i = 0
    while i < len(lines):
        if not tabular[i]:
            i += 1
            continue
        j = i
        while j < len(lines) and tabular[j]:
            j += 1
        if j - i >= _MIN_UNRULED_ROWS:
            first = i - 1 if i > 0 and len(lines[i - 1]) >= 2 else i
            blocks.append([run for line in lines[first:j] for run in line])
        i = j
    return blocks


def _clean_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_CHARS.sub("", text)
    return _TRAILING_SPACE.sub("\n", text).strip()


def _page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7", so a 500-page scan does not make a 2 KB warning."""
    spans: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        spans.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(spans)
