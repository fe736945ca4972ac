"""Page images made ready for Tesseract: grayscale, deskew, rescale, optional binarisation, and the
turns used by orientation correction. What each step measured is in the docstring of ocr.py."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, NamedTuple

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
_SKEW_STRIPS = 40
# Layout (page segmentation choice, ocr.py): a band of ink rows thinner than this is a speck; a strip
# of a band whose brightest row of ink mask is at most _STRIP_INK is empty.
_MIN_BAND_ROWS = 2
_STRIP_INK = 16
_DESKEW_MAX_DEG = 5.0
_DESKEW_MIN_DEG = 0.2  # below this a rotation blurs more than it straightens
# Paper darker than this (a grey photocopy) is binarised: see ocr.py's docstring for the measurement.
_GREY_PAPER = 240

# A sideways page's text rows show up in its column profile: its variance beats the row profile's.
_SIDEWAYS_RATIO = 1.5
# Clockwise turn that makes the page upright -> the Pillow transpose doing it (Pillow turns anticlockwise).
_TURNS = {90: "ROTATE_270", 180: "ROTATE_180", 270: "ROTATE_90"}


class PreparedPage(NamedTuple):
    image: Image
    dpi: int
    rotated: float
    applied: list[str]
    # One column of text lines of one size on white paper (after the deskew): see
    # uniform_text_block. ocr.py reads such a page as one uniform block (psm 6) instead of psm 4.
    uniform_block: bool


def prepare(image: Image, source_dpi: float | None, steps: frozenset[str]) -> tuple[Image, int, float, list[str]]:
    page = prepare_page(image, source_dpi, steps)
    return page.image, page.dpi, page.rotated, page.applied


def prepare_page(image: Image, source_dpi: float | None, steps: frozenset[str]) -> PreparedPage:
    from PIL import Image as PILImage

    applied = ["grayscale"]
    gray = _to_gray(image)
    # The skew, the layout and the paper's grey are measured on one box-reduced copy ~600 px wide
    # (issue 18: on an A4 page at 300 dpi the full-size histogram alone cost 3-4 ms, a resize to exactly
    # 600 px 13 ms, the rotation sweep 25 ms).
    small = _reduced(gray, _DESKEW_WIDTH)
    strips = _strips(small)
    paper = _paper_level(small)
    rotated = 0.0
    if "deskew" in steps and strips is not None:
        angle = _strip_skew(*strips)
        if abs(angle) >= _DESKEW_MIN_DEG:
            # Filled with the paper's own grey: a white wedge on grey paper reads as "|" characters.
            gray = gray.rotate(angle, resample=PILImage.Resampling.BICUBIC, fillcolor=paper)
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
    # The paper's grey is that of the page before the small turn (filled with that grey) and the rescale.
    if "binarize" in steps or ("binarize-grey" in steps and paper < _GREY_PAPER):
        gray = _otsu(gray)
        applied.append("binarize")
    # The layout of a deskewed page is read from the strips turned by the same angle; turned
    # anticlockwise, a left margin runs leftwards down the page by tan(angle) px per row.
    uniform = (
        strips is not None
        and paper >= _GREY_PAPER
        and uniform_text_block(
            _turned_strips(strips[0], strips[1], rotated), -math.tan(math.radians(rotated)) / strips[1]
        )
    )
    # Tesseract falls back to 70 dpi when none is given, which skews its size filters.
    return PreparedPage(gray, max(70, min(round(dpi or TARGET_DPI), 2400)), rotated, applied, uniform)


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
    """A copy about ``width`` px wide (``width`` to 2x ``width``: a whole-pixel box reduction, ~4x cheaper
    than a resize to the exact width) with ink bright and paper black, for layout measurements."""
    from PIL import ImageOps

    return ImageOps.invert(ImageOps.autocontrast(_reduced(gray, width), cutoff=1))


def _reduced(gray: Image, width: int) -> Image:
    """``gray`` box-averaged by the whole factor that keeps it at least ``width`` px wide (itself when
    it is narrower than twice ``width``)."""
    factor = gray.width // width
    return gray.reduce(factor) if factor >= 2 else gray


def _row_profile(mask: Image) -> list[int]:
    """Mean ink per pixel row (0-255)."""
    from PIL import Image as PILImage

    return list(mask.resize((1, mask.height), PILImage.Resampling.BOX).tobytes())


def _skew_angle(gray: Image) -> float:
    """The small rotation that makes text rows sharpest (see ``_strip_skew``)."""
    strips = _strips(gray)
    return 0.0 if strips is None else _strip_skew(*strips)


def _strips(gray: Image) -> tuple[Image, float] | None:
    """The ink mask of a copy ~600 px wide, cut into ``_SKEW_STRIPS`` vertical strips each reduced to its
    own row profile (one pixel column per strip), and the width of a strip in pixels of that copy;
    None when the page is too small to measure."""
    from PIL import Image as PILImage

    mask = _ink_mask(gray, _DESKEW_WIDTH)
    if mask.width < MIN_SIDE_PX or mask.height < MIN_SIDE_PX:
        return None
    return mask.resize((_SKEW_STRIPS, mask.height), PILImage.Resampling.BOX), mask.width / _SKEW_STRIPS


def _strip_skew(strips: Image, strip_width: float) -> float:
    """The small rotation that makes text rows sharpest: the variance of the row profile peaks when
    lines are horizontal. A 1 degree sweep, then 0.1 degree steps around the best.

    Turning the page by a small angle shifts each strip up or down by its distance from the centre
    times the tangent, so each angle costs a shear of the tiny strip image (~40 x 900 px) instead of a
    rotation of the whole ~600 px copy (issue 18: ~35 ms -> ~7 ms on an A4 page; the angles found agree
    with the rotation sweep within 0.2 degree, see docs/BENCHMARKS.md)."""
    from PIL import Image as PILImage

    scores: dict[float, float] = {}

    def sharpness(angle: float) -> float:
        angle = round(angle, 2)
        if angle not in scores:
            # Pillow turns anticlockwise: the right half of the page rises, so output row y of a strip
            # x strips right of the centre shows the strip's row y + x * width * tan(angle).
            sheared = _turned_strips(strips, strip_width, angle)
            scores[angle] = _profile_variance(sheared.resize((1, sheared.height), PILImage.Resampling.BOX))
        return scores[angle]

    limit = int(_DESKEW_MAX_DEG)
    coarse = max(range(-limit, limit + 1), key=sharpness)
    fine = max((coarse + i / 10 for i in range(-6, 7)), key=sharpness)
    baseline = sharpness(0.0)
    # Pages without text lines (photos) score flat; only a clear gain justifies a rotation.
    if baseline > 0 and sharpness(fine) < baseline * 1.05:
        return 0.0
    return round(fine, 2)


def _text_bands(profile: list[int]) -> list[tuple[int, int]]:
    """(first, end) rows of the bands of a row profile that hold ink (text lines, rules)."""
    floor = sorted(profile)[len(profile) // 2]
    peak = max(profile, default=0)
    if peak <= floor:
        return []
    threshold = floor + max(1, (peak - floor) // 20)
    bands: list[tuple[int, int]] = []
    start: int | None = None
    for row, value in enumerate([*profile, 0]):
        if value > threshold and start is None:
            start = row
        elif value <= threshold and start is not None:
            bands.append((start, row))
            start = None
    return bands


def layout_features(strips: Image, drift: float = 0.0) -> dict[str, float]:
    """What ``uniform_text_block`` decides on. ``drift``: strips a line's start moves right per row
    down the page (a turned page: the strips are sheared upright, not moved sideways)."""
    width = strips.width
    data = strips.tobytes()
    bands = [b for b in _text_bands(_row_profile(strips)) if b[1] - b[0] >= _MIN_BAND_ROWS]
    widest_gap = 0
    lefts: list[float] = []
    rules = 0
    for first, end in bands:
        inked = [max(data[row * width + strip] for row in range(first, end)) > _STRIP_INK for strip in range(width)]
        columns = [i for i, ink in enumerate(inked) if ink]
        if not columns:
            continue
        lefts.append(columns[0] - drift * (first + end - strips.height) / 2)
        gap = 0
        for ink in inked[columns[0] : columns[-1] + 1]:
            gap = 0 if ink else gap + 1
            widest_gap = max(widest_gap, gap)
        if end - first <= 2 * _MIN_BAND_ROWS and len(columns) > width // 2:
            rules += 1
    heights = sorted(end - first for first, end in bands)
    return {
        "bands": len(bands),
        "tallest_share": heights[-1] / strips.height if heights else 0.0,
        "widest_gap": widest_gap,
        "left_spread": (max(lefts) - min(lefts)) if lefts else 0,
        "height_ratio": heights[-1] / heights[len(heights) // 2] if heights else 0.0,
        "rules": rules,
    }


def uniform_text_block(strips: Image, drift: float = 0.0) -> bool:
    """One column of text lines of one size starting at one margin: no gap of 2+ empty strips (~1 cm
    on A4) inside a line (key/value columns, tables, multi-column layouts), no line over twice the
    median line's height (headings, table rows joined by vertical rules), no thin full-width band (a
    ruling line), every line starting within 2 strips of the others (centred or indented blocks), no
    band over an eighth of the page (a photo is one tall band of "ink")."""
    features = layout_features(strips, drift)
    return (
        features["bands"] >= 1
        and features["tallest_share"] <= 0.125
        and features["widest_gap"] < 2
        and features["height_ratio"] <= 2.0
        and features["rules"] == 0
        and features["left_spread"] <= 2
    )


def _turned_strips(strips: Image, strip_width: float, angle: float) -> Image:
    """The strips as they would be if the page were turned ``angle`` degrees anticlockwise (as Pillow
    turns): the right half of the page rises, so output row y of a strip x strips right of the centre
    shows the strip's row y + x * width * tan(angle)."""
    from PIL import Image as PILImage

    if not angle:
        return strips
    slope = math.tan(math.radians(angle)) * strip_width
    shear = (1.0, 0.0, 0.0, slope, 1.0, -slope * _SKEW_STRIPS / 2)
    return strips.transform(strips.size, PILImage.Transform.AFFINE, shear, PILImage.Resampling.NEAREST, fillcolor=0)


def _profile_variance(column: Image) -> float:
    """Population variance of the pixel values of a one-pixel-wide image (from its histogram)."""
    histogram = column.histogram()
    count = sum(histogram)
    if not count:
        return 0.0
    mean = sum(i * h for i, h in enumerate(histogram)) / count
    return sum(h * (i - mean) ** 2 for i, h in enumerate(histogram) if h) / count


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
