"""OCR with the Tesseract 5 command-line program (kor+eng by default).

One ``tesseract`` process per page, with ``OMP_THREAD_LIMIT=1``: on a 2-core worker Tesseract's own
OpenMP threads make a page about 8x slower, and parallelism comes from worker processes anyway.
The page goes to Tesseract as an uncompressed TIFF file in a temporary directory (issue 18; written in
~7 ms for an A4 page at 300 dpi). Before, an uncompressed PGM went to its stdin, which cost Tesseract
~0.4 s CPU more per A4 page than reading a file: it reads stdin through a character-by-character
stream iterator (8.7 MB) and Leptonica reads PNM one byte at a time. A PNG at zlib level 1 on stdin
reads as fast as the TIFF file but costs ~40 ms to encode; a BMP is read as a palette image and
converted. One recognition run writes both the plain text (whose word spacing is right for Korean; the
TSV splits Korean words into syllables) and the TSV (word confidences and boxes): no second pass.

Preprocessing (measured on tests/samples/images and the corpus PNGs, psm 4, kor+eng): alpha flattened
onto white and grayscale (``grayscale``); deskew by row-profile variance on a ~600 px copy (``deskew``,
on the 2 degree sample English 93.0 -> 99.3 %; since issue 18's second pass measured on 40 sheared
strips of that copy, ~7 ms instead of ~35 ms for an A4 page); upscaling of small text (median ink line under
16 px, 20 px since issue 15: below) by up to 3x (``upscale``; the 96 dpi Flipkart scan: confidence
66.5 -> 87.1, order id found).
Otsu binarisation (``binarize``) runs only on grey paper (the most common level under 240): on white
paper it gains nothing on clean pages and costs -2 to -4 confidence on the Flipkart scan (paper 255),
but on the grey, speckled photocopy tests/samples/images/scan_korean_english_skewed.png (paper 230) it
lifts character accuracy (1 - normalised edit distance, whole page) from 95.7 % to 97.8 %. No
denoising filter: none was measured, so none is applied.

Low resolution (issue 15, the generated invoice, 1 - normalised edit distance): what matters is the
height of the text lines, not the dpi. At 150 dpi (12 pt lines ~23 px) the page reads 99.5 % as it is
and 99.1 % upscaled to 300 dpi (and twice as slow), so it is left alone; at 100 dpi (16 px lines) it
reads 96.7 % as it is and 98.4 % enlarged 1.75x to ~28 px lines, so lines under 20 px are enlarged.

Orientation (``orient``): a page turned 90/180/270 degrees reads as nothing (90, 270: no words) or as
garbage (180: confidence 39, against 93 upright). Tesseract's orientation detector (``--psm 0``,
osd.traineddata) finds the turn, but costs as much as a recognition pass, so it only runs when the
first pass has no words or a mean confidence under 60 (the upright invoice scores 93, the 96 dpi Flipkart
scan 87; turned 90 or 270 degrees the invoice gives no word, turned 180 a confidence of 39): upright
pages never pay for it. The page is turned, prepared again (deskew on the upright page) and read
again; the new reading is kept only when its confidence is higher.
Without osd.traineddata a projection profile decides between sideways (text rows show in the column
profile) and upside down, and the candidate turns are read and compared by confidence.
"""

from __future__ import annotations

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
from fastapi_app.extractors.ocr_preprocess import (
    MIN_SIDE_PX,
    TARGET_DPI,
    PreparedPage,
    prepare_page,
    profile_candidates,
    turn,
)
from fastapi_app.extractors.ocr_tables import OcrWord, tables_from_words

__all__ = [
    "MIN_SIDE_PX",
    "OcrPageError",
    "OcrTimeout",
    "OcrUnavailable",
    "is_available",
    "ocr_image",
    "recognise",
    "turn",
]

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
# Page segmentation 6 (one uniform block of text), chosen per page (issue 18) for pages that are one
# column of text lines of one size on white paper (ocr_preprocess.uniform_text_block): it skips the
# column search, ~30 % less Tesseract CPU on the two-line scanned PDF page and ~20 % on the A4 invoice,
# and read the generated invoice better (character accuracy 98.90 -> 99.53 %). It is not used on
# tables or key/value columns (the corpus table scan read at confidence 54 instead of 94, no table),
# or on grey photocopies (the skewed grey sample 97.8 -> 78.7 %).
UNIFORM_BLOCK_MODE = 6
DEFAULT_STEPS = frozenset({"deskew", "rescale", "orient", "binarize-grey"})

# Below this mean word confidence (or with no word at all) the page may be turned: see the docstring.
ORIENTATION_CHECK_BELOW_CONFIDENCE = 60.0
OSD_LANGUAGE = "osd"


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
    psm: int | None = None,
    timeout_s: float = PAGE_TIMEOUT_S,
) -> OcrPageResult:
    """ocr_image with the knobs exposed, for the benchmark's with/without comparisons. ``psm`` None
    chooses the page segmentation per page (``page_segmentation``)."""
    if not is_available(languages):
        missing = _missing_languages(languages)
        if missing is None:
            raise OcrUnavailable(f"Tesseract ({TESSERACT_CMD}) is not installed or cannot run")
        raise OcrUnavailable(f"Tesseract language data missing: {', '.join(missing) or languages!r}")
    started = time.perf_counter()
    try:
        page = prepare_page(image, source_dpi, steps)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        raise OcrPageError(f"Image could not be prepared for OCR: {short_reason(exc)}") from None
    prepared, dpi, rotated, applied, _ = page
    used_psm = page_segmentation(page, psm)
    text, confidence, words = _run_tesseract(prepared, languages, dpi, used_psm, timeout_s)
    orientation = 0
    if "orient" in steps and _may_be_turned(confidence):
        turned = _reorient(image, prepared, dpi, languages, source_dpi, steps, psm, timeout_s, confidence)
        if turned is not None:
            orientation, (prepared, dpi, rotated, applied, _), (text, confidence, words), method, used_psm = turned
            applied = [*applied, method]
    if confidence is not None and confidence < SPARSE_PASS_BELOW_CONFIDENCE and used_psm != SPARSE_TEXT_MODE:
        # Forms with boxed or scattered fields read poorly as one column; a sparse-text pass finds
        # the fields the column pass dropped, and only its new words are kept.
        sparse, _, _ = _run_tesseract(prepared, languages, dpi, SPARSE_TEXT_MODE, timeout_s)
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
        # from the column pass's word boxes only: the sparse pass reads fields, not table rows
        tables=tables_from_words(words),
    )


