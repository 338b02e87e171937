"""Per-glyph reads of a PDF page for formula work: every character with its font, size, tight box and baseline
origin, and the page's thin filled or stroked rules (fraction bars, radical vincula, overlines).

Text-layer spans (:mod:`.extract`) merge characters into runs and lose what math needs: where each glyph sits
against the baseline, how big it is, which font drew it.  :func:`page_glyphs` keeps that, on the displayed page
(points, origin top-left, after ``/Rotate``), in pdfium's character order.  Generated characters (pdfium's word
gaps and line breaks) are left out; a glyph pdfium cannot map to Unicode keeps ``text = "\\ufffd"`` (its font and
box still tell what it is).
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docray.datamodel import BBox
from docray.operators.textlayer.pdf_chars import (
    StyleReader,
    count_chars,
    get_char_box,
    get_char_origin,
    get_unicode,
    has_map_error,
    is_generated,
    paired_code_point,
)
from docray.operators.textlayer.pdf_geometry import PageFrame, object_boxes, page_frame

REPLACEMENT = "\ufffd"
MAX_RULE_THICKNESS = 2.5  # points: thicker paths are drawings, not rules
MIN_RULE_ASPECT = 3.0  # a rule is at least this many times longer than thick
_MAX_RULES = 5000
_BLANK = frozenset({0x20, 0xA0, 0x0A, 0x0D, 0x09})

# Fonts whose glyphs are math: any font named "...Math..." (Cambria Math, STIX Two Math, Latin Modern Math, TeX Gyre
# ... Math, PazoMath, NewCMMath), TeX's math italic, symbols and extension (CMMI, CMSY, CMEX), AMS (MSAM, MSBM), Euler,
# RSFS, txfonts/pxfonts, MathTime, MT Extra, STIX/XITS (not STIX Two Text, a text face; STIX Two Math has "Math"),
# Symbol and its clones, Apple Symbols.
MATH_FONT = re.compile(
    r"Math|^(?:CM(?:MI|BMI|SY|BSY|EX)\d*|MSAM\d*|MSBM\d*|EU(?:FM|FB|RM|RB|SM|SB|EX)\d*|RSFS\d*|WASY\w*|"
    r"(?:txsy|pxsy|txex|pxex|txmi|pxmi|rtxmi|rtxsy)\w*|MT(?:MI|SY|EX)\w*|MT-?Extra[\w-]*|STIX(?!Two)[\w-]*|XITS[\w-]*|"
    r"Symbol[\w-]*|StandardSym[\w-]*|Euclid\w*|MathematicalPi\w*|ESSTIX\w*|\w*Symbols[\w-]*|[A-Z]?SYR?)$",
    re.IGNORECASE,
)


def is_math_font(font: str) -> bool:
    """True for fonts that only set math (see :data:`MATH_FONT`); text fonts used in math (CMR digits) are not."""
    return bool(MATH_FONT.search(font))


@dataclass(frozen=True, slots=True)
class Glyph:
    """One character of the text layer."""

    text: str  # one code point (U+FFFD when pdfium cannot map it to Unicode)
    font: str  # clean font name (no subset tag)
    size: float  # effective font size, points
    bbox: BBox  # tight glyph box on the displayed page (points, top-left origin)
    origin: tuple[float, float]  # the glyph's origin on the baseline, displayed page
    code: int = 0  # when ``text`` is U+FFFD: the font's own character code (e.g. CMEX10's 0x58, a display sum), else 0

    def to_row(self) -> dict[str, Any]:
        return {"text": self.text, "font": self.font, "size": self.size, "bbox": list(self.bbox), "origin": list(self.origin), "code": self.code}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Glyph:
        return cls(
            text=row["text"],
            font=row.get("font") or "",
            size=float(row.get("size") or 0.0),
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            origin=tuple(row["origin"]),  # type: ignore[arg-type]
            code=int(row.get("code") or 0),
        )


def page_glyphs(page: pdfium.PdfPage, frame: PageFrame | None = None) -> list[Glyph]:
    """Every non-generated, non-blank character of the page as a :class:`Glyph`, in pdfium's text order."""
    frame = frame or page_frame(page)
    textpage = page.get_textpage()
    try:
        handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
        if not handle:
            return []
        styles = StyleReader(textpage.raw, handle)
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        box_refs = (ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top))
        ox, oy = ctypes.c_double(), ctypes.c_double()
        ox_ref, oy_ref = ctypes.byref(ox), ctypes.byref(oy)
        glyphs: list[Glyph] = []
        count = count_chars(handle)
        low_surrogate = -1  # index of the second half of a surrogate pair already read
        for index in range(count):
            if index == low_surrogate or is_generated(handle, index):
                continue
            code = get_unicode(handle, index)
            if 0xD800 <= code <= 0xDBFF:
                paired = paired_code_point(handle, index, code, count)
                if paired is not None:
                    code, low_surrogate = paired, index + 1
            text, raw_code = REPLACEMENT, 0
            if has_map_error(handle, index) or code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                # pdfium reports an unmappable glyph's character code in place of its Unicode value
                # (CMEX10's 0x20 is a big left parenthesis, not a space)
                raw_code = code
            elif code in _BLANK:
                continue
            else:
                text = chr(code)
            if not get_char_box(handle, index, *box_refs):
                continue
            get_char_origin(handle, index, ox_ref, oy_ref)
            style = styles.style(index)
            box = frame.box(left.value, bottom.value, right.value, top.value)
            glyphs.append(Glyph(text, style.font, style.size, box, frame.point(ox.value, oy.value), raw_code))
        return glyphs
    finally:
        textpage.close()


def page_rules(page: pdfium.PdfPage, frame: PageFrame | None = None) -> list[BBox]:
    """Displayed boxes of the page's thin straight path objects (rules), including those inside form XObjects.

    A rule is a path whose bounds are at most :data:`MAX_RULE_THICKNESS` thick and :data:`MIN_RULE_ASPECT` times
    longer than thick, horizontal or vertical; a stroked line's box includes its line width.
    """
    boxes = object_boxes(page, pdfium_c.FPDF_PAGEOBJ_PATH, frame, keep=_is_rule, limit=_MAX_RULES)
    return [_rounded(box) for box in boxes]


def _is_rule(box: BBox) -> bool:
    width, height = box[2] - box[0], box[3] - box[1]
    thick, long = min(width, height), max(width, height)
    return thick <= MAX_RULE_THICKNESS and long >= MIN_RULE_ASPECT * max(thick, 0.1)


def _rounded(values) -> tuple[float, ...]:
    return tuple(round(float(v), 3) for v in values)

