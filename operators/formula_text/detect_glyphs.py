"""What each text-layer glyph says about math on its own: math font, math Unicode, italic, digit, operator.

Pure functions on :class:`~docray.operators.textlayer.pdf_glyphs.Glyph` fields (text and font name); no geometry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from enum import IntEnum

from docray.datamodel import Span
from docray.operators.textlayer.pdf_glyphs import REPLACEMENT, is_math_font
from docray.schema import FontFlags

_ITALIC_FONT = re.compile(
    r"(?:ital|oblique|slant|kursiv|-it$|-bi$|-boldit|^cmti|^cmbxti|^cmsl|^lmroman\d*-italic)", re.I
)
_MATH_RANGES = (
    (0x0391, 0x03A9),
    (0x03B1, 0x03C9),
    (0x03D0, 0x03F6),  # Greek letters and symbols
    (0x2070, 0x209F),  # super- and subscript digits and letters
    (0x2190, 0x21FF),
    (0x2200, 0x22FF),
    (0x2308, 0x230B),
    (0x27C0, 0x27EF),
    (0x27F0, 0x27FF),
    (0x2980, 0x29FF),
    (0x2A00, 0x2AFF),
    (0x1D400, 0x1D7FF),
)
_MATH_CHARS = frozenset("±×÷¬∂′″‴‖¹²³ℓℝℕℤℚℂℙℍℏℑℜ℘ℵ⟨⟩∞")
# symbol-font glyphs that text uses: bullets (also Symbol/Wingdings private-use ones), footnote daggers
_NOT_MATH = frozenset("•†‡§¶©®™°\uf0b7\uf0a7\uf0d8\uf076\uf0a8\uf0fc")
_OPERATORS = frozenset("+-=<>/*()[]{}|!'^~:\u00b7")
_PUNCTUATION = frozenset(",.;")
_ACCENTS = frozenset("\u02c6\u02dc\u00af\u02d9\u00a8\u02c7\u02d8\u00b4\u0060\u02da\u20d7\u0302\u0303\u0304")
FUNCTION_NAMES = frozenset(  # upright operator names that are no English words: math next to math
    "sin cos tan cot sec csc sinh cosh tanh coth sech csch arcsin arccos arctan arsinh arcosh artanh log ln lg exp "
    "lim liminf limsup det dim ker Ker arg deg gcd lcm hom Hom Aut Tr tr diag sgn supp erf erfc Gal coker mod Pr "
    "Var Cov Spec".split()
)
# operator names that are also words (or names): math only in operator form, with a script or a tight "("
OPERATOR_WORDS = frozenset("max min sup inf rank span sign End Ann Im Re im id vol div curl grad var cov".split())


class Cue(IntEnum):
    """A glyph's own evidence, strongest last."""

    TEXT = 0  # a letter or symbol of running text
    BINDABLE = 1  # digit, ASCII operator, bracket, punctuation, accent: math only next to math
    ITALIC = 2  # an italic letter: a variable when it stands alone
    MATH = 3  # math font or math Unicode: math wherever it is


def is_math_char(text: str) -> bool:
    """True for math Unicode: Greek, operators, arrows, math alphanumerics, letterlike ℝℕℤ, super/subscripts."""
    if len(text) != 1:
        return False
    if text in _MATH_CHARS or text == "\u2212":
        return True
    code = ord(text)
    return any(lo <= code <= hi for lo, hi in _MATH_RANGES)


def is_italic_font(font: str) -> bool:
    return bool(_ITALIC_FONT.search(font))


def is_greek(text: str) -> bool:
    return len(text) == 1 and (0x0391 <= ord(text) <= 0x03C9)


def cue(text: str, font: str, math_font: bool | None = None) -> Cue:
    """The evidence one glyph carries by itself (see :class:`Cue`)."""
    if text in _NOT_MATH:
        return Cue.TEXT
    if text == REPLACEMENT:  # unmapped glyph: math when its font is (CMEX big operators), else unknown text
        return Cue.MATH if (math_font if math_font is not None else is_math_font(font)) else Cue.TEXT
    if (math_font if math_font is not None else is_math_font(font)) or is_math_char(text):
        return Cue.MATH
    if text.isdigit() or text in _OPERATORS or text in _PUNCTUATION or text in _ACCENTS:
        return Cue.BINDABLE
    if text.isalpha() and is_italic_font(font) and unicodedata.category(text) in ("Ll", "Lu"):
        return Cue.ITALIC
    return Cue.TEXT


_MATH_TEXT = re.compile(
    "["
    + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _MATH_RANGES)
    + re.escape("".join(sorted(_MATH_CHARS)) + "\u2212")
    + "]"
)


def has_math_text(text: str) -> bool:
    """True when a string holds math Unicode (:func:`is_math_char` of any character; one regex scan, cheap enough
    for every span of every page)."""
    return _MATH_TEXT.search(text) is not None


def page_has_math(spans: Sequence[Span]) -> bool:
    """True when a page's text-layer spans show math: a math font, math Unicode, or a span already marked math.

    Cheap enough for every page: the render stage keeps a page's glyphs for the formula stage only when this holds.
    """
    fonts: dict[str, bool] = {}
    for span in spans:
        if span.flags & FontFlags.MATH:
            return True
        math_font = fonts.setdefault(span.font, is_math_font(span.font))
        if (
            math_font and any(cue(c, span.font, True) == Cue.MATH for c in span.text if not c.isspace())
        ) or has_math_text(span.text):
            return True
    return False
