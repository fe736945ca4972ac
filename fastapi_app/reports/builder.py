"""Build the structured report (a plain dict, versioned) from an extraction result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi_app.extractors.base import ExtractionResult
from fastapi_app.models import Document

REPORT_SCHEMA_VERSION = "1.0"
SHEET_PREVIEW_ROWS = 5


def _title(document: Document, result: ExtractionResult) -> str:
    if result.pdf and result.pdf.metadata.get("title"):
        return str(result.pdf.metadata["title"])
    return document.original_filename


def _facts(document: Document, result: ExtractionResult) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "filename": document.original_filename,
        "file_type": document.file_type,
        "mime_type": document.mime_type,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "language": result.language,
        "uploaded_at": document.created_at.isoformat() if document.created_at else None,
        "processed_at": datetime.now(UTC).isoformat(),
        "character_count": len(result.text),
    }
    if result.pdf:
        facts["page_count"] = result.pdf.page_count
        facts["encrypted"] = result.pdf.encrypted
        facts["metadata"] = {k: v for k, v in result.pdf.metadata.items() if v}
    if result.spreadsheet:
        facts["sheet_count"] = result.spreadsheet.sheet_count
        facts["formula_count"] = result.spreadsheet.formula_count
    if result.image:
        image = result.image
        facts.update(
            image_format=image.format,
            width=image.width,
            height=image.height,
            camera=" ".join(str(image.exif[k]) for k in ("Make", "Model") if image.exif.get(k)) or None,
            taken_at=image.exif.get("DateTimeOriginal") or image.exif.get("DateTime"),
            gps=image.gps.model_dump() if image.gps else None,
        )
    return facts


def _sheets(result: ExtractionResult) -> list[dict[str, Any]]:
    if not result.spreadsheet:
        return []
    return [
        {
            "name": sheet.name,
            "visibility": sheet.visibility,
            "dimensions": sheet.dimensions,
            "rows": sheet.row_count,
            "columns": sheet.column_count,
            "header_row": sheet.header_row,
            "numeric_columns": [c.model_dump() for c in sheet.columns if c.type == "number"],
            "first_rows": sheet.rows[:SHEET_PREVIEW_ROWS],
        }
        for sheet in result.spreadsheet.sheets
    ]


def build_report(document: Document, result: ExtractionResult, *, version: int) -> dict[str, Any]:
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "version": version,
        "title": _title(document, result),
        "document": _facts(document, result),
        "key_values": [kv.model_dump() for kv in result.key_values],
        "entities": [e.model_dump() for e in result.entities],
        "tables": [t.model_dump() for t in (result.pdf.tables if result.pdf else [])],
        "sheets": _sheets(result),
        "text_excerpt": result.text[:1000],
        "warnings": [w.model_dump() for w in result.warnings],
        "processing": {"timings_ms": result.timings_ms, "extraction_schema_version": result.schema_version},
    }
