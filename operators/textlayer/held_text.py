"""Which text-layer spans a table or equation block holds, and which it would lose.

A layout region of a visual type (table, display equation) takes the page's text lines inside it, but its
block shows something else in their place: the recognised table's HTML, the formula's LaTeX, or only a crop.
Text the block does not show would be lost, so :func:`unheld_lines` returns it, to be read as ordinary text
lines in reading order:

* a span is *held* when at least half of its tokens are found in the block's own text (``held``: the table's
  cell text, the LaTeX); each token of the block's text holds one token of one span (a multiset, consumed in
  reading order), so a row that the table lost is not held by an equal row elsewhere in it;
* tokens are runs of letters or digits, case-folded; only words of at least ``min_letters`` letters count
  (and numbers when ``numbers``): a display formula's leftover glyphs (``x``, ``2``) are not text to keep,
  its prose (``where``, ``such that``) is; a table's numbers are;
* a span without counted tokens is held (nothing to lose);
* the unheld spans of a line make one line of their own (its box their union).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter

from docray.datamodel import Line, bbox_union

_TOKEN = re.compile(r"[^\W_]+")
_TAG = re.compile(r"<[^>]*>")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")


def tokens(text: str, min_letters: int, numbers: bool) -> list[str]:
    """The counted tokens of a text: words of ``min_letters``+ letters, and numbers when ``numbers``."""
    out = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        if token.isdigit():
            if numbers:
                out.append(token)
        elif sum(ch.isalpha() for ch in token) >= min_letters:
            out.append(token)
    return out


def html_text(table_html: str) -> str:
    """The text of an HTML table (tags dropped, entities decoded, cells apart)."""
    return html.unescape(_TAG.sub(" ", table_html))


def latex_text(latex: str) -> str:
    """The words of a LaTeX formula (command names dropped: ``\\text{where}`` -> ``where``)."""
    return _LATEX_COMMAND.sub(" ", latex)


def unheld_lines(lines: list[Line], held: str, min_letters: int = 1, numbers: bool = True) -> list[Line]:
    """The parts of ``lines`` (in reading order) whose text ``held`` does not contain (see the module doc)."""
    available = Counter(tokens(held, min_letters, numbers))
    out: list[Line] = []
    for line in lines:
        kept = []
        for span in line.spans:
            counted = tokens(span.text, min_letters, numbers)
            found = 0
            for token in counted:
                if available[token] > 0:
                    available[token] -= 1
                    found += 1
            if counted and found * 2 < len(counted):
                kept.append(span)
        if kept:
            out.append(Line(spans=kept, bbox=bbox_union([s.bbox for s in kept])))
    return out
