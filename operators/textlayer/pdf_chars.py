"""Per-character reads of a pdfium text page, kept fast.

A dense page has a few thousand characters and several pdfium calls per character, so the calls
go straight to pdfium's C functions with plain ``ctypes`` argument types (no pypdfium2 wrapper
objects per call); a text object's font, size and direction are read once and cached.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import pypdfium2.raw as pdfium_c

from docray.operators.textlayer.pdf_fonts import clean_font_name, font_flags
from docray.schema import FontFlags

_FONT_NAME_BUFFER = 256


def _fast(function, restype, *argtypes):
    """``function`` re-typed with plain ctypes types (handles as ``c_void_p``)."""
    address = ctypes.cast(function, ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


_VP, _INT = ctypes.c_void_p, ctypes.c_int
_DP = ctypes.POINTER(ctypes.c_double)
get_unicode = _fast(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint, _VP, _INT)
get_text_object = _fast(pdfium_c.FPDFText_GetTextObject, _VP, _VP, _INT)
get_char_origin = _fast(pdfium_c.FPDFText_GetCharOrigin, _INT, _VP, _INT, _DP, _DP)
get_char_box = _fast(pdfium_c.FPDFText_GetCharBox, _INT, _VP, _INT, _DP, _DP, _DP, _DP)  # left, right, bottom, top
get_loose_box = _fast(pdfium_c.FPDFText_GetLooseCharBox, _INT, _VP, _INT, ctypes.POINTER(pdfium_c.FS_RECTF))
is_generated = _fast(pdfium_c.FPDFText_IsGenerated, _INT, _VP, _INT)
is_hyphen = _fast(pdfium_c.FPDFText_IsHyphen, _INT, _VP, _INT)
has_map_error = _fast(pdfium_c.FPDFText_HasUnicodeMapError, _INT, _VP, _INT)
count_chars = _fast(pdfium_c.FPDFText_CountChars, _INT, _VP)


@dataclass(frozen=True, slots=True)
class TextStyle:
    """What every character of one text object shares."""

    font: str
    flags: FontFlags
    size: float  # effective size in points (font size x text matrix scale)
    dx: float  # unit writing direction in user space
    dy: float


class StyleReader:
    """Reads (and caches per text object) the style of a text page's characters."""

    def __init__(self, textpage_raw: object, textpage_handle: int):
        self._raw = textpage_raw  # pypdfium2's typed pointer, for the calls made once per object
        self._handle = textpage_handle
        self._by_object: dict[int, TextStyle] = {}
        self._by_font: dict[tuple[str, int, int], tuple[str, FontFlags]] = {}
        self._name = ctypes.create_string_buffer(_FONT_NAME_BUFFER)
        self._pdf_flags = ctypes.c_int()
        self._matrix = pdfium_c.FS_MATRIX()

    def style(self, index: int) -> TextStyle:
        text_object = get_text_object(self._handle, index) or 0
        cached = self._by_object.get(text_object)
        if cached is None:
            cached = self._by_object[text_object] = self._read(index)
        return cached

    def _read(self, index: int) -> TextStyle:
        tp = self._raw
        length = pdfium_c.FPDFText_GetFontInfo(tp, index, self._name, _FONT_NAME_BUFFER, self._pdf_flags)
        raw_name = self._name.value.decode("utf-8", "replace") if length else ""
        weight = int(pdfium_c.FPDFText_GetFontWeight(tp, index))
        key = (raw_name, self._pdf_flags.value, weight)
        named = self._by_font.get(key)
        if named is None:
            name = clean_font_name(raw_name)
            named = self._by_font[key] = (name, font_flags(name, self._pdf_flags.value, weight))
        font_size = float(pdfium_c.FPDFText_GetFontSize(tp, index))
        m = self._matrix
        if pdfium_c.FPDFText_GetMatrix(tp, index, m):
            a, b, c, d = m.a, m.b, m.c, m.d
        else:
            a, b, c, d = 1.0, 0.0, 0.0, 1.0
        run = math.hypot(a, b) or 1.0
        scale = math.hypot(c, d) or run
        return TextStyle(named[0], named[1], round(font_size * scale, 2), a / run, b / run)


def paired_code_point(handle: int, index: int, high: int, count: int) -> int | None:
    """The code point of the surrogate pair that starts at ``index``, or None when ``index + 1`` does not complete one.

    pdfium reports a character outside the Basic Multilingual Plane (``𝑥`` U+1D465, a Mathematical
    Alphanumeric Symbol; the historic and newer scripts) as two text-page characters, the UTF-16
    high and low surrogates of its code point.
    """
    if index + 1 >= count:
        return None
    low = get_unicode(handle, index + 1)
    if not 0xDC00 <= low <= 0xDFFF:
        return None
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
