"""Issue 18, big files: the CSV path that streams, shares repeated cell texts and reports progress gives
the result the cell-by-cell path gave (bench/big_files.py measures the 500,000-row case)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import spreadsheet
from fastapi_app.extractors.base import ColumnSummary, ExtractionContext, ExtractionResult
from fastapi_app.extractors.spreadsheet import delimited, summaries

SHEETS = Path(__file__).resolve().parents[1] / "samples" / "sheets"


def run(path: Path, progress: Any = None) -> ExtractionResult:
    data = path.read_bytes()
    extra = {"progress": progress} if progress else {}
    ctx = ExtractionContext(
        path=path,
        mime_type="text/csv",
        file_type="excel",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        **extra,
    )
    return spreadsheet.extract(ctx)


def cell_by_cell(values: list[Any], letter: str, header: Any, *, decimal_comma: bool) -> ColumnSummary:
    """The summary as it was made before the column-wise path: one cell at a time."""
    stats = summaries._ColumnStats()
    for value in values:
        kind = summaries.cell_kind(value, numeric_strings=True, decimal_comma=decimal_comma)
        stats.add(kind, value, decimal_comma=decimal_comma)
    return stats.summary(letter, header)


def without_timings(result: ExtractionResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    data.pop("timings_ms", None)
    return data


COLUMNS = {
    "integers": ["1", "22", "-3", "+4", "  5 ", "", "   "],
    "floats with binary noise": ["0.1", "0.2", "0.3", "1e3", "-2.5E-2", ".5", "7."],
    "text": ["서울", "부산", "", "Daegu"],
    "mixed": ["12", "twelve", "13"],
    "not numbers to the csv rules": ["nan", "inf", "1_000", "0x10", "1,5"],
    "decimal commas": ["1,5", "2,25", "3"],
    "empty": ["", " ", "\t"],
}


@pytest.mark.parametrize("decimal_comma", [False, True])
@pytest.mark.parametrize("name", list(COLUMNS))
def test_column_summaries_are_those_of_the_cell_by_cell_rules(name: str, decimal_comma: bool) -> None:
    values = COLUMNS[name]
    fast = summaries.summarize_column(values, "B", "h", numeric_strings=True, decimal_comma=decimal_comma)
    assert fast == cell_by_cell(values, "B", "h", decimal_comma=decimal_comma)


def test_long_columns_across_chunks_sum_exactly_as_before() -> None:
    rng = random.Random(18)
    size = summaries.CHUNK * 2 + 123
    amounts = [f"{rng.randrange(1, 10**7) / 100:.2f}" for _ in range(size)]
    amounts[summaries.CHUNK + 5] = ""  # a blank in the second chunk
    with_text = list(amounts)
    with_text[-1] = "n/a"
    for values in (amounts, with_text):
        fast = summaries.summarize_column(values, "E", "금액", numeric_strings=True, decimal_comma=False)
        assert fast == cell_by_cell(values, "E", "금액", decimal_comma=False)


@pytest.fixture
def sales_csv(tmp_path: Path) -> Path:
    """~40,000 rows with repeated dates, names and items, as a sales export has them."""
    rng = random.Random(5)
    lines = ["date,거래처,품목,수량,금액"]
    for n in range(40_000):
        quantity = rng.randrange(1, 50)
        lines.append(
            f"2025-{1 + n % 12:02d}-{1 + n % 28:02d},{rng.choice(['㈜한빛', '대한물산', 'Acme'])},"
            f"{rng.choice(['의자', '모니터', 'Paper'])},{quantity},{quantity * rng.randrange(100, 9000)}"
        )
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["korean_cp949.csv", "semicolon_utf8bom.csv", "sales"])
def test_the_result_is_the_one_of_the_cell_by_cell_path(
    name: str, sales_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sales_csv if name == "sales" else SHEETS / name
    now = without_timings(run(path))
    # Before: every cell its own str object, and summaries one cell at a time.
    monkeypatch.setattr(delimited, "CSV_SHARED_VALUES_PER_COLUMN", 0)
    monkeypatch.setattr(summaries, "_summarize_text_column", cell_by_cell)
    assert without_timings(run(path)) == now


def test_a_long_csv_parse_reports_progress_in_bytes(sales_csv: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    result = run(sales_csv, progress=lambda current, total, unit: calls.append((current, total, unit)))
    assert result.spreadsheet is not None and result.spreadsheet.sheets[0].row_count == 40_001
    size = sales_csv.stat().st_size
    read = [current for current, total, unit in calls if unit == "byte" and total == size]
    # One call per CSV_PROGRESS_ROWS rows (the pipeline throttles what it turns into events).
    assert len(read) == 40_001 // delimited.CSV_PROGRESS_ROWS
    assert read == sorted(read) and 0 < read[0] < read[-1] <= size
    assert calls[-1] == (1, 1, "sheet")
