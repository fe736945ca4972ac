"""Scans of the generated Korean/English invoice page (tests/samples/make_images.py, NanumGothic at
300 dpi), turned and skewed as scanners and phones deliver them, for the OCR quality test and
bench/ocr_orientation.py.

Each variant is (image, dpi): upright; turned 90, 180 and 270 degrees (anticlockwise, as a page fed
sideways or upside down); skewed +5 and -5 degrees; and scanned at 150 dpi.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PIL import Image

from tests.samples.make_images import ground_truth, render_page

VARIANTS = ("upright", "rot90", "rot180", "rot270", "skew+5", "skew-5", "dpi150")


@cache
def upright_page() -> Image.Image:
    return render_page()


def _skew(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda page: page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)


_MAKERS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "upright": (lambda page: page, 300),
    "rot90": (lambda page: page.transpose(Image.Transpose.ROTATE_90), 300),
    "rot180": (lambda page: page.transpose(Image.Transpose.ROTATE_180), 300),
    "rot270": (lambda page: page.transpose(Image.Transpose.ROTATE_270), 300),
    "skew+5": (_skew(5.0), 300),
    "skew-5": (_skew(-5.0), 300),
    "dpi150": (lambda page: page.resize((page.width // 2, page.height // 2), Image.Resampling.LANCZOS), 150),
}


def variant(name: str) -> tuple[Image.Image, int]:
    """The page as that variant, and its resolution in dpi."""
    make, dpi = _MAKERS[name]
    return make(upright_page()), dpi


def source_text() -> str:
    """The text printed on the page: one line per line, no blank lines."""
    return normalise(ground_truth())


def normalise(text: str) -> str:
    """Lines stripped, blank lines dropped, runs of spaces made one: layout is not what is measured."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
