"""Deterministic image samples for the image/OCR tests.

    .venv/bin/python -m tests.samples.make_images

Writes into tests/samples/images/: an A4 Korean/English business page at 300 dpi (plus its ground
truth), a skewed and noisy copy, a copy stored sideways with an EXIF Orientation tag, a phone-style
JPEG with GPS at Seoul City Hall, and one with a broken GPS block. Run again after changing this file;
the output only depends on Pillow and the NanumGothic font.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, TiffImagePlugin

OUT = Path(__file__).resolve().parent / "images"
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
DPI = 300
A4_PX = (2480, 3508)  # 210 x 297 mm at 300 dpi
MARGIN = 236  # 20 mm
FONT_PT = 12

HEADER_LINES = [
    "거래명세서",
    "송장번호: INV-2026-0315",
    "발행일: 2026년 3월 15일",
    "공급자: 주식회사 한빛상사",
    "사업자등록번호: 123-45-67890",
    "공급받는자: 주식회사 새봄유통",
    "품목: 사무용품 외 3건",
    "공급가액: 1,000,000원",
    "부가세: 100,000원",
    "합계 금액: 1,100,000원",
    "Invoice Number 42183017",
    "Total due: 1,100,000 KRW",
]
KOREAN_PARAGRAPH = [
    "본 거래명세서는 2026년 3월 15일에 발행되었습니다.",
    "물품을 받으신 후 수량과 상태를 확인하여 주시기 바랍니다.",
    "대금은 발행일로부터 삼십 일 이내에 아래 계좌로 보내 주십시오.",
    "문의 사항이 있으시면 영업부 담당자에게 연락해 주시기 바랍니다.",
    "항상 저희 회사를 이용해 주셔서 진심으로 감사드립니다.",
]
ENGLISH_PARAGRAPH = [
    "Thank you for your business. Payment is due within thirty days.",
    "Goods remain the property of the seller until they are paid in full.",
    "Please quote the invoice number on every payment and letter.",
    "Questions about this invoice may be sent to our accounts team.",
]
PARAGRAPHS = [HEADER_LINES, KOREAN_PARAGRAPH, ENGLISH_PARAGRAPH]

SEOUL_CITY_HALL = (37.5666, 126.9784, 38)


def ground_truth() -> str:
    return "\n\n".join("\n".join(lines) for lines in PARAGRAPHS) + "\n"


def render_page() -> Image.Image:
    font = ImageFont.truetype(str(FONT), round(FONT_PT * DPI / 72))
    page = Image.new("L", A4_PX, 255)
    draw = ImageDraw.Draw(page)
    line_height = round(FONT_PT * DPI / 72 * 1.6)
    y = MARGIN
    for lines in PARAGRAPHS:
        for line in lines:
            draw.text((MARGIN, y), line, font=font, fill=0)
            y += line_height
        y += line_height  # blank line between paragraphs
    return page


def skewed_noisy(page: Image.Image, degrees: float = 2.0, seed: int = 20260315) -> Image.Image:
    """A slightly crooked, grey, speckled photocopy of the page."""
    rotated = page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    # Grey paper and slightly faded toner, like a cheap copier.
    faded = rotated.point(lambda v: 40 + v * 190 // 255)
    rng = random.Random(seed)
    pixels = faded.load()
    width, height = faded.size
    for _ in range(width * height // 400):  # 0.25 % speckles, dark and light
        x, y = rng.randrange(width), rng.randrange(height)
        pixels[x, y] = rng.choice((0, 90, 255))
    return faded


def _rational(value: float, denominator: int = 10_000) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(round(value * denominator), denominator)


def dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    degrees = int(value)
    minutes_float = (value - degrees) * 60
    minutes = int(minutes_float)
    seconds = (minutes_float - minutes) * 60
    return (
        TiffImagePlugin.IFDRational(degrees, 1),
        TiffImagePlugin.IFDRational(minutes, 1),
        _rational(seconds, 100),
    )


def _photo() -> Image.Image:
    """A small smooth gradient: looks like a photo to a decoder, and has no text in it."""
    gradient = Image.linear_gradient("L").resize((320, 240))
    return Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient))


def camera_exif(img: Image.Image) -> Image.Exif:
    exif = img.getexif()
    exif[0x010F] = "Samsung"  # Make
    exif[0x0110] = "SM-S918N"  # Model
    exif[0x0132] = "2026:03:15 14:30:00"  # DateTime
    exif.get_ifd(0x8769)[0x9003] = "2026:03:15 14:30:00"  # DateTimeOriginal
    exif.get_ifd(0x8769)[0x9011] = "+09:00"  # OffsetTimeOriginal
    return exif


def photo_gps_seoul(path: Path) -> None:
    img = _photo()
    exif = camera_exif(img)
    lat, lon, altitude = SEOUL_CITY_HALL
    exif.get_ifd(0x8825).update(
        {
            0: b"\x02\x03\x00\x00",  # GPSVersionID
            1: "N",
            2: dms(lat),
            3: "E",
            4: dms(lon),
            5: b"\x00",  # above sea level
            6: TiffImagePlugin.IFDRational(altitude, 1),
        }
    )
    img.save(path, "JPEG", quality=85, exif=exif)


def photo_bad_gps(path: Path) -> None:
    """Zero denominators in the latitude, as some broken firmware writes when it has no fix."""
    img = _photo()
    exif = camera_exif(img)
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: (TiffImagePlugin.IFDRational(37, 0), TiffImagePlugin.IFDRational(33, 0), _rational(0)),
            3: "E",
            4: dms(SEOUL_CITY_HALL[1]),
        }
    )
    img.save(path, "JPEG", quality=85, exif=exif)


def scan_rotated_exif(page: Image.Image, path: Path) -> None:
    # Orientation 6 means "turn 90° clockwise to display": store the page turned the other way.
    stored = page.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, "JPEG", quality=90, dpi=(DPI, DPI), exif=exif)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page = render_page()
    page.save(OUT / "scan_korean_english.png", dpi=(DPI, DPI), optimize=True)
    (OUT / "scan_korean_english.txt").write_text(ground_truth(), encoding="utf-8")
    skewed_noisy(page).save(OUT / "scan_korean_english_skewed.png", dpi=(DPI, DPI), optimize=True)
    scan_rotated_exif(page, OUT / "scan_rotated_exif.jpg")
    photo_gps_seoul(OUT / "photo_gps_seoul.jpg")
    photo_bad_gps(OUT / "photo_bad_gps.jpg")
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>9,}  {path.relative_to(OUT.parent.parent.parent)}")


if __name__ == "__main__":
    main()
