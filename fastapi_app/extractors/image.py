"""Image extraction with Pillow: format and geometry, EXIF with readable names, GPS in decimal degrees,
and OCR of the picture (EXIF orientation applied first).

Metadata comes from the header alone: no pixel is decoded unless OCR runs, so with OCR off an
extraction costs well under a millisecond even for a 12-MP photo. Truncation is then detected from
the file's end marker (JPEG, PNG) instead of by decoding.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors import ocr
from fastapi_app.extractors.base import (
    CorruptFileError,
    ExtractionContext,
    ExtractionResult,
    FamilyExtractor,
    GpsInfo,
    ImageContent,
    ImageTooLargeError,
    OcrPageResult,
    not_about_the_file,
    short_reason,
)

if TYPE_CHECKING:
    from PIL import Image as PILImage

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_INTEROP_IFD = 0xA005
_MAKER_NOTE = 0x927C
_GPS_UNREADABLE = -1  # marker key: the GPS IFD exists but could not be parsed
_USER_COMMENT = 0x9286
# EXIF date tag -> the tag holding its UTC offset (EXIF 2.31).
_DATE_TAGS = {0x0132: 0x9010, 0x9003: 0x9011, 0x9004: 0x9012}

# Long binary blobs and long arrays (strip offsets, maker notes, XMP packets) only bloat the JSON.
_MAX_BYTES_TEXT = 1024
_MAX_BYTES_HEX = 64
_MAX_LIST = 64
_SKIP = object()

_ORIENTATION = 0x0112
# IFD1 (the thumbnail's IFD): a JPEG preview (offset 0x0201, length 0x0202) or strips (0x0111)
_THUMBNAIL_JPEG_OFFSET = 0x0201
_THUMBNAIL_JPEG_LENGTH = 0x0202
_THUMBNAIL_STRIPS = 0x0111
_MAX_OCR_FRAMES = 50  # multi-page TIFF faxes and scans; further pages are counted, not read
_TAIL_BYTES = 65_536  # phones append trailers after a JPEG's end marker; it is still near the end

_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_UTC_OFFSET = re.compile(r"^\s*[+\-]\d{2}:\d{2}\s*$")
_USER_COMMENT_PREFIXES = {b"ASCII\x00\x00\x00": "ascii", b"UNICODE\x00": "utf-16", b"\x00" * 8: "ascii"}


def _extract(ctx: ExtractionContext) -> ExtractionResult:
    from PIL import Image, UnidentifiedImageError

    result = ExtractionResult.for_context(ctx)
    # Pillow's own bomb check uses a process-wide limit; ours comes from the context, so Pillow's
    # warning is recorded (not printed) and the decision is made against ctx.max_image_pixels below.
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        try:
            with Image.open(ctx.path) as img:
                result.image = _describe(ctx, img, result)
                _pixels(ctx, img, result.image, result)
        except (ImageTooLargeError, CorruptFileError):
            raise
        except FileNotFoundError:
            raise
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"Image is too large to decode safely: {short_reason(exc)}") from None
        except UnidentifiedImageError:
            raise CorruptFileError("Not a readable image (unknown or damaged header)") from None
        except Exception as exc:  # Pillow raises many types for broken headers
            if not_about_the_file(exc):
                raise
            raise CorruptFileError(f"Image could not be read: {short_reason(exc)}") from None
    return result


EXTRACTOR = FamilyExtractor(name="image", version="1.1", run=_extract)
extract = EXTRACTOR.extract


def _describe(ctx: ExtractionContext, img: PILImage.Image, result: ExtractionResult) -> ImageContent:
    from PIL import Image

    width, height = img.size
    # Checked before any pixel data is decoded, so a small file claiming a huge canvas costs nothing.
    if width * height > ctx.max_image_pixels:
        raise ImageTooLargeError(
            f"Image is {width}x{height} = {width * height} pixels, above the limit of {ctx.max_image_pixels}"
        )
    content = ImageContent(
        format=img.format or "UNKNOWN",
        width=width,
        height=height,
        mode=img.mode,
        dpi=_dpi(img.info.get("dpi")),
    )
    truncated: list[str] = []

    try:
        content.frames = int(getattr(img, "n_frames", 1) or 1)
        if content.frames > 1:
            _check_every_frame(ctx, img, content.frames)
    except (Image.DecompressionBombError, ImageTooLargeError):
        raise
    except Exception as exc:  # counting frames reads to the end of the file
        if not_about_the_file(exc):
            raise
        truncated.append(f"frame count: {short_reason(exc)}")

    try:
        exif = img.getexif()
    except Image.DecompressionBombError:
        raise
    except OSError as exc:
        truncated.append(f"EXIF: {short_reason(exc)}")
        exif = None
    except Exception as exc:  # malformed EXIF should not hide the picture
        if not_about_the_file(exc):
            raise
        result.warn("INVALID_EXIF", f"EXIF block could not be parsed: {short_reason(exc)}")
        exif = None
    if exif is not None:
        content.exif, gps_raw = _exif_to_dict(exif, result)
        content.gps = _gps_from_ifd(gps_raw, result)
        content.has_thumbnail = _has_thumbnail(exif)

    if truncated:
        result.warn(
            "TRUNCATED_IMAGE",
            "Header read, but the file is damaged or cut short (" + "; ".join(truncated) + ")",
        )
    return content


def _check_every_frame(ctx: ExtractionContext, img: PILImage.Image, frames: int) -> None:
    """The pixel cap applies to each frame: a multi-page TIFF's second page may claim any size, and
    Pillow's own bomb check looks at the first only. Seeking reads a frame's header, not its pixels."""
    try:
        for index in range(1, frames):
            img.seek(index)
            width, height = img.size
            if width * height > ctx.max_image_pixels:
                raise ImageTooLargeError(
                    f"Frame {index + 1} of {frames} is {width}x{height} = {width * height} pixels, "
                    f"above the limit of {ctx.max_image_pixels}"
                )
    finally:
        img.seek(0)


def _pixels(ctx: ExtractionContext, img: PILImage.Image, content: ImageContent, result: ExtractionResult) -> None:
    """OCR when it can run (decoding the pixels, which also proves they are complete); otherwise
    only the cheap end-of-file check for truncation."""
    if not ctx.ocr_enabled:
        result.warn("OCR_DISABLED", "OCR is switched off; the image text was not read")
    elif not ocr.is_available(ctx.ocr_languages):
        result.warn("OCR_UNAVAILABLE", f"Tesseract with {ctx.ocr_languages} is not installed; text was not read")
    else:
        _ocr(ctx, img, content, result)
        return
    problem = _cut_short(ctx, img)
    if problem:
        result.warn("TRUNCATED_IMAGE", f"Header read, but the file is damaged or cut short ({problem})")


def _cut_short(ctx: ExtractionContext, img: PILImage.Image) -> str | None:
    from PIL import Image

    marker = {"JPEG": b"\xff\xd9", "MPO": b"\xff\xd9", "PNG": b"IEND"}.get(img.format or "")
    if marker is not None:
        try:
            with open(ctx.path, "rb") as fh:
                fh.seek(max(0, ctx.path.stat().st_size - _TAIL_BYTES))
                tail = fh.read()
        except OSError as exc:
            return f"file: {short_reason(exc)}"
        return None if marker in tail else "end-of-image marker missing"
    try:
        img.load()  # formats without an end marker: decoding is the only check
    except Image.DecompressionBombError:
        raise
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return f"pixel data: {short_reason(exc)}"
    return None


def _ocr(ctx: ExtractionContext, img: PILImage.Image, content: ImageContent, result: ExtractionResult) -> None:
    from PIL import Image, ImageOps

    orientation = _orientation(img)
    source_dpi = content.dpi[0] if content.dpi and content.dpi[0] >= 50 else None
    # Animated GIF/WebP frames repeat one picture; only TIFF pages are separate documents.
    count = min(content.frames, _MAX_OCR_FRAMES, max(1, ctx.max_pages)) if img.format == "TIFF" else 1
    pages: list[OcrPageResult] = []
    for index in range(count):
        try:
            if index:
                img.seek(index)
            frame = img.copy()  # decodes: a truncated file fails here
            upright = ImageOps.exif_transpose(frame) if orientation else frame
        except Image.DecompressionBombError:
            raise
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            where = f"page {index + 1}: " if count > 1 else ""
            result.warn(
                "TRUNCATED_IMAGE",
                f"Header read, but the pixel data is damaged or cut short ({where}{short_reason(exc)})",
            )
            break
        if min(upright.size) < ocr.MIN_SIDE_PX or _is_blank(upright):
            continue  # too small to hold text, or one flat colour
        try:
            pages.append(ocr.ocr_image(upright, ctx, source_dpi=source_dpi))
        except ocr.OcrTimeout as exc:
            result.warn("OCR_TIMEOUT", str(exc))
        except ocr.OcrPageError as exc:
            result.warn("OCR_FAILED", str(exc))
        except ocr.OcrUnavailable as exc:
            result.warn("OCR_UNAVAILABLE", str(exc))
            break
        if count > 1:
            ctx.progress(index + 1, count, "ocr")
    if orientation and pages:
        content.orientation_applied = orientation
    if not pages:
        return
    content.ocr = pages[0]
    result.ocr = ocr.summarize(pages, ctx)
    result.text = "\n\n".join(page.text for page in pages if page.text)
    result.timings_ms["ocr"] = result.ocr.duration_ms
    if count < content.frames and img.format == "TIFF":
        result.warn("OCR_PAGE_LIMIT", f"Only the first {count} of {content.frames} pages were read")


def _is_blank(frame: PILImage.Image) -> bool:
    low, high = frame.convert("L").getextrema()
    return bool(low == high)


def _orientation(img: PILImage.Image) -> int | None:
    """The EXIF Orientation that changes the picture (2-8), or None."""
    try:
        value = img.getexif().get(_ORIENTATION)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return None
    return value if isinstance(value, int) and 2 <= value <= 8 else None


def _dpi(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return None
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(x) and math.isfinite(y)) or x <= 0 or y <= 0:
        return None
    return (round(x, 4), round(y, 4))


# --- EXIF -----------------------------------------------------------------------------------


def _has_thumbnail(exif: Any) -> bool:
    from PIL.ExifTags import IFD

    try:
        ifd1 = exif.get_ifd(IFD.IFD1)
    except Exception as exc:  # a damaged IFD1 means no readable thumbnail, not a failed extraction
        if not_about_the_file(exc):
            raise
        return False
    if ifd1.get(_THUMBNAIL_STRIPS):
        return True
    return bool(ifd1.get(_THUMBNAIL_JPEG_OFFSET)) and bool(ifd1.get(_THUMBNAIL_JPEG_LENGTH))


def _exif_to_dict(exif: Any, result: ExtractionResult) -> tuple[dict[str, Any], dict[int, Any]]:
    """Readable EXIF (IFD0 merged with the Exif sub-IFD) and the raw GPS IFD for coordinate maths."""
    from PIL.ExifTags import GPSTAGS, TAGS

    raw: dict[int, Any] = dict(exif.items())
    for ifd in (_EXIF_IFD,):
        try:
            raw.update(exif.get_ifd(ifd))
        except Exception as exc:
            if not_about_the_file(exc):
                raise
            result.warn("INVALID_EXIF", f"EXIF sub-IFD could not be parsed: {short_reason(exc)}")
    try:
        gps_raw: dict[int, Any] = dict(exif.get_ifd(_GPS_IFD)) if _GPS_IFD in exif else {}
    except Exception as exc:  # reported as INVALID_GPS by the caller
        if not_about_the_file(exc):
            raise
        gps_raw = {_GPS_UNREADABLE: None}

    out: dict[str, Any] = {}
    for tag, value in raw.items():
        if tag in (_MAKER_NOTE, _INTEROP_IFD):
            continue
        if tag == _GPS_IFD:
            # The IFD offset is meaningless to clients; its decoded tags are not.
            out["GPSInfo"] = {
                GPSTAGS.get(k, f"GPSTag0x{k:04X}"): v
                for k, v in ((k, _json_safe(v)) for k, v in gps_raw.items())
                if v is not _SKIP and k != _GPS_UNREADABLE
            }
            continue
        safe = _user_comment(value) if tag == _USER_COMMENT else _json_safe(value)
        if safe is not _SKIP:
            out[TAGS.get(tag, f"Tag0x{tag:04X}")] = safe

    for date_tag, offset_tag in _DATE_TAGS.items():
        iso = _exif_date_to_iso(raw.get(date_tag), raw.get(offset_tag))
        if iso:
            out[f"{TAGS[date_tag]}_iso"] = iso
    return out, gps_raw


def _json_safe(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, bytes):
        return _bytes_value(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (tuple, list)):
        if len(value) > _MAX_LIST or depth > 3:
            return _SKIP
        items = [_json_safe(v, depth + 1) for v in value]
        return [None if v is _SKIP else v for v in items]
    if isinstance(value, dict):
        pairs = ((str(k), _json_safe(v, depth + 1)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not _SKIP}
    number = _rational(value)
    if number is not None:
        return number if math.isfinite(number) else None
    return _SKIP


def _rational(value: Any) -> float | None:
    """IFDRational / Fraction / (num, den) -> float; NaN for a zero denominator, None if not numeric."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0] / value[1] if value[1] else math.nan
    if isinstance(value, (int, float, Fraction)) and not isinstance(value, bool):
        return float(value)
    denominator = getattr(value, "denominator", None)
    if denominator is not None:
        if denominator == 0:
            return math.nan
        try:
            return float(value)
        except (TypeError, ValueError, ZeroDivisionError):
            return math.nan
    return None


