"""Detached accents: a spacing accent glyph set over (or under) a letter becomes one accented character.

TeX in its default OT1 encoding (and other typesetters without precomposed glyphs) draws ``\\'a`` as two
glyphs, the accent ``´`` (U+00B4) and the letter ``a``, placed on top of each other; the text layer then reads
``Mina´c`` for ``Mináč``, and where the accent was drawn apart from its letter, on a line of its own
(``Min`` / ``´`` / ``ˇ`` / ``c``).  :func:`pair_accents` finds, by geometry alone, the letter each spacing
accent sits on: the accent's (tight) box lies mostly over the letter's and just above it, or just below
for a cedilla or an ogonek.  :func:`accented` writes the letter with
the accent's combining mark, NFC-composed (``a`` + U+0301 -> ``á``; a dotless ``ı``/``ȷ`` under an accent
above takes its dot back, as ``\\'\\i`` means ``í``).  An accent beside a letter rather than over it (a
prime, a quote, a backtick in code) is left as it is.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from docray.datamodel import BBox

# spacing accent -> combining mark
SPACING_ACCENTS: dict[str, str] = {
    "\u00b4": "\u0301",  # ´ acute
    "\u02ca": "\u0301",  # ˊ modifier acute
    "\u0060": "\u0300",  # ` grave (TeX's OT1 grave glyph reads as the backtick)
    "\u02cb": "\u0300",  # ˋ modifier grave
    "\u00a8": "\u0308",  # ¨ diaeresis
    "\u02c6": "\u0302",  # ˆ circumflex
    "\u02dc": "\u0303",  # ˜ tilde
    "\u02c7": "\u030c",  # ˇ caron
    "\u00b8": "\u0327",  # ¸ cedilla
    "\u02db": "\u0328",  # ˛ ogonek
    "\u02d8": "\u0306",  # ˘ breve
    "\u02d9": "\u0307",  # ˙ dot above
    "\u02da": "\u030a",  # ˚ ring above
    "\u02dd": "\u030b",  # ˝ double acute
    "\u00af": "\u0304",  # ¯ macron
    "\u02c9": "\u0304",  # ˉ modifier macron
}
_BELOW = frozenset({"\u0327", "\u0328"})
_DOTLESS = {"\u0131": "i", "\u0237": "j"}


def pair_accents(
    accents: Sequence[tuple[str, BBox]],
    letters: Sequence[tuple[str, BBox]],
    max_gap: float = 0.5,
    min_overlap: float = 0.5,
) -> dict[int, int]:
    """Accent position -> position of the letter it is set on (both lists of (text, tight box), top-left origin).

    An accent is set on a letter when at least ``min_overlap`` of its width lies over the letter and it sits
    just above it (below, for a cedilla or an ogonek): the vertical gap
    between the two boxes is at most ``max_gap`` of the letter's height, and the accent's centre is on the right
    side of the letter's centre.  Of several such letters the nearest wins.
    """
    order = sorted(range(len(letters)), key=lambda k: letters[k][1][0])
    lefts = [letters[k][1][0] for k in order]
    widest = max((b[2] - b[0] for _, b in letters), default=0.0)
    pairs: dict[int, int] = {}
    for a, (accent, box) in enumerate(accents):
        below = SPACING_ACCENTS.get(accent) in _BELOW
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        best, best_cost = None, float("inf")
        for pos in range(bisect_left(lefts, cx - 2 * widest), bisect_right(lefts, cx + widest)):
            k = order[pos]
            lbox = letters[k][1]
            height = lbox[3] - lbox[1]
            overlap = min(box[2], lbox[2]) - max(box[0], lbox[0])
            if height <= 0 or overlap < min_overlap * max(box[2] - box[0], 1e-6):
                continue
            if below:
                placed, gap = cy > (lbox[1] + lbox[3]) / 2, box[1] - lbox[3]
            else:
                placed, gap = cy < (lbox[1] + lbox[3]) / 2, lbox[1] - box[3]
            if placed and gap <= max_gap * height:
                cost = abs(cx - (lbox[0] + lbox[2]) / 2) + max(gap, 0.0)
                if cost < best_cost:
                    best, best_cost = k, cost
        if best is not None:
            pairs[a] = best
    return pairs


def same_word(a: BBox, b: BBox, max_gap: float = 0.15) -> bool:
    """Whether glyph ``b`` follows glyph ``a`` on its line without a word gap (at most ``max_gap`` of their height)."""
    height = max(a[3] - a[1], b[3] - b[1])
    on_line = min(a[3], b[3]) > max(a[1], b[1])
    return on_line and -max_gap * height <= b[0] - a[2] <= max_gap * height


def accented(letter: str, accents: Sequence[str]) -> str:
    """``letter`` with the combining marks of ``accents`` (spacing accents), NFC-composed."""
    marks = [SPACING_ACCENTS[a] for a in accents]
    if letter in _DOTLESS and any(m not in _BELOW for m in marks):
        letter = _DOTLESS[letter]
    return unicodedata.normalize("NFC", letter + "".join(marks))
