"""OCR character accuracy: 1 - normalised Levenshtein distance to the source text (rapidfuzz when it
is installed, otherwise a plain dynamic programme: about 0.5 s for a 700-character page)."""

from __future__ import annotations

from tests.samples.scan_variants import normalise, source_text


def levenshtein(a: str, b: str) -> int:
    try:
        from rapidfuzz.distance import Levenshtein  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return int(Levenshtein.distance(a, b))
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def character_accuracy(ocr_text: str, truth: str | None = None) -> float:
    """1 - edit distance / length of the truth, on normalised text (can go below 0 for pure garbage)."""
    reference = source_text() if truth is None else normalise(truth)
    return 1 - levenshtein(normalise(ocr_text), reference) / max(1, len(reference))
