"""OCR with the Tesseract 5 command-line program (kor+eng by default).

One ``tesseract`` process per page, with ``OMP_THREAD_LIMIT=1``: on a 2-core worker Tesseract's own
OpenMP threads make a page about 8x slower, and parallelism comes from worker processes anyway.
The page goes to Tesseract's stdin as an uncompressed PGM (PNG encoding would cost ~40 ms a page) and
one recognition run writes both the plain text (whose word spacing is right for Korean; the TSV splits
Korean words into syllables) and the TSV (word confidences).

Preprocessing (measured on tests/samples/images and the corpus PNGs, psm 4, kor+eng): alpha flattened
onto white and grayscale (``grayscale``); deskew by row-profile variance on a 600 px copy (``deskew``,
~0.1 s; on the 2 degree sample English 93.0 -> 99.3 %); upscaling of small text (median ink line under
16 px) by up to 3x (``upscale``; the 96 dpi Flipkart scan: confidence 66.5 -> 87.1, order id found).
Otsu binarisation (``binarize``) is implemented but off: no gain on clean pages, -2 to -4 confidence on
the Flipkart scan, and on the generated invoice (tests/samples/scan_variants.py) the page is already
two-tone, so there is nothing for it to remove; denoising is not implemented for the same reason.

Low resolution (issue 15, the generated invoice, 1 - normalised edit distance): what matters is the
height of the text lines, not the dpi. At 150 dpi (12 pt lines ~23 px) the page reads 99.5 % as it is
and 99.1 % upscaled to 300 dpi (and twice as slow), so it is left alone; at 100 dpi (16 px lines) it
reads 96.7 % as it is and 98.4 % enlarged 1.75x to ~28 px lines, so lines under 20 px are enlarged.

Orientation (``orient``): a page turned 90/180/270 degrees reads as nothing (90, 270: no words) or as
garbage (180: confidence 39, against 93 upright). Tesseract's orientation detector (``--psm 0``,
osd.traineddata) finds the turn, but costs as much as a recognition pass, so it only runs when the
first pass has no words or a mean confidence under 60 (upright pages of the corpus and samples score
86-94, turned ones 0-40): upright pages never pay for it. The page is turned, prepared again (deskew
on the upright page) and read again; the new reading is kept only when its confidence is higher.
Without osd.traineddata a projection profile decides between sideways (text rows show in the column
profile) and upside down, and the candidate turns are read and compared by confidence.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_app.extractors.base import ExtractionContext, OcrPageResult, OcrSummary, not_about_the_file, short_reason

if TYPE_CHECKING:
    from PIL.Image import Image

TESSERACT_CMD = "tesseract"
"""The program to run; a module attribute so a deployment (or a test) can point elsewhere."""

PAGE_TIMEOUT_S = 60.0
# Page segmentation 4 (one column of text of variable sizes): the automatic mode (3) looks for
# columns, and Korean syllables of equal width line up across lines into "gutters" it splits on;
# on the sample page that cost 14 points of Korean accuracy (85.4 % vs 99.0 %). Tables and
# multi-column invoices read line by line, which is also what key/value extraction wants.
PAGE_SEGMENTATION_MODE = 4
MIN_SIDE_PX = 32  # smaller images hold no readable text

_TARGET_DPI = 300
# Median height of a text line's ink, in px: outside [_SMALL, _LARGE] the page is rescaled to _TARGET.
_SMALL_LINE_PX = 20  # 100 dpi 12 pt: 16 px lines, 96.7 % -> 98.4 % when enlarged (module docstring)
# Downscaling large print (12 pt at 300 dpi, ~41 px lines) to ~28 px lifted English to 100 % but cost
# Korean 2-4 points on the sample page ("송장번호" misread), so it is off until measured on more pages.
_LARGE_LINE_PX = 1_000_000
_TARGET_LINE_PX = 28
_MIN_DOWNSCALE = 0.5
_MAX_UPSCALE = 3.0
_MAX_OCR_PIXELS = 40_000_000  # never upscale beyond this (memory and time)
_DESKEW_WIDTH = 600
_DESKEW_MAX_DEG = 5.0
_DESKEW_MIN_DEG = 0.2  # below this a rotation blurs more than it straightens

DEFAULT_STEPS = frozenset({"deskew", "rescale", "orient"})

# Below this mean word confidence (or with no word at all) the page may be turned: see the docstring.
ORIENTATION_CHECK_BELOW_CONFIDENCE = 60.0
OSD_LANGUAGE = "osd"
# A sideways page's text rows show up in its column profile: its variance beats the row profile's.
_SIDEWAYS_RATIO = 1.5

_SPACES = re.compile(r"[ \t\u00a0]+")


class OcrUnavailable(Exception):
    """Tesseract or the requested language data is not installed."""


class OcrPageError(OcrUnavailable):
    """Tesseract ran but could not recognise this page (crash, unreadable image).

    A subclass of OcrUnavailable so that callers which only handle OcrUnavailable still never let it
    escape; catch it first to report it differently."""


class OcrTimeout(OcrPageError):
    """Tesseract took longer than the per-page timeout and was killed."""


# --- availability ---------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _probe(cmd: str) -> tuple[str | None, frozenset[str]] | None:
    """(version, installed languages), or None when the program cannot run. Cached per program."""
    env = _environment()
    try:
        langs = subprocess.run(
            [cmd, "--list-langs"], capture_output=True, timeout=30, env=env, check=True
        ).stdout.decode("utf-8", "replace")
        version = subprocess.run([cmd, "--version"], capture_output=True, timeout=30, env=env).stdout.decode(
            "utf-8", "replace"
        )
    except (OSError, subprocess.SubprocessError):
        return None
    installed = frozenset(line.strip() for line in langs.splitlines()[1:] if line.strip())
    match = re.search(r"tesseract\s+v?(\S+)", version)
    return (match.group(1) if match else None), installed


def _missing_languages(languages: str) -> list[str] | None:
    """Languages not installed; None when Tesseract itself cannot run."""
    probe = _probe(TESSERACT_CMD)
    if probe is None:
        return None
    return [lang for lang in languages.split("+") if lang and lang not in probe[1]]


@lru_cache(maxsize=32)
def _available(cmd: str, languages: str) -> bool:
    probe = _probe(cmd)
    return probe is not None and bool(languages) and all(lang in probe[1] for lang in languages.split("+"))


def is_available(languages: str = "kor+eng") -> bool:
    return _available(TESSERACT_CMD, languages)


def engine_version() -> str | None:
    probe = _probe(TESSERACT_CMD)
    return probe[0] if probe else None


# --- recognition ----------------------------------------------------------------------------

SPARSE_TEXT_MODE = 11
SPARSE_PASS_BELOW_CONFIDENCE = 90.0


def _new_words(text: str, sparse: str) -> str:
    """Words of the sparse pass (4+ characters) that the column pass did not produce."""
    known = set(text.split())
    squashed = "".join(text.split())
    fresh = [w for w in dict.fromkeys(sparse.split()) if len(w) >= 4 and w not in known and w not in squashed]
    return " ".join(fresh)


def ocr_image(image: Image, ctx: ExtractionContext, *, source_dpi: float | None = None) -> OcrPageResult:
    """Recognise one page image; raises OcrUnavailable when Tesseract cannot run.

    ``image`` should already be upright as far as metadata says (EXIF orientation applied);
    ``source_dpi`` is its resolution if known (PDF render dpi, image metadata)."""
    return recognise(image, ctx.ocr_languages, source_dpi=source_dpi)


def recognise(
    image: Image,
    languages: str = "kor+eng",
    *,
    source_dpi: float | None = None,
    steps: frozenset[str] = DEFAULT_STEPS,
    psm: int = PAGE_SEGMENTATION_MODE,
    timeout_s: float = PAGE_TIMEOUT_S,
) -> OcrPageResult:
    """ocr_image with the knobs exposed, for the benchmark's with/without comparisons."""
    if not is_available(languages):
        missing = _missing_languages(languages)
        if missing is None:
            raise OcrUnavailable(f"Tesseract ({TESSERACT_CMD}) is not installed or cannot run")
        raise OcrUnavailable(f"Tesseract language data missing: {', '.join(missing) or languages!r}")
    started = time.perf_counter()
    try:
        prepared, dpi, rotated, applied = _prepare(image, source_dpi, steps)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise OcrPageError(f"Image could not be prepared for OCR: {short_reason(exc)}") from None
    text, confidence = _run_tesseract(prepared, languages, dpi, psm, timeout_s)
    orientation = 0
    if "orient" in steps and _may_be_turned(confidence):
        turned = _reorient(image, prepared, dpi, languages, source_dpi, steps, psm, timeout_s, confidence)
        if turned is not None:
            orientation, (prepared, dpi, rotated, applied), (text, confidence), method = turned
            applied = [*applied, method]
    if confidence is not None and confidence < SPARSE_PASS_BELOW_CONFIDENCE and psm != SPARSE_TEXT_MODE:
        # Forms with boxed or scattered fields read poorly as one column; a sparse-text pass finds
        # the fields the column pass dropped, and only its new words are kept.
        sparse, _ = _run_tesseract(prepared, languages, dpi, SPARSE_TEXT_MODE, timeout_s)
        extra = _new_words(text, sparse)
        if extra:
            text = f"{text}\n{extra}" if text else extra
            applied = [*applied, "sparse-pass"]
    return OcrPageResult(
        text=text,
        confidence=confidence,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        dpi=dpi,
        rotated_degrees=rotated,
        orientation_degrees=orientation,
        preprocessing=applied,
    )