def page_segmentation(page: PreparedPage, psm: int | None = None) -> int:
    """``psm`` when given; else 6 for one uniform block of text, 4 for everything else (see the
    constants)."""
    if psm is not None:
        return psm
    return UNIFORM_BLOCK_MODE if page.uniform_block else PAGE_SEGMENTATION_MODE


# --- orientation ----------------------------------------------------------------------------

_Reading = tuple[str, float | None, list[OcrWord]]


def _may_be_turned(confidence: float | None) -> bool:
    return confidence is None or confidence < ORIENTATION_CHECK_BELOW_CONFIDENCE


def _reorient(
    image: Image,
    prepared: Image,
    dpi: int,
    languages: str,
    source_dpi: float | None,
    steps: frozenset[str],
    psm: int | None,
    timeout_s: float,
    confidence: float | None,
) -> tuple[int, PreparedPage, _Reading, str, int] | None:
    """(clockwise turn, the turned page prepared again, its text and confidence, the method, the page
    segmentation used), or None when no turn reads with a higher confidence than the page as it is."""
    osd = osd_rotation(prepared, dpi, timeout_s)
    if osd is None:
        candidates, method = profile_candidates(prepared), "orient-profile"
    else:
        candidates, method = ([osd] if osd else []), "orient-osd"
    best: tuple[int, PreparedPage, _Reading, str, int] | None = None
    best_confidence = confidence if confidence is not None else -1.0
    for degrees in candidates:
        again = prepare_page(turn(image, degrees), source_dpi, steps)
        used_psm = page_segmentation(again, psm)
        text, turned_confidence, words = _run_tesseract(again.image, languages, again.dpi, used_psm, timeout_s)
        if turned_confidence is not None and turned_confidence > best_confidence:
            reading = (text, turned_confidence, words)
            best, best_confidence = (degrees, again, reading, method, used_psm), turned_confidence
    return best


def osd_available() -> bool:
    probe = _probe(TESSERACT_CMD)
    return probe is not None and OSD_LANGUAGE in probe[1]


def osd_rotation(gray: Image, dpi: int = TARGET_DPI, timeout_s: float = PAGE_TIMEOUT_S) -> int | None:
    """Tesseract's orientation detection (``--psm 0``): the clockwise turn (0, 90, 180, 270) that makes
    the page upright; 0 when it cannot tell (too few characters); None without osd.traineddata."""
    if not osd_available():
        return None
    with tempfile.TemporaryDirectory(prefix="osd-") as tmp:
        page = _write_page(gray, dpi, Path(tmp))
        command = [TESSERACT_CMD, str(page), "stdout", "--psm", "0", "--dpi", str(dpi)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, env=_environment())
        except subprocess.TimeoutExpired:
            raise OcrTimeout(f"Orientation detection took longer than {timeout_s:g} s on one page") from None
        except OSError as exc:
            raise OcrUnavailable(f"Tesseract could not be started: {short_reason(exc)}") from None
    match = re.search(r"Rotate:\s*(\d+)", done.stdout.decode("utf-8", "replace"))
    if done.returncode != 0 or match is None:
        return 0
    degrees = int(match.group(1)) % 360
    return degrees if degrees in (90, 180, 270) else 0


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


def _write_page(image: Image, dpi: int, folder: Path) -> Path:
    """The page as Tesseract reads it fastest: see the module docstring."""
    path = folder / "page.tif"
    image.save(path, "TIFF", dpi=(dpi, dpi))
    return path


def _run_tesseract(image: Image, languages: str, dpi: int, psm: int, timeout_s: float) -> _Reading:
    """The page's text, its mean word confidence and its word boxes (from the TSV)."""
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        page = _write_page(image, dpi, Path(tmp))
        base = Path(tmp) / "page"
        command = [TESSERACT_CMD, str(page), str(base), "-l", languages, "--psm", str(psm), "--dpi", str(dpi)]
        try:
            done = subprocess.run([*command, "txt", "tsv"], capture_output=True, timeout=timeout_s, env=_environment())
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
    return clean_text(raw_text), _mean_confidence(tsv), words_from_tsv(tsv)


def clean_text(raw: str) -> str:
    """Tesseract's lines in reading order; runs of spaces collapsed, no trailing whitespace, at most
    one blank line between blocks, no form feed."""
    lines = [_SPACES.sub(" ", line).strip() for line in raw.replace("\f", "\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def words_from_tsv(tsv: str) -> list[OcrWord]:
    """The recognised words with their boxes (pixels of the image Tesseract read) and line keys."""
    words: list[OcrWord] = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        try:
            block, par, line, left, top, width, height = (int(f) for f in fields[2:5] + fields[6:10])
        except ValueError:
            continue
        words.append(OcrWord(fields[11].strip(), left, top, left + width, top + height, (block, par, line)))
    return words


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
