"""The contract every extractor follows.

One module or package per file family exposes ``EXTRACTOR``, an ``Extractor`` (a name, a version
and ``extract(ctx) -> ExtractionResult``), and ``extract`` as a shortcut to it; the registry maps MIME
types to those modules. Extractors never read global settings: everything they need is on the
(frozen) context, so they can be unit-tested with a path and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from fastapi_app.core.vocabulary import FileFamilyName as FileFamily

# 1.2: `extractor` (name and version of the extractor that made the result)
# 1.3 (issue 15): `hwp`; entity types `iban` and `bic`; `warnings[].details`; `ocr.orientation_degrees` per
# page; sheet `formulas` (text, value, `computed`), `vba_modules`; PDF table `header_rows`; `tax_invoice`;
# `ocr.tables` per OCR'd page (tables from the word boxes); `image.has_thumbnail`
SCHEMA_VERSION = "1.3"

ProgressCallback = Callable[[int, int, str], None]
"""(current, total, unit) — e.g. (3, 20, "page"); called after each page or sheet.
The unit "ocr" moves the document to the `ocr` stage while pages are recognised."""


def _ignore_progress(current: int, total: int, unit: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Caps on what the members of a zip archive (xlsx, ods, ...) may inflate to; see extractors.archive."""

    max_member_bytes: int = 512 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: int = 200
    # Below this many inflated bytes a member's ratio is not judged: a small run of zeros
    # legitimately compresses a thousandfold and costs nothing.
    ratio_grace_bytes: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExtractionContext:
    """What an extraction needs, fixed for its whole run: extractors report through the result
    (``result.warn``) and ``progress``, never by changing the context."""

    path: Path
    mime_type: str
    file_type: FileFamily
    size_bytes: int
    sha256: str
    password: str | None = None
    progress: ProgressCallback = _ignore_progress
    max_pages: int = 500
    max_cells: int = 2_000_000
    max_image_pixels: int = 89_478_485  # Pillow's own default bomb threshold
    # Cells a sheet's used range may span (rows x columns) before a reader allocates it as a grid.
    max_sheet_grid_cells: int = 10_000_000
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    ocr_languages: str = "kor+eng"
    ocr_enabled: bool = True
    ocr_dpi: int = 300
    # Options for one extractor (e.g. {"pdf_tables": False}); read-only like the rest.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # frozen stops reassignment; the proxy stops ctx.extra[...] = ... as well.
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


# --- errors: deterministic failures, never retried ------------------------------------------


class ExtractionError(Exception):
    """A file that cannot be processed, for a reason retrying will not change."""

    error_code = "PROCESSING_ERROR"

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code:
            self.error_code = error_code


class CorruptFileError(ExtractionError):
    error_code = "CORRUPT_FILE"


class EncryptedFileError(ExtractionError):
    error_code = "ENCRYPTED_FILE"


class PasswordIncorrectError(ExtractionError):
    error_code = "PASSWORD_INCORRECT"


class UnsupportedContentError(ExtractionError):
    error_code = "UNSUPPORTED_CONTENT"


class ImageTooLargeError(ExtractionError):
    error_code = "IMAGE_TOO_LARGE"


class ArchiveBombError(ExtractionError):
    """A zip member that inflates past the archive limits, or past the size its directory declares."""

    error_code = "ARCHIVE_BOMB"


class SheetTooLargeError(ExtractionError):
    """A sheet whose used range spans more cells than a reader may allocate as one grid."""

    error_code = "SHEET_TOO_LARGE"


