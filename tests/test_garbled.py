"""Garbled text: legitimate Unicode of every script and notation is text, broken encodings are not.

Pure functions on strings, and real one-page PDFs (``docray.testing.tounicode_pdf``: an embedded
STIX General font whose ToUnicode map is correct, shifted, or in the Private Use Area) routed by pdfium.
"""

from __future__ import annotations

import pytest

from docray.operators.textlayer.extract import open_pdf, page_spans, route_page, text_quality
from docray.operators.textlayer.garbled import garbled_counts, is_code_page_symbol, shifted_latin_letters
from docray.operators.textlayer.pdf_glyphs import page_glyphs
from docray.schema import ParseMethod, Route, RouteReason
from docray.testing.tounicode_pdf import tounicode_pdf

LEGITIMATE = {
    "math alphanumerics": "Let 𝑥 = 𝜋𝑟² and 𝐀𝐁 = 𝐂, 𝔽 a field, 𝒜 ⊂ 𝕏, 𝟎 ≤ 𝟗",
    "math operators, arrows, technical": "∀𝑥 ∈ ℝ: ∑ᵢ 𝑎ᵢ → ∞, ∫ f dμ ≠ ∮ ⊗ ⊕ ⌈x⌉ ⌊y⌋ ⟨a, b⟩ ⇒ ⇔ ↦ ∴ ∵",
    "letterlike symbols": "ℝ ℕ ℤ ℚ ℂ ℏ ℓ ℘ ™ № ℃ Ω ℵ",
    "Greek": "Η ελληνική γλώσσα είναι μία από τις αρχαιότερες γλώσσες",
    "Cyrillic": "Съешь же ещё этих мягких французских булок да выпей чаю",
    "CJK with fullwidth and compatibility forms": "数据处理（第一章）：ＡＢＣ１２３。日本語のテキスト、カタカナ。㈱ ㍻ 豈 更",
    "Hangul": "돌입한 와중에 우리는 새로운 방법을 찾았다",
    "Arabic with presentation forms": "مرحبا بكم في هذا الموقع ﻣﺮﺣﺒﺎ ﷲ ﻻ",
    "Hebrew": "שלום עולם, זהו טקסט בעברית",
    "Indic": "हिन्दी भाषा বাংলা ভাষা தமிழ் மொழி ગુજરાતી ਪੰਜਾਬੀ",
    "Thai": "ภาษาไทยเป็นภาษาราชการ",
    "historic and newer scripts outside the BMP": "𑰀𑰁𑰂 𐲀𐲁𐲂 𓀀𓀁 😀",
    "Latin with diacritics and symbols": "Ján Mináč, Ærøskøbing, 25 °C, £5, «quote», ±0.5, naïve café",
    "keyboard-mash filler": "Ghfhbdhj Hgfdhgjsdhjdsf Vgvhgh Gfhj Hjkl Dfgh Sdfg Xcvb Bnmm Qwrt " * 3,
    "codes and abbreviations": "HTTP XML PDF CSS SQL RGB CMYK DPI FPS TCP SSH NTP DNS MTU",
}


@pytest.mark.parametrize("text", LEGITIMATE.values(), ids=LEGITIMATE.keys())
def test_legitimate_unicode_is_never_garbled(text):
    total, garbled = garbled_counts(text)
    assert total > 0 and garbled == 0


def test_characters_that_are_no_text_are_garbled():
    assert garbled_counts("ab\ufffd\ue000\x07\ufffe") == (6, 4)  # replacement, private use, control, noncharacter
    assert garbled_counts("x\ud835y") == (3, 1)  # a lone surrogate
    assert garbled_counts("\U000f0001 ok") == (3, 1)  # supplementary private use
    assert garbled_counts("(cid:12) ok") == (10, 8)


def _shift(text: str, by: int) -> str:
    return "".join(chr(ord(char) + by) for char in text)


ENGLISH = "The quick brown fox jumps over the lazy dog near the river bank and then runs home to eat dinner."
FRENCH = "Je vis maritalement avec la personne assurée et je certifie que les renseignements sont exacts."


