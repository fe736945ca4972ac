"""Text layers that exist but cannot be used: the page is then OCRed instead (pages.py).

Three failures, named in the ``PAGE_OCR_FALLBACK`` warning:

- ``no_tounicode``: a CID font (Type0, Identity-H) without a ToUnicode map. pdfium cannot turn glyph
  ids into characters and flags each such character (``FPDFText_HasUnicodeMapError``); the text is
  control characters and stray scripts (Cyrillic, Gujarati, ...).
- ``private_use``: the map sends glyphs to the Private Use Area (HWP and some Korean word processors'
  PDF export): characters no reader can interpret.
- ``mojibake``: replacement characters, control characters, or Latin-1 soup ("ê±°ë\\x9eëª") where
  Korean is expected: the text was decoded with the wrong code page before it was written.

The check costs one regular-expression count per page; pdfium's per-character flags (about 15 us a
character through ctypes, 11 ms for a 742-character page here, more than the text extraction itself)
are read only when the text already looks wrong, so a clean page pays nothing measurable.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pypdfium2

GarbledReason = Literal["no_tounicode", "private_use", "mojibake"]

# Fewer non-space characters than this say too little to judge (a page number, a stray mark).
MIN_CHARS = 8
# Share of a page's non-space characters that must be bad before the text layer is distrusted. Real
# text has none of them (a German page has ~2 % Latin-1 letters, none of the rest).
BAD_RATIO = 0.3
# The share of characters outside the usual ones that makes the page worth pdfium's flag check.
_SUSPICIOUS_RATIO = 0.1
_FLAG_SAMPLE = 2_000  # characters whose pdfium flag is read, at most

_SPACE = re.compile(r"\s")
# Characters of real documents: ASCII, Latin-1 and Latin Extended letters, punctuation, currency,
# arrows, box drawing and other symbols, Hangul (syllables, jamo), CJK, full-width forms.
_UNUSUAL = re.compile(
    r"[^\s!-~\u00a0-\u024f\u0370-\u03ff\u2000-\u206f\u20a0-\u20cf\u2100-\u27bf"
    r"\u1100-\u11ff\u3000-\u303f\u3130-\u318f\u3200-\u33ff\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\uff00-\uffef]"
)
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff\U000f0000-\U0010ffff]")
_BROKEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufffe\uffff]")
_LATIN1_HIGH = re.compile(r"[\u00a0-\u00ff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


def garbled_reason(
    raw: str, textpage: pypdfium2.PdfTextPage | None = None, *, expect_korean: bool = True
) -> GarbledReason | None:
    """Why this page's text layer (pdfium's raw text) is unusable, or None when it is fine."""
    total = len(raw) - len(_SPACE.findall(raw))
    if total < MIN_CHARS:
        return None
    unusual = len(_UNUSUAL.findall(raw))
    latin1 = len(_LATIN1_HIGH.findall(raw))
    if unusual < total * _SUSPICIOUS_RATIO and latin1 < total * BAD_RATIO:
        return None
    if textpage is not None and unusual >= total * _SUSPICIOUS_RATIO and _map_errors(textpage) >= BAD_RATIO:
        return "no_tounicode"
    if len(_PRIVATE_USE.findall(raw)) >= total * BAD_RATIO:
        return "private_use"
    if len(_BROKEN.findall(raw)) >= total * BAD_RATIO or unusual >= total * BAD_RATIO:
        return "mojibake"
    hangul = len(_HANGUL.findall(raw))
    if expect_korean and latin1 >= total * BAD_RATIO and hangul < total * 0.05:
        return "mojibake"
    return None


def _map_errors(textpage: pypdfium2.PdfTextPage) -> float:
    """Share of the page's (first) non-space characters that pdfium could not map to Unicode."""
    import pypdfium2.raw as pdfium_c

    count = min(pdfium_c.FPDFText_CountChars(textpage), _FLAG_SAMPLE)
    checked = errors = 0
    for index in range(count):
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        if code in (0x20, 0x0A, 0x0D, 0x09):
            continue
        checked += 1
        errors += pdfium_c.FPDFText_HasUnicodeMapError(textpage, index) == 1
    return errors / checked if checked else 0.0
