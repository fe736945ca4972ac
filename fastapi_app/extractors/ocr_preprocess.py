"""Page images made ready for Tesseract: grayscale, deskew, rescale, optional binarisation, and the
turns used by orientation correction. What each step measured is in the docstring of ocr.py."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

MIN_SIDE_PX = 32  # smaller images hold no readable text

TARGET_DPI = 300
# Median height of a text line's ink, in px: outside [_SMALL, _LARGE] the page is rescaled to _TARGET.
_SMALL_LINE_PX = 20  # 100 dpi 12 pt: 16 px lines, 96.7 % -> 98.4 % when enlarged (ocr.py docstring)
# Downscaling large print (12 pt at 300 dpi, ~41 px lines) to ~28 px lifted English to 100 % but cost
# Korean 2-4 points on the sample page ("송장번호" misread), so it is off until measured on more pages.
_LARGE_LINE_PX = 1_000_000
_DOWNSCALING = _LARGE_LINE_PX < 100_000  # no line of a page is that tall: downscaling is off
_TARGET_LINE_PX = 28
_MIN_DOWNSCALE = 0.5
_MAX_UPSCALE = 3.0
_MAX_OCR_PIXELS = 40_000_000  # never upscale beyond this (memory and time)
_DESKEW_WIDTH = 600
_DESKEW_MAX_DEG = 5.0
_DESKEW_MIN_DEG = 0.2  # below this a rotation blurs more than it straightens
# Paper darker than this (a grey photocopy) is binarised: see ocr.py's docstring for the measurement.
_GREY_PAPER = 240

# A sideways page's text rows show up in its column profile: its variance beats the row profile's.
_SIDEWAYS_RATIO = 1.5
# Clockwise turn that makes the page upright -> the Pillow transpose doing it (Pillow turns anticlockwise).
_TURNS = {90: "ROTATE_270", 180: "ROTATE_180", 270: "ROTATE_90"}


def prepare(image: Image, source_dpi: float | None, steps: frozenset[str]) -> tuple[Image, int, float, list[str]]:
    from PIL import Image as PILImage

    applied = ["grayscale"]
    gray = _to_gray(image)
    rotated = 0.0
    if "deskew" in steps:
        angle = _skew_angle(gray)
        if abs(angle) >= _DESKEW_MIN_DEG:
            # Filled with the paper's own grey: a white wedge on grey paper reads as "|" characters.
            gray = gray.rotate(angle, resample=PILImage.Resampling.BICUBIC, fillcolor=_paper_level(gray))
            rotated = round(angle, 2)
            applied.append("deskew")
    dpi = float(source_dpi) if source_dpi and source_dpi > 0 else None
    if "rescale" in steps:
        factor = _rescale_factor(gray, dpi)
        if factor != 1.0:
            size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
            gray = gray.resize(size, PILImage.Resampling.LANCZOS)
            dpi = (dpi or TARGET_DPI / factor) * factor
            applied.append("upscale" if factor > 1 else "downscale")
    if "binarize" in steps or ("binarize-grey" in steps and _paper_level(gray) < _GREY_PAPER):
        gray = _otsu(gray)
        applied.append("binarize")
    # Tesseract falls back to 70 dpi when none is given, which skews its size filters.
    return gray, max(70, min(round(dpi or TARGET_DPI), 2400)), rotated, applied


def _paper_level(gray: Image) -> int:
    histogram = gray.histogram()
    return max(range(128, 256), key=histogram.__getitem__)


def _to_gray(image: Image) -> Image:
    from PIL import Image as PILImage

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels are often black underneath; text on them would vanish.
        rgba = image.convert("RGBA")
        background = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = PILImage.alpha_composite(background, rgba)
    elif image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image = image.convert("I").point(lambda v: v / 256)
    return image.convert("L") if image.mode != "L" else image


def _otsu(gray: Image) -> Image:
    histogram = gray.histogram()
    total = sum(histogram)
    sum_all = sum(i * h for i, h in enumerate(histogram))
    weight_bg = sum_bg = 0.0
    best, threshold = -1.0, 127
    for level, count in enumerate(histogram):
        weight_bg += count
        if weight_bg == 0 or weight_bg == total:
            continue
        sum_bg += level * count
        mean_bg = sum_bg / weight_bg
        mean_fg = (sum_all - sum_bg) / (total - weight_bg)
        between = weight_bg * (total - weight_bg) * (mean_bg - mean_fg) ** 2
        if between > best:
            best, threshold = between, level
    return gray.point(lambda v: 255 if v > threshold else 0)


def _ink_mask(gray: Image, width: int) -> Image:
    """A copy at most ``width`` px wide with ink bright and paper black, for layout measurements."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    scale = min(1.0, width / gray.width)
    small = gray
    if scale < 1.0:
        small = gray.resize(
            (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), PILImage.Resampling.BOX
        )
    return ImageOps.invert(ImageOps.autocontrast(small, cutoff=1))


