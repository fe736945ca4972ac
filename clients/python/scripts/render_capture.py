"""Render `tmux capture-pane -p -e` output (text with ANSI colours) as a PNG, Hangul included.

    python clients/python/scripts/render_capture.py docs/screenshots/cli-progress.txt docs/screenshots/cli-progress.png

Sections of the text file start with a line `## title`; each becomes a titled panel. Needs Pillow and
a monospace font with Hangul (Debian's fonts-nanum: NanumGothicCoding).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/nanum/NanumGothicCoding.ttf"
BOLD = "/usr/share/fonts/truetype/nanum/NanumGothicCodingBold.ttf"
SIZE, CELL_W, CELL_H, PAD = 16, 9, 20, 14
BACKGROUND, FOREGROUND = (30, 30, 30), (220, 220, 220)
BASIC = [(0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200), (188, 63, 188), (17, 168, 205),
         (229, 229, 229)]  # fmt: skip
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def xterm256(n: int) -> tuple[int, int, int]:
    if n < 8:
        return BASIC[n]
    if n < 16:
        return tuple(min(255, c + 60) for c in BASIC[n - 8])  # type: ignore[return-value]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return steps[n // 36], steps[(n // 6) % 6], steps[n % 6]
    grey = 8 + (n - 232) * 10
    return grey, grey, grey


def cells(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def spans(line: str) -> list[tuple[str, tuple[int, int, int], bool]]:
    """(text, colour, bold) runs of one line."""
    colour, bold, out, position = FOREGROUND, False, [], 0
    for match in SGR.finditer(line):
        if match.start() > position:
            out.append((line[position : match.start()], colour, bold))
        codes = [int(c) for c in match.group(1).split(";") if c] or [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                colour, bold = FOREGROUND, False
            elif code == 1:
                bold = True
            elif code == 22:
                bold = False
            elif 30 <= code <= 37:
                colour = BASIC[code - 30]
            elif 90 <= code <= 97:
                colour = xterm256(code - 90 + 8)
            elif code == 39:
                colour = FOREGROUND
            elif code == 38 and i + 2 < len(codes) and codes[i + 1] == 5:
                colour, i = xterm256(codes[i + 2]), i + 2
            elif code == 38 and i + 4 < len(codes) and codes[i + 1] == 2:
                colour, i = (codes[i + 2], codes[i + 3], codes[i + 4]), i + 4
            i += 1
        position = match.end()
    out.append((line[position:], colour, bold))
    return out


def render(text: str, target: Path) -> None:
    panels: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            panels.append((line[3:], []))
        elif panels:
            panels[-1][1].append(line)
    for _, lines in panels:
        while lines and not SGR.sub("", lines[-1]).strip():
            lines.pop()
    width = max(sum(cells(ch) for ch in SGR.sub("", line)) for _, lines in panels for line in lines) + 2
    height = sum(len(lines) + 2 for _, lines in panels)
    image = Image.new("RGB", (width * CELL_W + 2 * PAD, height * CELL_H + 2 * PAD), BACKGROUND)
    draw = ImageDraw.Draw(image)
    regular, bold_font = ImageFont.truetype(FONT, SIZE), ImageFont.truetype(BOLD, SIZE)
    row = 0
    for title, lines in panels:
        draw.text((PAD, PAD + row * CELL_H), f"— {title}", font=bold_font, fill=(120, 160, 255))
        row += 1
        for line in lines:
            column = 0
            for chunk, colour, bold in spans(line):
                for char in chunk:
                    draw.text((PAD + column * CELL_W, PAD + row * CELL_H), char, font=bold_font if bold else regular,
                              fill=colour)  # fmt: skip
                    column += cells(char)
            row += 1
        row += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target)


if __name__ == "__main__":
    render(Path(sys.argv[1]).read_text(encoding="utf-8"), Path(sys.argv[2]))