# --- orientation ----------------------------------------------------------------------------

_Prepared = tuple["Image", int, float, list[str]]
# Clockwise turn that makes the page upright -> the Pillow transpose doing it (Pillow turns anticlockwise).
_TURNS = {90: "ROTATE_270", 180: "ROTATE_180", 270: "ROTATE_90"}


def _may_be_turned(confidence: float | None) -> bool:
    return confidence is None or confidence < ORIENTATION_CHECK_BELOW_CONFIDENCE


def _reorient(
    image: Image,
    prepared: Image,
    dpi: int,
    languages: str,
    source_dpi: float | None,
    steps: frozenset[str],
    psm: int,
    timeout_s: float,
    confidence: float | None,
) -> tuple[int, _Prepared, tuple[str, float | None], str] | None:
    """(clockwise turn, the turned page prepared again, its text and confidence, the method), or None
    when no turn reads with a higher confidence than the page as it is."""
    osd = osd_rotation(prepared, dpi, timeout_s)
    if osd is None:
        candidates, method = _profile_candidates(prepared), "orient-profile"
    else:
        candidates, method = ([osd] if osd else []), "orient-osd"
    best: tuple[int, _Prepared, tuple[str, float | None], str] | None = None
    best_confidence = confidence if confidence is not None else -1.0
    for degrees in candidates:
        again = _prepare(turn(image, degrees), source_dpi, steps)
        text, turned_confidence = _run_tesseract(again[0], languages, again[1], psm, timeout_s)
        if turned_confidence is not None and turned_confidence > best_confidence:
            best, best_confidence = (degrees, again, (text, turned_confidence), method), turned_confidence
    return best


