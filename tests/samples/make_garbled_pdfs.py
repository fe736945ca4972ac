"""PDFs whose page looks right but whose text layer is unusable, for the OCR fallback tests.

    .venv/bin/python -m tests.samples.make_garbled_pdfs OUT_DIR

Each page draws a Korean/English invoice with NanumGothic embedded as a Type0 (Identity-H) CID font:
the glyphs are right, so the rendered page reads correctly, but the text layer is

- ``no_tounicode``: the font has no ToUnicode map (pdfium cannot map the glyph ids to characters);
- ``private_use``: a ToUnicode map sending every glyph to the Private Use Area (U+E000...);
- ``mojibake``: a ToUnicode map sending every Korean glyph to its UTF-8 bytes read as Latin-1
  ("송" -> "ì†¡"), the soup a wrong code page leaves.

``clean`` has the correct ToUnicode map (the control: never OCRed). Written by hand (no reportlab):
reportlab embeds TrueType as simple fonts, never as the CID fonts these failures come from. The full
font file is embedded (about 2.5 MB a file), so build them in a temporary directory.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Literal

FONT_PATH = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")

Kind = Literal["clean", "no_tounicode", "private_use", "mojibake"]
KINDS: tuple[Kind, ...] = ("clean", "no_tounicode", "private_use", "mojibake")

INVOICE_NUMBER = "INV-2026-0415"
LINES = [
    "거래명세서",
    f"송장번호: {INVOICE_NUMBER}",
    "발행일: 2026년 4월 15일",
    "공급자: 주식회사 한빛상사",
    "합계 금액: 2,200,000원",
    "Invoice Number 42183017",
]
_FONT_SIZE = 16
_PAGE = (595, 842)  # A4 in pt


@cache
def _font() -> tuple[bytes, dict[int, int], dict[int, int]]:
    """(font file, unicode -> glyph id, glyph id -> width in 1/1000 em)."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    parsed = TTFontFile(str(FONT_PATH))
    widths = {parsed.charToGlyph[c]: round(w) for c, w in parsed.charWidths.items() if c in parsed.charToGlyph}
    return FONT_PATH.read_bytes(), dict(parsed.charToGlyph), widths


def _to_unicode(kind: Kind) -> Callable[[str], str] | None:
    if kind == "no_tounicode":
        return None
    if kind == "private_use":
        return lambda char: chr(0xE000 + ord(char) % 0x1800)
    if kind == "mojibake":
        return lambda char: char.encode("utf-8").decode("latin-1")
    return lambda char: char


def _cmap(mapping: dict[int, str]) -> bytes:
    entries = [f"<{gid:04X}> <{''.join(f'{u:04X}' for u in _utf16(text))}>" for gid, text in sorted(mapping.items())]
    body = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for start in range(0, len(entries), 100):
        chunk = entries[start : start + 100]
        body += [f"{len(chunk)} beginbfchar", *chunk, "endbfchar"]
    body += ["endcmap CMapName currentdict /CMap defineresource pop end end"]
    return "\n".join(body).encode("ascii")


def _utf16(text: str) -> list[int]:
    data = text.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def write(path: Path, kind: Kind, lines: list[str] = LINES) -> Path:
    font_file, glyphs, widths = _font()
    used: dict[int, str] = {}
    content = ["BT", f"/F1 {_FONT_SIZE} Tf", f"{_FONT_SIZE * 1.8:.1f} TL", f"72 {_PAGE[1] - 100} Td"]
    for line in lines:
        ids = []
        for char in line:
            gid = glyphs.get(ord(char), 0)
            used.setdefault(gid, char)
            ids.append(gid)
        content.append("<" + "".join(f"{gid:04X}" for gid in ids) + "> Tj T*")
    content.append("ET")
    stream = "\n".join(content).encode("ascii")
    w_array = " ".join(f"{gid} [{widths.get(gid, 1000)}]" for gid in sorted(used))

    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream_object(data: bytes, extra: str = "") -> bytes:
        packed = zlib.compress(data)
        return f"<< /Length {len(packed)} /Filter /FlateDecode {extra}>>\nstream\n".encode() + packed + b"\nendstream"

    catalog = add(b"")
    pages = add(b"")
    page = add(b"")
    contents = add(stream_object(stream))
    font_stream = add(stream_object(font_file, f"/Length1 {len(font_file)} "))
    descriptor = add(
        f"<< /Type /FontDescriptor /FontName /NanumGothic /Flags 4 /FontBBox [-1000 -300 2000 1000] "
        f"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 /FontFile2 {font_stream} 0 R >>".encode()
    )
    cid_font = add(
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NanumGothic "
        f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {descriptor} 0 R /CIDToGIDMap /Identity /DW 1000 /W [{w_array}] >>".encode()
    )
    mapping = _to_unicode(kind)
    to_unicode = ""
    if mapping is not None:
        cmap = add(stream_object(_cmap({gid: mapping(char) for gid, char in used.items()})))
        to_unicode = f" /ToUnicode {cmap} 0 R"
    font = add(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /NanumGothic /Encoding /Identity-H "
        f"/DescendantFonts [{cid_font} 0 R]{to_unicode} >>".encode()
    )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages} 0 R >>".encode()
    objects[pages - 1] = f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode()
    objects[page - 1] = (
        f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {_PAGE[0]} {_PAGE[1]}] "
        f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {contents} 0 R >>".encode()
    )

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [write(out / f"garbled_{kind}.pdf", kind) for kind in KINDS]


if __name__ == "__main__":
    for written in main(Path(sys.argv[1])):
        print(written)
