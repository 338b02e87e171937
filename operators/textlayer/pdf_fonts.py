"""docray :class:`FontFlags` from what pdfium tells of a font: its name, descriptor flags and weight."""

from __future__ import annotations

import re

from docray.schema import FontFlags

# PDF font descriptor flags (PDF 32000-1:2008, 9.8.2), bit n is 1 << (n - 1)
PDF_FIXED_PITCH = 1 << 0
PDF_SERIF = 1 << 1
PDF_SYMBOLIC = 1 << 2
PDF_NONSYMBOLIC = 1 << 5
PDF_ITALIC = 1 << 6
PDF_FORCE_BOLD = 1 << 18

BOLD_WEIGHT = 600  # pdfium weights follow CSS: 400 regular, 700 bold

_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
_BOLD_NAME = re.compile(r"(?i:bold|black|heavy)|(?<=[a-z-])Bd(?=It$|$|-)")  # MyriadPro-Bd, MyriadBdIt
_ITALIC_NAME = re.compile(r"(?i:italic|oblique)|(?<=[a-z-])It$")  # MyriadPro-It, MyriadRgIt
_MONO_NAME = re.compile(r"mono|courier|consol|menlo|typewriter|fixed", re.I)
_SERIF_NAME = re.compile(
    r"times|serif|roman|georgia|garamond|cambria|palatino|minion|bookman|baskerville|batang|mincho|song|century",
    re.I,
)
_SANS_NAME = re.compile(r"sans|gothic|arial|helvetica|dotum", re.I)
# TeX's Computer Modern / EC / Latin Modern naming: CMBX10 bold, CMTI10 italic, CMTT10 typewriter, ...
_TEX_NAME = re.compile(r"^(?:CM|SF|EC|LM|TC)([A-Z]+)\d*$")
_TEX_BOLD = ("BX", "B")
_TEX_ITALIC = ("TI", "SL", "MI", "BXTI", "BXSL", "ITT", "SLTT")
_TEX_MONO = ("TT", "ITT", "SLTT", "TCX")
_TEX_SANS = ("SS", "SSBX", "SSI", "SSDC")


def clean_font_name(name: str) -> str:
    """The font name without its subset tag (``ABCDEF+Times-Bold`` -> ``Times-Bold``)."""
    return _SUBSET_PREFIX.sub("", name.strip())


def font_flags(name: str, pdf_flags: int, weight: int) -> FontFlags:
    """Style bits of a font from its (clean) name, PDF descriptor flags and pdfium weight.

    * BOLD: weight >= 600, the ForceBold flag, or a bold word in the name (Bold, Black, Heavy, ...)
    * ITALIC: the Italic flag, or Italic/Oblique in the name
    * MONOSPACE: the FixedPitch flag, or Mono/Courier/... in the name
    * SERIF: the Serif flag, or a serif family name (Times, Georgia, ...) that is not a sans
    * SYMBOLIC: the Symbolic flag without the Nonsymbolic flag (many embedded subset fonts set it:
      a hint, not a verdict)
    TeX font names (``CMBX10``, ``SFTI1000``, ``CMTT9``) are decoded too.
    """
    flags = FontFlags.NONE
    tex = _TEX_NAME.match(name)
    shape = tex.group(1) if tex else ""
    if weight >= BOLD_WEIGHT or pdf_flags & PDF_FORCE_BOLD or _BOLD_NAME.search(name) or "BX" in shape:
        flags |= FontFlags.BOLD
    if pdf_flags & PDF_ITALIC or _ITALIC_NAME.search(name) or shape in _TEX_ITALIC:
        flags |= FontFlags.ITALIC
    if pdf_flags & PDF_FIXED_PITCH or _MONO_NAME.search(name) or shape in _TEX_MONO:
        flags |= FontFlags.MONOSPACE
    sans = bool(_SANS_NAME.search(name)) or shape in _TEX_SANS
    if not flags & FontFlags.MONOSPACE and not sans:
        if pdf_flags & PDF_SERIF or _SERIF_NAME.search(name) or (tex and shape not in _TEX_MONO):
            flags |= FontFlags.SERIF
    if pdf_flags & PDF_SYMBOLIC and not pdf_flags & PDF_NONSYMBOLIC:
        flags |= FontFlags.SYMBOLIC
    return flags