def turn(image: Image, degrees: int) -> Image:
    """The image turned ``degrees`` (90, 180, 270) clockwise, losslessly."""
    from PIL import Image as PILImage

    if degrees % 360 == 0:
        return image
    return image.transpose(getattr(PILImage.Transpose, _TURNS[degrees % 360]))


def osd_available() -> bool:
    probe = _probe(TESSERACT_CMD)
    return probe is not None and OSD_LANGUAGE in probe[1]


def osd_rotation(gray: Image, dpi: int = _TARGET_DPI, timeout_s: float = PAGE_TIMEOUT_S) -> int | None:
    """Tesseract's orientation detection (``--psm 0``): the clockwise turn (0, 90, 180, 270) that makes
    the page upright; 0 when it cannot tell (too few characters); None without osd.traineddata."""
    if not osd_available():
        return None
    width, height = gray.size
    pgm = b"P5\n%d %d\n255\n" % (width, height) + gray.tobytes()
    command = [TESSERACT_CMD, "stdin", "stdout", "--psm", "0", "--dpi", str(dpi)]
    try:
        done = subprocess.run(command, input=pgm, capture_output=True, timeout=timeout_s, env=_environment())
    except subprocess.TimeoutExpired:
        raise OcrTimeout(f"Orientation detection took longer than {timeout_s:g} s on one page") from None
    except OSError as exc:
        raise OcrUnavailable(f"Tesseract could not be started: {short_reason(exc)}") from None
    match = re.search(r"Rotate:\s*(\d+)", done.stdout.decode("utf-8", "replace"))
    if done.returncode != 0 or match is None:
        return 0
    degrees = int(match.group(1)) % 360
    return degrees if degrees in _TURNS else 0


def _variance(values: list[int]) -> float:
    return statistics.pvariance(values) if len(values) > 1 else 0.0