def _row_profile(mask: Image) -> list[int]:
    """Mean ink per pixel row (0-255)."""
    from PIL import Image as PILImage

    return list(mask.resize((1, mask.height), PILImage.Resampling.BOX).tobytes())


def _skew_angle(gray: Image) -> float:
    """The small rotation that makes text rows sharpest: the variance of the row profile peaks when
    lines are horizontal. A 1 degree sweep, then 0.1 degree steps around the best, on a copy 600 px
    wide (~0.1 s for an A4 page)."""
    from PIL import Image as PILImage

    mask = _ink_mask(gray, _DESKEW_WIDTH)
    if mask.width < MIN_SIDE_PX or mask.height < MIN_SIDE_PX:
        return 0.0
    scores: dict[float, float] = {}

    def sharpness(angle: float) -> float:
        angle = round(angle, 2)
        if angle not in scores:
            turned = mask.rotate(angle, resample=PILImage.Resampling.NEAREST, fillcolor=0) if angle else mask
            profile = _row_profile(turned)
            mean = sum(profile) / len(profile)
            scores[angle] = sum((v - mean) ** 2 for v in profile) / len(profile)
        return scores[angle]

    limit = int(_DESKEW_MAX_DEG)
    coarse = max(range(-limit, limit + 1), key=sharpness)
    fine = max((coarse + i / 10 for i in range(-6, 7)), key=sharpness)
    baseline = sharpness(0.0)
    # Pages without text lines (photos) score flat; only a clear gain justifies a rotation.
    if baseline > 0 and sharpness(fine) < baseline * 1.05:
        return 0.0
    return round(fine, 2)


def _median_line_height(gray: Image) -> float | None:
    """Median height in px of the bands of pixel rows that hold ink (text lines, at full resolution)."""
    profile = _row_profile(_ink_mask(gray, gray.width))
    if not profile:
        return None
    # The noise floor (speckles, paper texture) is what most rows of a page hold: the median row.
    floor = sorted(profile)[len(profile) // 2]
    threshold = floor + max(1, (max(profile) - floor) // 20)
    runs: list[int] = []
    length = 0
    for value in [*profile, 0]:
        if value > threshold:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    # Table rules and specks are thinner than any readable line of text.
    runs = [r for r in runs if r >= 5]
    return float(statistics.median(runs)) if runs else None


def _rescale_factor(gray: Image, dpi: float | None) -> float:
    """Scale so text lines are ~32 px high, the size Tesseract's LSTM models read best: small text
    (low-dpi scans, screenshots) is enlarged up to 3x, large print (12 pt at 300 dpi) reduced."""
    if _good_scan(dpi) and not _DOWNSCALING:
        # Small print on a good scan is left alone and large print is never reduced, so the answer is
        # 1 whatever the lines measure: skip the measurement (~40 ms CPU on an A4 page, issue 18).
        return 1.0
    line = _median_line_height(gray)
    if line is None:
        return 1.0
    if _SMALL_LINE_PX <= line <= _LARGE_LINE_PX:
        return 1.0
    factor = _TARGET_LINE_PX / line
    if factor > 1:
        if _good_scan(dpi):
            return 1.0  # small print on a good scan: enlarging adds no detail
        factor = min(factor, _MAX_UPSCALE, math.sqrt(_MAX_OCR_PIXELS / max(1, gray.width * gray.height)))
        return factor if factor >= 1.2 else 1.0
    factor = max(factor, _MIN_DOWNSCALE)
    return factor if factor <= 0.85 else 1.0


def _good_scan(dpi: float | None) -> bool:
    return dpi is not None and dpi >= TARGET_DPI * 0.9


def turn(image: Image, degrees: int) -> Image:
    """The image turned ``degrees`` (90, 180, 270) clockwise, losslessly."""
    from PIL import Image as PILImage

    if degrees % 360 == 0:
        return image
    return image.transpose(getattr(PILImage.Transpose, _TURNS[degrees % 360]))


def _variance(values: list[int]) -> float:
    return statistics.pvariance(values) if len(values) > 1 else 0.0


def profile_candidates(gray: Image) -> list[int]:
    """Turns worth reading when Tesseract's orientation data is missing: text rows make the row
    profile of an upright page (or the column profile of a sideways one) vary sharply."""
    from PIL import Image as PILImage

    mask = _ink_mask(gray, _DESKEW_WIDTH)
    rows = _variance(_row_profile(mask))
    columns = _variance(list(mask.resize((mask.width, 1), PILImage.Resampling.BOX).tobytes()))
    return [90, 270] if columns > rows * _SIDEWAYS_RATIO else [180]