def _bytes_value(value: bytes) -> Any:
    stripped = value.rstrip(b"\x00")
    if stripped and len(stripped) <= _MAX_BYTES_TEXT and all(32 <= b < 127 for b in stripped):
        return stripped.decode("ascii").strip()
    if len(value) <= 4:
        # Version numbers and reference bytes (GPSVersionID, GPSAltitudeRef) read best as ints.
        return list(value)
    if len(value) <= _MAX_BYTES_HEX:
        return value.hex()
    return _SKIP


def _user_comment(value: Any) -> Any:
    if isinstance(value, bytes):
        for prefix, encoding in _USER_COMMENT_PREFIXES.items():
            if value.startswith(prefix):
                text = value[len(prefix) :].decode(encoding, errors="replace").replace("\x00", "").strip()
                return text if text else _SKIP
    return _json_safe(value)


def _exif_date_to_iso(value: Any, offset: Any) -> str | None:
    """EXIF "2008:08:11 14:32:12" -> "2008-08-11T14:32:12" (+ "+02:00" when the offset tag is set)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="ignore")
    if not isinstance(value, str):
        return None
    match = _EXIF_DATE.match(value)
    if not match:
        return None
    try:
        parsed = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None  # "0000:00:00 00:00:00" placeholders from cameras without a clock
    iso = parsed.isoformat()
    if isinstance(offset, str) and _UTC_OFFSET.match(offset):
        iso += offset.strip()
    return iso


# --- GPS ------------------------------------------------------------------------------------


class _InvalidGps(ValueError):
    pass


def _gps_from_ifd(gps: dict[int, Any], result: ExtractionResult) -> GpsInfo | None:
    if not gps:
        return None
    # An IFD with neither coordinate (only a version tag) means "no fix", which is not an error.
    if 2 not in gps and 4 not in gps and _GPS_UNREADABLE not in gps:
        return None
    try:
        latitude = _coordinate(gps.get(2), gps.get(1), "NS", 90.0)
        longitude = _coordinate(gps.get(4), gps.get(3), "EW", 180.0)
    except _InvalidGps as exc:
        result.warn("INVALID_GPS", f"GPS block ignored: {exc}")
        return None
    return GpsInfo(latitude=latitude, longitude=longitude, altitude_m=_altitude(gps.get(6), gps.get(5)))


def _coordinate(value: Any, ref: Any, allowed_refs: str, limit: float) -> float:
    if value is None or ref is None:
        raise _InvalidGps("coordinate or its reference is missing")
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", errors="ignore")
    ref = str(ref).replace("\x00", "").strip().upper()
    if len(ref) != 1 or ref not in allowed_refs:
        raise _InvalidGps(f"reference {ref!r} is not one of {allowed_refs}")
    parts = list(value) if isinstance(value, (tuple, list)) else [value]
    if not 1 <= len(parts) <= 3:
        raise _InvalidGps("coordinate does not have degrees/minutes/seconds")
    numbers = [_rational(p) for p in parts]
    if any(n is None or not math.isfinite(n) or n < 0 for n in numbers):
        raise _InvalidGps("coordinate has a zero denominator or a non-numeric part")
    if any(n >= 60 for n in numbers[1:]):  # type: ignore[operator]
        raise _InvalidGps("minutes or seconds out of range")
    degrees = sum(n / 60**i for i, n in enumerate(numbers))  # type: ignore[operator]
    if degrees > limit:
        raise _InvalidGps(f"{degrees:.6f} is outside ±{limit:g}")
    return round(-degrees if ref in "SW" else degrees, 7)


def _altitude(value: Any, ref: Any) -> float | None:
    altitude = _rational(value)
    if altitude is None or not math.isfinite(altitude):
        return None
    below_sea_level = ref in (1, b"\x01") or (isinstance(ref, (tuple, list)) and list(ref) == [1])
    return round(-altitude if below_sea_level else altitude, 3)
