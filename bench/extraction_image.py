"""Images: EXIF/GPS rate without decoding pixels, and OCR seconds per A4 page.

    .venv/bin/python -m bench.extraction_image [--runs 5]

1. A 12-MP JPEG (4000x3000, camera EXIF and GPS) is extracted with OCR disabled, as many times as
   fit in ~2 s: images/s, against Pillow opening and fully decoding the same file (baseline).
2. The 300-dpi A4 scan tests/samples/images/scan_korean_english.png is recognised with kor+eng
   on one core: seconds/page of our OCR (preprocessing included) against the plain `tesseract`
   command on the same PNG (OMP_THREAD_LIMIT=1).
Median of `--runs` runs with min-max; peak RSS of this process and of the Tesseract children.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from fastapi_app.extractors import image as image_extractor
from fastapi_app.extractors import ocr
from fastapi_app.extractors.base import ExtractionContext
from tests.samples.make_images import camera_exif, dms
from tests.support.stack import ROOT

SCAN = ROOT / "tests" / "samples" / "images" / "scan_korean_english.png"


def make_12mp_jpeg(path: Path) -> Path:
    from PIL import Image, TiffImagePlugin

    img = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    exif = camera_exif(img)
    exif.get_ifd(0x8825).update(
        {1: "N", 2: dms(37.5666), 3: "E", 4: dms(126.9784), 6: TiffImagePlugin.IFDRational(38, 1)}
    )
    img.save(path, "JPEG", quality=90, exif=exif)
    return path


def exif_rate(path: Path, seconds: float = 2.0) -> float:
    data = path.read_bytes()
    ctx = ExtractionContext(
        path=path, mime_type="image/jpeg", file_type="image", size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(), ocr_enabled=False,
    )  # fmt: skip
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        result = image_extractor.extract(ctx)
        assert result.image is not None and result.image.gps is not None
        count += 1
    return count / (time.perf_counter() - started)


def decode_rate(path: Path, seconds: float = 2.0) -> float:
    from PIL import Image

    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        with Image.open(path) as img:
            img.load()
        count += 1
    return count / (time.perf_counter() - started)


def ocr_seconds() -> float:
    from PIL import Image

    started = time.perf_counter()
    with Image.open(SCAN) as img:
        page = ocr.recognise(img, "kor+eng", source_dpi=300)
    assert "INV-2026-0315" in page.text
    return time.perf_counter() - started


def tesseract_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        ["tesseract", str(SCAN), "-", "-l", "kor+eng", "--psm", "4"],
        check=True, capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )  # fmt: skip
    return time.perf_counter() - started


def _row(name: str, values: list[float], unit: str) -> str:
    return f"| {name} | {statistics.median(values):.2f} {unit} | {min(values):.2f}-{max(values):.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jpeg = make_12mp_jpeg(Path(tmp) / "camera.jpg")
        ours_exif = [exif_rate(jpeg) for _ in range(args.runs)]
        decoded = [decode_rate(jpeg) for _ in range(args.runs)]
    ours_ocr = [ocr_seconds() for _ in range(args.runs)]
    plain_ocr = [tesseract_seconds() for _ in range(args.runs)]
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"| measure (median of {args.runs}) | value | min-max |")
    print("|---|---|---|")
    print(_row("EXIF+GPS of a 12-MP JPEG, OCR off", ours_exif, "images/s"))
    print(_row("Pillow full decode of the same JPEG (baseline)", decoded, "images/s"))
    print(_row("OCR, A4 at 300 dpi, kor+eng, one core", ours_ocr, "s/page"))
    print(_row("plain `tesseract --psm 4` on the same page (baseline)", plain_ocr, "s/page"))
    print(f"| peak RSS: this process / Tesseract child | {self_rss:.0f} / {child_rss:.0f} MiB | |")


if __name__ == "__main__":
    main()
