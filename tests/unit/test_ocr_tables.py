"""Tables from OCR word boxes (extractors/ocr_tables.py) and the scanned table of the corpus."""

from __future__ import annotations

from PIL import Image

from fastapi_app.extractors import ocr
from fastapi_app.extractors.ocr_tables import OcrWord, tables_from_words
from tests.support.corpus import corpus_path

TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"


def _line(number: int, top: int, cells: list[tuple[int, str]]) -> list[OcrWord]:
    """Words of one line: each cell's words 10 px apart, 20 px high."""
    words: list[OcrWord] = []
    for x, text in cells:
        for part in text.split():
            width = 10 * len(part)
            words.append(OcrWord(part, x, top, x + width, top + 20, (1, 1, number)))
            x += width + 10
    return words


def test_aligned_words_make_rows_and_a_wrapped_cell_joins_its_row() -> None:
    words = [
        *_line(1, 0, [(0, "Low Vision"), (300, "5"), (500, "98.3% n=2"), (800, "1716 sec")]),
        *_line(2, 30, [(500, "(97.7%)"), (600, "|"), (800, "(1934 sec)")]),
        *_line(3, 80, [(0, "Blind"), (300, "5"), (500, "34.5%"), (800, "1199 sec")]),
        *_line(4, 130, [(0, "Mobility"), (300, "3"), (500, "95.4%"), (800, "1416 sec")]),
    ]
    tables = tables_from_words(words)
    assert len(tables) == 1
    assert tables[0].rows == [
        ["Low Vision", "5", "98.3% n=2 (97.7%)", "1716 sec (1934 sec)"],
        ["Blind", "5", "34.5%", "1199 sec"],
        ["Mobility", "3", "95.4%", "1416 sec"],
    ]


def test_running_text_makes_no_table() -> None:
    words = [w for n in range(1, 6) for w in _line(n, 30 * n, [(0, "a paragraph of running text with no columns")])]
    assert tables_from_words(words) == []


def test_two_rows_are_not_a_table() -> None:
    words = [*_line(1, 0, [(0, "a"), (300, "b"), (600, "c")]), *_line(2, 30, [(0, "d"), (300, "e"), (600, "f")])]
    assert tables_from_words(words) == []


def test_words_from_tsv_keep_boxes_and_lines() -> None:
    tsv = TSV_HEADER + (
        "4\t1\t1\t1\t1\t0\t10\t20\t300\t25\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t20\t50\t25\t96.5\tBlind\n"
        "5\t1\t1\t1\t1\t2\t200\t22\t12\t20\t97.0\t5\n"
        "5\t1\t1\t1\t2\t1\t10\t60\t40\t20\t95.0\t \n"
    )
    assert ocr.words_from_tsv(tsv) == [
        OcrWord("Blind", 10, 20, 60, 45, (1, 1, 1)),
        OcrWord("5", 200, 22, 212, 42, (1, 1, 1)),
    ]


def test_scanned_table_rows_are_read() -> None:
    image = Image.open(corpus_path("table_scan_multirow_header.png"))
    page = ocr.recognise(image, "kor+eng")
    rows = [row for table in page.tables for row in table.rows]
    assert ["Blind", "5", "1", "4", "34.5%, n=1", "1199 sec, n=1"] in rows
    assert ["Mobility", "3", "3", "0", "95.4%, n=3", "1416 sec, n=3"] in rows
    assert ["Low Vision", "5", "2", "3", "98.3% n=2 (97.7%, n=3)", "1716 sec, n=3 (1934 sec, n=2)"] in rows


def test_a_dense_page_of_words_becomes_one_table_of_every_line_and_cell() -> None:
    # 60 lines of 8 cells of 3 words. Its speed is bench.ocr_overhead's business, not a timed assert's.
    words = [w for n in range(60) for w in _line(n, 30 * n, [(150 * c, "12.5 sec n=3") for c in range(8)])]
    (table,) = tables_from_words(words)
    assert len(table.rows) == 60
    assert all(row == ["12.5 sec n=3"] * 8 for row in table.rows)