@pytest.mark.parametrize("text", [ENGLISH, FRENCH])
def test_glyph_index_shift_is_garbled(text):
    shifted = _shift(text, -29)  # glyph indices of a TrueType font read as character codes
    assert shifted.startswith(("7KH", "-H"))
    total, garbled = garbled_counts(shifted)
    assert garbled / total > 0.8  # all but the capitals (now digits and punctuation) and two-letter words
    assert shifted_latin_letters(shifted) > 0
    assert shifted_latin_letters(text) == 0


def _caesar(char: str, by: int) -> str:
    for first in ("a", "A"):
        if ord(first) <= ord(char) < ord(first) + 26:
            return chr((ord(char) - ord(first) + by) % 26 + ord(first))
    return char


def test_low_vowels_need_undecodable_characters_too():
    letters_only = "".join(_caesar(c, 3) for c in ENGLISH)  # spaces and punctuation intact
    assert shifted_latin_letters(letters_only) > 0  # the vowels say shifted ...
    assert garbled_counts(letters_only)[1] == 0  # ... but alone they are no evidence (keyboard mash looks the same)
    one_bad = letters_only + " \ufffd\ufffd\ufffd"
    total, garbled = garbled_counts(one_bad)
    assert garbled == 3 + shifted_latin_letters(letters_only)


def test_code_page_symbols_are_garbled_only_en_masse():
    assert is_code_page_symbol("¿") and is_code_page_symbol("˜") and not is_code_page_symbol("é")
    total, garbled = garbled_counts("´¿¢°£¢ ¿º˜ ´«¢¬")
    assert garbled == total
    assert garbled_counts("It was 25 °C, £5 a pint, ±0.5 «ok» ¿qué?")[1] == 0


# ---------------------------------------------------------------------------- real PDFs


MATH_LINES = [
    "Let 𝑥 = 𝜋𝑟² be the area of a circle of radius 𝑟, and 𝛼 ≤ 𝛽.",
    "Then 𝑓(𝑥) = ∑ 𝑎𝑖𝑥 → ∞ for 𝐱 ∈ ℝ, and ∫ 𝑒 d𝑥 = 1.",
    "Пусть функция непрерывна; ελληνικά γράμματα.",
]
PROSE_LINES = [
    "The quick brown fox jumps over the lazy dog near 2024 and then",
    "runs home to eat dinner with the other animals of the farm.",
]


def _route(lines: list[str], **mapping):
    """Spans, glyphs and route of a generated page (:func:`tounicode_pdf`; fontTools and matplotlib's fonts)."""
    pytest.importorskip("fontTools")
    pytest.importorskip("matplotlib")
    document = open_pdf(tounicode_pdf(lines, **mapping))
    try:
        spans = page_spans(document[0])
        glyphs = page_glyphs(document[0])
    finally:
        document.close()
    chars, garbled = text_quality(spans)
    return spans, glyphs, route_page(ParseMethod.AUTO, chars, garbled, 0.0)


def test_unicode_math_page_reads_its_text_layer():
    spans, glyphs, route = _route(MATH_LINES)
    assert [span.text for span in spans] == MATH_LINES  # 𝑥 is one character, not two surrogates
    assert route == (Route.TXT, RouteReason.TEXT_LAYER)
    assert "".join(glyph.text for glyph in glyphs) == "".join(MATH_LINES).replace(" ", "")


def test_shifted_tounicode_routes_to_ocr():
    spans, _, route = _route(PROSE_LINES, unicode_of=lambda char: _shift(char, -29))
    assert spans and spans[0].text.startswith("7KH")
    assert route == (Route.OCR, RouteReason.GARBLED_TEXT)


def test_private_use_tounicode_routes_to_ocr():
    spans, _, route = _route(PROSE_LINES, unicode_of=lambda char: chr(0xF000 + ord(char)))
    assert spans and all("\uf000" <= char <= "\uf0ff" for char in spans[0].text.replace(" ", ""))
    assert route == (Route.OCR, RouteReason.GARBLED_TEXT)
