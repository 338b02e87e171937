"""MinerU's ``-l`` language codes mapped onto PP-OCR recognisers.

A code names a *recogniser*: either one that ships in a wheel (per PP-OCR release, see
:data:`docray.models.ocr_ppocr.RELEASES`) or a script family whose recogniser and dictionary the user
puts in the models directory as ``ppocr/<family>_rec.onnx`` and ``ppocr/<family>_dict.txt``.
MinerU's per-language codes (``fr``, ``ru``, ``hi``, ...) fold into their script family as MinerU
folds them (``latin``, ``cyrillic``, ``devanagari``, ...); a code not listed here is its own family,
so any ``ppocr/<code>_rec.onnx`` a user adds can be named with ``-l <code>``.

Which shipped recogniser covers which family was checked against the models' dictionaries: the
PP-OCRv6 small recogniser's 18,708 characters hold Chinese (simplified and traditional), Japanese
kana, and the letters of every Latin-script language in :data:`LATIN_LANGS` (not Vietnamese's
tone-marked vowels nor Pali's dotted consonants: those two read with a ``latin`` recogniser from the
models directory); it holds no Hangul, Cyrillic, Arabic, Devanagari, Tamil, Telugu, Georgian or Thai.
"""

from __future__ import annotations

# MinerU's Latin-script codes whose letters are all in the PP-OCRv6 recogniser's dictionary
# (MinerU's list minus vi and pi), and a few ISO codes MinerU does not list.
LATIN_LANGS = frozenset(
    "af az bs cs cy da de es et fr ga hr hu id is it ku la lt lv mi ms mt nl no oc pl pt ro rs_latin sk sl sq sv sw "
    "tl tr uz french german fi eu gl ca".split()
)
ARABIC_LANGS = frozenset("ar fa ug ur".split())
CYRILLIC_LANGS = frozenset("ru rs_cyrillic be bg uk mn abq ady kbd ava dar inh che lbe lez tab".split())
DEVANAGARI_LANGS = frozenset("hi mr ne bh mai ang bho mah sck new gom sa bgc".split())

# code -> recogniser family (the models-dir file name of the recogniser that reads it)
FAMILY: dict[str, str] = {
    "ch": "ch",
    "ch_lite": "ch",
    "ch_server": "ch",
    "en": "en",
    "chinese_cht": "chinese_cht",
    "japan": "japan",
    "latin": "latin",
    "vi": "latin",
    "pi": "latin",
    "korean": "korean",
    "ko": "korean",
    "arabic": "arabic",
    "cyrillic": "cyrillic",
    "east_slavic": "east_slavic",
    "devanagari": "devanagari",
    **{code: "latin" for code in LATIN_LANGS},
    **{code: "arabic" for code in ARABIC_LANGS},
    **{code: "cyrillic" for code in CYRILLIC_LANGS},
    **{code: "devanagari" for code in DEVANAGARI_LANGS},
}


def family(lang: str) -> str:
    """The recogniser family of a ``-l`` code (the code itself when not listed)."""
    code = lang.strip().lower()
    return FAMILY.get(code, code)


# the codes each shipped recogniser reads (the rest load models-dir:ppocr/<family>_rec.onnx)
PPOCRV4_CODES = frozenset({"ch", "ch_lite", "ch_server", "en"})
PPOCRV6_CODES = PPOCRV4_CODES | {"chinese_cht", "japan", "latin"} | LATIN_LANGS
