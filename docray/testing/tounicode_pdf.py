"""One-page PDFs written by hand in an embedded TrueType font with a ToUnicode map of the test's choosing.

The text is drawn with the font's real glyphs (a Type0 font, ``Identity-H``, character code = glyph
index), so the page renders as written; the ToUnicode CMap says which Unicode text each glyph stands
for.  ``unicode_of`` decides that text per character: the character itself gives a correct map
(characters outside the Basic Multilingual Plane, such as ``𝑥`` U+1D465, are written as UTF-16
surrogate pairs, as PDF requires); anything else gives a deliberately broken one, e.g. every code
point shifted, or mapped into the Private Use Area.

The default font is matplotlib's STIX General (it has Latin, Greek, Cyrillic, math operators and the
Mathematical Alphanumeric Symbols); fontTools subsets it, keeping glyph indices.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Sequence

from docray.testing.pdfs import serialize_pdf

FONT_SIZE = 12.0
LINE_HEIGHT = 18.0


def stix_general() -> Path:
    """matplotlib's STIX General TrueType font."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "STIXGeneral.ttf"


def tounicode_pdf(
    lines: Sequence[str],
    *,
    font_path: Path | None = None,
    unicode_of: Callable[[str], str] = lambda char: char,
) -> bytes:
    """A one-page PDF showing ``lines`` (top to bottom) whose ToUnicode maps each character to ``unicode_of(char)``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path = font_path or stix_general()
    font = TTFont(str(path))
    cmap = font.getBestCmap()
    chars = sorted({char for line in lines for char in line})
    missing = [char for char in chars if ord(char) not in cmap]
    if missing:
        raise ValueError(f"{path.name} has no glyph for {''.join(missing)!r}")
    glyph_id = {char: font.getGlyphID(cmap[ord(char)]) for char in chars}
    scale = 1000.0 / font["head"].unitsPerEm
    widths = {char: round(font["hmtx"][cmap[ord(char)]][0] * scale) for char in chars}

    options = subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's timestamps, which fontTools cannot subset
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(char) for char in chars])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    font_bytes = buffer.getvalue()

    content = b"".join(
        b"BT /F1 %.1f Tf 72 %.1f Td <%s> Tj ET\n"
        % (FONT_SIZE, 720 - LINE_HEIGHT * row, "".join(f"{glyph_id[char]:04X}" for char in line).encode())
        for row, line in enumerate(lines)
    )
    widths_array = b" ".join(b"%d [%d]" % (glyph_id[char], widths[char]) for char in chars)
    name = b"/" + path.stem.replace(" ", "").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont " + name + b" /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont " + name
        + b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R"
        + b" /CIDToGIDMap /Identity /DW 1000 /W [" + widths_array + b"] >>",
        _stream(_to_unicode_cmap({glyph_id[char]: unicode_of(char) for char in chars})),
        b"<< /Type /FontDescriptor /FontName " + name + b" /Flags 4 /FontBBox [-1000 -500 2000 1200] /ItalicAngle 0"
        b" /Ascent 900 /Descent -250 /CapHeight 660 /StemV 80 /FontFile2 9 0 R >>",
        _stream(font_bytes, b"/Length1 %d" % len(font_bytes)),
    ]
    return serialize_pdf(objects)


def _to_unicode_cmap(unicode_of_glyph: dict[int, str]) -> bytes:
    entries = sorted(unicode_of_glyph.items())
    blocks = []
    for start in range(0, len(entries), 100):  # at most 100 entries per bfchar block
        chunk = entries[start : start + 100]
        body = "\n".join(f"<{gid:04X}> <{text.encode('utf-16-be', 'surrogatepass').hex().upper()}>" for gid, text in chunk)
        blocks.append(f"{len(chunk)} beginbfchar\n{body}\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra + b" " if extra else b"") + data + b"\nendstream"
