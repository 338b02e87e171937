"""Which characters of a text do not decode to real text: the ``garbled`` count behind routing and quality.

Any assigned Unicode character that a script or notation uses is real text: letters of every script
(Greek, Cyrillic, CJK, Hangul, Arabic with its presentation forms, Hebrew, Indic, and the scripts
outside the Basic Multilingual Plane), Mathematical Alphanumeric Symbols (``𝑥``, ``𝜋``), math
operators, arrows, Letterlike Symbols (``ℝ``), fullwidth and compatibility forms.  Garbling is
recognised by what a broken encoding leaves behind, never by which script or font a character
belongs to:

* characters that are no text at all: U+FFFD (what extraction writes for a glyph pdfium cannot map
  to Unicode), control characters, Private Use Area code points (glyphs with no Unicode meaning),
  lone surrogates, unassigned code points and noncharacters (U+FFFE), and ``(cid:NN)`` placeholders;
* a *shifted* Latin encoding, i.e. a font whose Unicode map is offset from the real letters (glyph
  indices read as character codes: ``Hello World`` as ``+HOOR\x03:RUOG``): its letters are still
  letters, but the words they form are no words of any language.  Every language written in Latin
  script spends about a third or more of the letters of its words on vowels; a shift moves the
  vowels onto other letters.  A shift also moves the space and the digits (onto control
  characters) or the capitals (onto punctuation), so a shifted text always carries some characters
  of the first kind too.  When at least :data:`MIN_UNDECODABLE_SHARE` of a text's characters are of
  the first kind, it has at least :data:`MIN_LATIN_LETTERS` letters in Latin words of three or more
  letters, and fewer than :data:`MIN_VOWEL_SHARE` of those letters are vowels, all of them count as
  garbled.  Low vowels alone are no evidence: keyboard-mash filler (``Ghfhbdhj``) and lists of
  codes or abbreviations are low in vowels and still the text the page shows;
* a text made of the symbols of a single-byte code page (``´¿¢°£¢ ¿º˜``): the non-letter
  characters of the Latin-1 Supplement and the Spacing Modifier Letters, which real text uses one
  at a time (``°C``, ``£5``, ``«»``, ``±``), count as garbled when there are at least
  :data:`MIN_CODE_PAGE_SYMBOLS` of them and they make up more than :data:`MAX_CODE_PAGE_SYMBOL_SHARE`
  of the text.

"Characters" are the non-whitespace characters; a ``(cid:NN)`` placeholder counts with all its characters.
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"
MIN_LATIN_LETTERS = 60
MIN_VOWEL_SHARE = 0.2
MIN_UNDECODABLE_SHARE = 0.02
MIN_CODE_PAGE_SYMBOLS = 5
MAX_CODE_PAGE_SYMBOL_SHARE = 0.25

_NOT_TEXT = frozenset({"Co", "Cc", "Cs", "Cn"})  # private use, control, surrogate, unassigned
_CID = re.compile(r"\(cid:\d+\)")
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_LATIN_WORD = re.compile(rf"(?<![{_LATIN}])[{_LATIN}]{{3,}}(?![{_LATIN}])")
_VOWELS = frozenset("aeiouyæøœı")


def garbled_counts(text: str) -> tuple[int, int]:
    """``(characters, garbled characters)`` of a text (see the module docstring)."""
    cid_chars = sum(len(m) for m in _CID.findall(text))
    rest = _CID.sub(" ", text) if cid_chars else text
    total = garbled = cid_chars
    symbols = 0
    for char in rest:
        if char.isspace():
            continue
        total += 1
        if char == REPLACEMENT or unicodedata.category(char) in _NOT_TEXT:
            garbled += 1
        elif is_code_page_symbol(char):
            symbols += 1
    if garbled and garbled >= MIN_UNDECODABLE_SHARE * total:
        garbled += shifted_latin_letters(rest)
    if symbols >= MIN_CODE_PAGE_SYMBOLS and symbols > MAX_CODE_PAGE_SYMBOL_SHARE * total:
        garbled += symbols
    return total, garbled


def is_code_page_symbol(char: str) -> bool:
    """A non-letter of the Latin-1 Supplement (``¢``, ``¿``, ``×``) or a Spacing Modifier Letter (``˜``, ``ˆ``)."""
    code = ord(char)
    if 0xA1 <= code <= 0xBF or code in (0xD7, 0xF7):
        return True
    return 0x2B0 <= code <= 0x2FF and not char.isalpha()


def shifted_latin_letters(text: str) -> int:
    """Letters of the text's Latin words (3+ letters) when fewer than ``MIN_VOWEL_SHARE`` of them are vowels, else 0."""
    letters = vowels = 0
    for match in _LATIN_WORD.finditer(text):
        word = match.group(0)
        letters += len(word)
        vowels += sum(1 for char in word if _is_vowel(char))
    if letters >= MIN_LATIN_LETTERS and vowels < MIN_VOWEL_SHARE * letters:
        return letters
    return 0


def _is_vowel(char: str) -> bool:
    lower = char.lower()
    return lower in _VOWELS or unicodedata.normalize("NFD", lower)[0] in _VOWELS
