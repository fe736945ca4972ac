"""One entry point for extraction, shared by the worker pipeline and the CLI, so both give the
same result for the same file."""

from __future__ import annotations

import time

from fastapi_app.extractors import registry
from fastapi_app.extractors.base import ExtractionContext, ExtractionResult
from fastapi_app.extractors.text_analysis import analyze


def extract_content(ctx: ExtractionContext) -> ExtractionResult:
    return registry.extract(ctx)


def analyze_content(result: ExtractionResult) -> None:
    started = time.perf_counter()
    analyze(result)
    result.timings_ms["analyze"] = round((time.perf_counter() - started) * 1000, 2)


def extract_document(ctx: ExtractionContext) -> ExtractionResult:
    result = extract_content(ctx)
    analyze_content(result)
    return result