def _profile_candidates(gray: Image) -> list[int]:
    """Turns worth reading when Tesseract's orientation data is missing: text rows make the row
    profile of an upright page (or the column profile of a sideways one) vary sharply."""
    from PIL import Image as PILImage

    mask = _ink_mask(gray, _DESKEW_WIDTH)
    rows = _variance(_row_profile(mask))
    columns = _variance(list(mask.resize((mask.width, 1), PILImage.Resampling.BOX).tobytes()))
    return [90, 270] if columns > rows * _SIDEWAYS_RATIO else [180]


def summarize(pages: list[OcrPageResult], ctx: ExtractionContext) -> OcrSummary:
    confidences = [p.confidence for p in pages if p.confidence is not None]
    steps: list[str] = []
    for page in pages:
        for step in page.preprocessing:
            if step not in steps:
                steps.append(step)
    return OcrSummary(
        engine_version=engine_version(),
        languages=ctx.ocr_languages,
        pages=len(pages),
        mean_confidence=round(sum(confidences) / len(confidences), 2) if confidences else None,
        duration_ms=round(sum(p.duration_ms for p in pages), 2),
        preprocessing=steps,
    )


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def _run_tesseract(image: Image, languages: str, dpi: int, psm: int, timeout_s: float) -> tuple[str, float | None]:
    width, height = image.size
    pgm = b"P5\n%d %d\n255\n" % (width, height) + image.tobytes()
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        base = Path(tmp) / "page"
        command = [TESSERACT_CMD, "stdin", str(base), "-l", languages, "--psm", str(psm), "--dpi", str(dpi)]
        try:
            done = subprocess.run(
                [*command, "txt", "tsv"], input=pgm, capture_output=True, timeout=timeout_s, env=_environment()
            )
        except subprocess.TimeoutExpired:
            raise OcrTimeout(f"OCR took longer than {timeout_s:g} s on one page") from None
        except OSError as exc:
            raise OcrUnavailable(f"Tesseract could not be started: {short_reason(exc)}") from None
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrPageError(f"Tesseract failed (exit {done.returncode}): {(reason or ['no message'])[-1][:200]}")
        try:
            raw_text = (base.with_suffix(".txt")).read_text("utf-8", errors="replace")
            tsv = (base.with_suffix(".tsv")).read_text("utf-8", errors="replace")
        except OSError as exc:
            raise OcrPageError(f"Tesseract wrote no output: {short_reason(exc)}") from None
    return clean_text(raw_text), _mean_confidence(tsv)


def clean_text(raw: str) -> str:
    """Tesseract's lines in reading order; runs of spaces collapsed, no trailing whitespace, at most
    one blank line between blocks, no form feed."""
    lines = [_SPACES.sub(" ", line).strip() for line in raw.replace("\f", "\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _mean_confidence(tsv: str) -> float | None:
    confidences: list[float] = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        try:
            conf = float(fields[10])
        except ValueError:
            continue
        if conf >= 0:  # -1 marks layout rows, not words
            confidences.append(min(conf, 100.0))
    return round(statistics.fmean(confidences), 2) if confidences else None


# --- preprocessing --------------------------------------------------------------------------


def _prepare(image: Image, source_dpi: float | None, steps: frozenset[str]) -> tuple[Image, int, float, list[str]]:
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
            dpi = (dpi or _TARGET_DPI / factor) * factor
            applied.append("upscale" if factor > 1 else "downscale")
    if "binarize" in steps:
        gray = _otsu(gray)
        applied.append("binarize")
    # Tesseract falls back to 70 dpi when none is given, which skews its size filters.
    return gray, max(70, min(round(dpi or _TARGET_DPI), 2400)), rotated, applied


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
    line = _median_line_height(gray)
    if line is None:
        return 1.0
    if _SMALL_LINE_PX <= line <= _LARGE_LINE_PX:
        return 1.0
    factor = _TARGET_LINE_PX / line
    if factor > 1:
        if dpi is not None and dpi >= _TARGET_DPI * 0.9:
            return 1.0  # small print on a good scan: enlarging adds no detail
        factor = min(factor, _MAX_UPSCALE, math.sqrt(_MAX_OCR_PIXELS / max(1, gray.width * gray.height)))
        return factor if factor >= 1.2 else 1.0
    factor = max(factor, _MIN_DOWNSCALE)
    return factor if factor <= 0.85 else 1.0