def short_reason(exc: BaseException) -> str:
    """The first line of a library's error, for a message a user can read (no stack trace)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


# Out-of-memory and Celery's time limits say nothing about the file, so they must reach the task
# runner instead of being reported as a damaged file (matched by name: extractors stay Celery-free).
_NOT_FILE_ERRORS = frozenset({"MemoryError", "SoftTimeLimitExceeded", "TimeLimitExceeded"})


def not_about_the_file(exc: BaseException) -> bool:
    return any(cls.__name__ in _NOT_FILE_ERRORS for cls in type(exc).__mro__)


def column_letter(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": spreadsheet column names for 0-based indexes."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- the result schema ----------------------------------------------------------------------


class ExtractionWarning(BaseModel):
    code: str
    message: str
    # Machine-readable facts of the warning, e.g. PAGE_OCR_FALLBACK: {"page": 3, "reason": "no_tounicode"}
    details: dict[str, Any] | None = None


class Table(BaseModel):
    page: int | None = None
    sheet: str | None = None
    index: int = 0  # order on its page or sheet, from 0
    kind: Literal["ruled", "unruled", "sheet"] | None = None
    cell_range: str | None = None  # sheets: "A5:D8"
    bbox: tuple[float, float, float, float] | None = None  # PDFs: x0, top, x1, bottom in pt
    header: list[Any] = Field(default_factory=list)  # one label per column ("2025 상반기" under a spanning "2025")
    # PDFs: the header's own rows when it has more than one or cells spanning columns, each spanned
    # position holding its spanning cell's text; empty otherwise (the header is then one row)
    header_rows: list[list[Any]] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)


class OcrPageResult(BaseModel):
    text: str
    confidence: float | None = None  # mean word confidence, 0-100
    duration_ms: float = 0.0
    dpi: int | None = None
    rotated_degrees: float = 0.0  # deskew applied before recognition (anticlockwise, degrees)
    orientation_degrees: int = 0  # 0, 90, 180, 270: the page was turned this far clockwise to be upright
    preprocessing: list[str] = Field(default_factory=list)  # steps applied to this page
    # tables found from the word boxes (aligned columns); kind "unruled", no bbox (pixels, not pt)
    tables: list[Table] = Field(default_factory=list)


class PdfPage(BaseModel):
    number: int
    text: str
    char_count: int
    has_text_layer: bool
    text_source: Literal["text_layer", "ocr", "none"] = "text_layer"
    ocr: OcrPageResult | None = None
    width_pt: float | None = None
    height_pt: float | None = None


class PdfContent(BaseModel):
    metadata: dict[str, str | None] = Field(default_factory=dict)
    page_count: int
    encrypted: bool = False
    copy_protected: bool = False  # opens without a password but forbids copying; extracted anyway
    pages: list[PdfPage] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)


class ColumnSummary(BaseModel):
    column: str
    header: Any = None
    type: str
    count: int = 0
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None


class FormulaCell(BaseModel):
    """A formula cell (xlsx): its text, and its value; ``computed`` when the file stored no value
    (written by a script) and the extractor worked it out (SUM, AVERAGE, COUNT, MIN, MAX over
    ranges of the same sheet, or a plain cell reference). Anything else keeps ``value`` null."""

    cell: str  # "B8"
    formula: str  # without the leading "="
    value: Any = None
    computed: bool = False


class Sheet(BaseModel):
    name: str
    index: int
    visibility: Literal["visible", "hidden", "very_hidden"] = "visible"
    kind: Literal["worksheet", "chartsheet", "dialogsheet", "macrosheet"] = "worksheet"
    dimensions: str | None = None  # "A1:D10"
    row_count: int = 0
    column_count: int = 0
    header_row: int | None = None  # 1-based
    rows: list[list[Any]] = Field(default_factory=list)
    rows_truncated: bool = False
    merged_ranges: list[str] = Field(default_factory=list)
    formula_count: int = 0
    formulas: list[FormulaCell] = Field(default_factory=list)  # xlsx; at most 1,000 per workbook
    columns: list[ColumnSummary] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)


class SpreadsheetContent(BaseModel):
    format: str  # xlsx, xlsm, xls, ods, csv
    sheet_count: int
    sheets: list[Sheet] = Field(default_factory=list)
    formula_count: int = 0
    date_system: Literal["1900", "1904"] | None = None
    csv_encoding: str | None = None
    csv_delimiter: str | None = None
    defined_names: list[str] = Field(default_factory=list)
    has_vba: bool = False  # macros are reported, never executed
    vba_modules: list[str] = Field(default_factory=list)  # names of the macro project's modules


class GpsInfo(BaseModel):
    latitude: float
    longitude: float
    altitude_m: float | None = None


class ImageContent(BaseModel):
    format: str
    width: int
    height: int
    mode: str
    dpi: tuple[float, float] | None = None
    frames: int = 1
    exif: dict[str, Any] = Field(default_factory=dict)
    gps: GpsInfo | None = None
    orientation_applied: int | None = None  # EXIF Orientation value honoured before OCR
    has_thumbnail: bool = False  # the EXIF block carries a preview image (IFD1)
    ocr: OcrPageResult | None = None


class OcrSummary(BaseModel):
    engine: str = "tesseract"
    engine_version: str | None = None
    languages: str
    pages: int = 0
    mean_confidence: float | None = None
    duration_ms: float = 0.0
    preprocessing: list[str] = Field(default_factory=list)


class HwpNote(BaseModel):
    kind: Literal["footnote", "endnote"]
    number: int  # 1-based, in document order per kind
    section: int  # 0-based section the note is anchored in
    text: str


class HwpField(BaseModel):
    """A field (누름틀, hyperlink, date, ...): its type, its name (HWPX) or command (HWP 5), and the text it shows."""

    type: str
    name: str | None = None
    text: str = ""


class HwpSection(BaseModel):
    index: int
    text: str  # the body text of the section only: headers, footers and notes are kept apart
    paragraph_count: int = 0


class HwpContent(BaseModel):
    """A Hangul word-processor document: HWP 5.0 (OLE compound file) or HWPX (OWPML zip)."""

    format: Literal["hwp5", "hwpx"]  # the OLE format (HWP 5.x) or the zip one
    version: str | None = None  # "5.0.1.7" (FileHeader) or the HWPX version.xml version
    compressed: bool | None = None
    distribution: bool = False  # 배포용 document: its body was decrypted from ViewText
    section_count: int = 0
    metadata: dict[str, str | None] = Field(default_factory=dict)  # title, author, created, modified, ...
    sections: list[HwpSection] = Field(default_factory=list)
    headers: list[str] = Field(default_factory=list)
    footers: list[str] = Field(default_factory=list)
    notes: list[HwpNote] = Field(default_factory=list)
    fields: list[HwpField] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)  # in document order; index counts from 0


class KeyValue(BaseModel):
    key: str
    value: str
    normalized: Any = None  # the value parsed: a number, an ISO date, ...
    value_type: str | None = None  # amount, date, id, text, ...
    currency: str | None = None
    source: str | None = None  # "text", "table", "sheet"
    page: int | None = None
    sheet: str | None = None
    cell: str | None = None  # "B3"


EntityType = Literal[
    "date",
    "amount",
    "email",
    "phone",
    "url",
    "business_registration_number",
    "resident_registration_number",
    "card_number",
    "iban",
    "bic",
]


class Entity(BaseModel):
    type: EntityType
    text: str  # as found (masked for resident registration and card numbers)
    value: Any = None  # normalised: ISO date, number, E.164 phone, ...
    currency: str | None = None
    masked: bool = False
    valid: bool | None = None  # checksum result where one exists
    page: int | None = None
    sheet: str | None = None


class TaxInvoiceItem(BaseModel):
    name: str
    quantity: float | None = None
    unit_price: float | None = None
    supply_amount: float | None = None
    tax_amount: float | None = None


class ValidationCheck(BaseModel):
    name: str  # tax_is_10_percent, items_add_up, total_is_supply_plus_tax, supplier_brn_valid, ...
    ok: bool
    expected: Any = None
    actual: Any = None


class Validation(BaseModel):
    ok: bool
    checks: list[ValidationCheck] = Field(default_factory=list)


class TaxInvoice(BaseModel):
    """A Korean tax invoice (전자세금계산서) or statement of transaction (거래명세서): its key values
    and whether they add up."""

    kind: Literal["tax_invoice", "transaction_statement"]
    supplier_brn: str | None = None  # 사업자등록번호 ###-##-#####
    buyer_brn: str | None = None
    issue_date: str | None = None  # 작성일자, ISO
    supply_amount: float | None = None  # 공급가액
    tax_amount: float | None = None  # 세액
    total_amount: float | None = None  # 합계금액
    items: list[TaxInvoiceItem] = Field(default_factory=list)
    validation: Validation


class ExtractorInfo(BaseModel):
    name: str  # the family's extractor: "pdf", "spreadsheet", "image"
    version: str  # bumped when the same file would give a different result


class ExtractionResult(BaseModel):
    schema_version: str = SCHEMA_VERSION
    extractor: ExtractorInfo | None = None  # set by the extractor that made the result
    file_type: FileFamily
    mime_type: str
    size_bytes: int
    sha256: str
    language: str | None = None
    text: str = ""
    pdf: PdfContent | None = None
    spreadsheet: SpreadsheetContent | None = None
    image: ImageContent | None = None
    hwp: HwpContent | None = None
    ocr: OcrSummary | None = None
    key_values: list[KeyValue] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    tax_invoice: TaxInvoice | None = None
    warnings: list[ExtractionWarning] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def warn(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        self.warnings.append(ExtractionWarning(code=code, message=message, details=details))

    @classmethod
    def for_context(cls, ctx: ExtractionContext) -> ExtractionResult:
        return cls(
            file_type=ctx.file_type,
            mime_type=ctx.mime_type,
            size_bytes=ctx.size_bytes,
            sha256=ctx.sha256,
        )


# --- the extractor contract -----------------------------------------------------------------


class Extractor(Protocol):
    """A file family's extractor, as the registry sees it."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def extract(self, ctx: ExtractionContext) -> ExtractionResult: ...


@dataclass(frozen=True, slots=True)
class FamilyExtractor:
    """An ``Extractor`` made of a family's extraction function; every result it returns names it."""

    name: str
    version: str
    run: Callable[[ExtractionContext], ExtractionResult]

    def extract(self, ctx: ExtractionContext) -> ExtractionResult:
        result = self.run(ctx)
        result.extractor = ExtractorInfo(name=self.name, version=self.version)
        return result
