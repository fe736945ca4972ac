"""PDF pages whose text layer is unusable are OCRed, with a PAGE_OCR_FALLBACK warning naming why;
a clean page is never OCRed (tests/samples/make_garbled_pdfs.py builds the files)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from fastapi_app.extractors import ocr
from fastapi_app.extractors import pdf as pdf_extractor
from fastapi_app.extractors.base import ExtractionContext, ExtractionResult
from fastapi_app.extractors.pdf.garbled import garbled_reason
from tests.samples import make_garbled_pdfs
from tests.samples.make_garbled_pdfs import INVOICE_NUMBER


def extract(path: Path, **overrides: Any) -> ExtractionResult:
    data = path.read_bytes()
    ctx = ExtractionContext(path=path, mime_type="application/pdf", file_type="pdf", size_bytes=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), **overrides)  # fmt: skip
    return pdf_extractor.extract(ctx)


@pytest.fixture(scope="module")
def garbled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("garbled")
    return {kind: make_garbled_pdfs.write(out / f"{kind}.pdf", kind) for kind in make_garbled_pdfs.KINDS}


@pytest.mark.parametrize("reason", ["no_tounicode", "private_use", "mojibake"])
def test_unusable_text_layer_is_replaced_by_ocr(garbled: dict[str, Path], reason: str) -> None:
    result = extract(garbled[reason])
    assert result.pdf is not None
    page = result.pdf.pages[0]
    assert page.text_source == "ocr" and page.has_text_layer and page.ocr is not None
    assert INVOICE_NUMBER in page.text and "송장번호" in page.text and "주식회사 한빛상사" in page.text
    fallbacks = [w for w in result.warnings if w.code == "PAGE_OCR_FALLBACK"]
    assert [w.details for w in fallbacks] == [{"page": 1, "reason": reason}]
    assert reason in fallbacks[0].message
    assert result.ocr is not None and result.ocr.pages == 1


def test_clean_page_is_never_ocred(garbled: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ocr(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a page with a good text layer was sent to OCR")

    monkeypatch.setattr(ocr, "ocr_image", no_ocr)
    result = extract(garbled["clean"])
    assert result.pdf is not None and result.pdf.pages[0].text_source == "text_layer"
    assert INVOICE_NUMBER in result.text and result.ocr is None
    assert result.warnings == []


def test_samples_with_good_text_layers_are_not_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """No regression: every sample PDF with a text layer keeps it."""

    def no_ocr(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a page with a good text layer was sent to OCR")

    monkeypatch.setattr(ocr, "ocr_image", no_ocr)
    samples = Path(__file__).resolve().parent.parent / "samples" / "pdf"
    for name in ("korean_invoice.pdf", "unruled_table.pdf", "twenty_pages.pdf", "copy_protected.pdf"):
        result = extract(samples / name)
        assert not [w for w in result.warnings if w.code in ("PAGE_OCR_FALLBACK", "TEXT_LAYER_UNUSABLE")], name
        assert result.pdf is not None and all(p.text_source == "text_layer" for p in result.pdf.pages), name


def test_garbled_page_without_ocr_keeps_its_text_and_says_so(garbled: dict[str, Path]) -> None:
    result = extract(garbled["private_use"], ocr_enabled=False)
    codes = [w.code for w in result.warnings]
    assert "OCR_DISABLED" in codes and "PAGE_OCR_FALLBACK" not in codes
    unusable = [w for w in result.warnings if w.code == "TEXT_LAYER_UNUSABLE"]
    assert [w.details for w in unusable] == [{"page": 1, "reason": "private_use"}]
    assert result.pdf is not None and result.pdf.pages[0].text_source == "text_layer"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("거래명세서 송장번호: INV-2026-0315 합계 금액 1,100,000원", None),
        ("Rechnung Nr. 4711 für Müller & Söhne, Straße 5, Größe XL, Gebühr 3,50 €", None),
        ("Invoice 42183017 total due 1,100,000 KRW", None),
        ("\ue470\uef98\uf285\ue138\ue11c \ue1a1\ue7a5\uf488\uf638: INV-1", "private_use"),
        ("ê±°ë\x9eëª\x85ì\x84¸ì\x84\x9c ì\x86¡ì\x9e¥ë²\x88í¸: INV-2026-0415", "mojibake"),
        ("°Å·¡¸í¼¼¼­ ¼Û\xc0åąøÈ£: INV-2026-0415 ÇÕ°è ±Ý¾×", "mojibake"),  # cp949 bytes read as Latin-1
        ("\ufffd\ufffd\ufffd\ufffd \ufffd\ufffd\ufffd: INV-1 \ufffd\ufffd", "mojibake"),
        ("p. 3", None),  # too short to judge
    ],
)
def test_text_checks(text: str, reason: str | None) -> None:
    assert garbled_reason(text, None, expect_korean=True) == reason
