"""The report: what a manager reads or forwards, built from one extraction result.

Versioned (REPORT_SCHEMA_VERSION); every renderer (JSON, Markdown, HTML, XLSX, PDF) draws from
this one model, so the formats never disagree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# 1.1: highlights.ibans and highlights.bics; headline `check` (a tax invoice that does not add up)
REPORT_SCHEMA_VERSION = "1.1"


class Money(BaseModel):
    amount: float
    currency: str | None = None
    text: str | None = None  # as printed in the document


class Headline(BaseModel):
    """The facts of the document at a glance; any of them may be unknown."""

    document_number: str | None = None
    document_date: str | None = None  # ISO date
    counterparty: str | None = None
    business_number: str | None = None
    total: Money | None = None
    due_date: str | None = None
    # Set when a tax invoice / statement of transaction does not add up: what failed, in one line.
    check: str | None = None


class DocumentFacts(BaseModel):
    filename: str
    file_type: str
    mime_type: str
    size_bytes: int
    sha256: str
    language: str | None = None
    page_count: int | None = None
    sheet_count: int | None = None
    image_size: str | None = None  # "4032x3024"
    uploaded_at: str | None = None
    processed_at: str
    processing_ms: float | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class KeyValueRow(BaseModel):
    key: str
    value: str
    normalized: Any = None
    where: str | None = None  # "page 1", "sheet 송장 B3"


class Highlights(BaseModel):
    amounts: list[Money] = Field(default_factory=list)
    dates: list[str] = Field(default_factory=list)
    counterparties: list[str] = Field(default_factory=list)
    business_numbers: list[dict[str, Any]] = Field(default_factory=list)  # {number, valid}
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    ibans: list[dict[str, Any]] = Field(default_factory=list)  # {iban, valid}: grouped by four
    bics: list[str] = Field(default_factory=list)
    masked: list[str] = Field(default_factory=list)  # masked resident/card numbers, as stored


class ReportTable(BaseModel):
    title: str
    header: list[Any] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    total_rows: int = 0


class ColumnStat(BaseModel):
    column: str
    header: Any = None
    count: int = 0
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None


class SheetSummary(BaseModel):
    name: str
    visibility: str = "visible"
    dimensions: str | None = None
    rows: int = 0
    columns: int = 0
    numeric_columns: list[ColumnStat] = Field(default_factory=list)


class OcrFacts(BaseModel):
    pages: int
    mean_confidence: float | None = None
    languages: str | None = None
    duration_ms: float | None = None


class Warning_(BaseModel):
    code: str
    message: str


class Report(BaseModel):
    schema_version: str = REPORT_SCHEMA_VERSION
    version: int
    title: str
    headline: Headline = Field(default_factory=Headline)
    document: DocumentFacts
    key_values: list[KeyValueRow] = Field(default_factory=list)
    highlights: Highlights = Field(default_factory=Highlights)
    tables: list[ReportTable] = Field(default_factory=list)
    sheets: list[SheetSummary] = Field(default_factory=list)
    ocr: OcrFacts | None = None
    text_excerpt: str = ""
    warnings: list[Warning_] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
