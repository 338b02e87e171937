"""Lines in reading order -> paragraphs, and a paragraph's text.

A new paragraph starts between two consecutive lines ``a`` -> ``b`` when

* ``b`` does not continue ``a``'s column: it starts above ``a`` or shares no x-range with it;
* the vertical gap is clearly bigger than the document's usual line gap
  (``gap > (typical_gap_em + gap_em) * size``);
* the font size changes by more than ``size_change`` (relative), or boldness or italics flip
  (an all-bold or all-italic line next to one that is not: headings in body size).  Lines without
  font sizes (OCR lines) are measured by their box height, which varies with the letters of the
  line (ascenders, descenders) as much as a size change would: between two such lines only a
  change of more than ``box_size_change`` counts;
* ``b`` has a first-line indent: it starts ``indent_min_em``..``indent_max_em`` font sizes to the
  right of ``a``, reaches at least as far right, and the line after ``b`` returns to the left
  (a hanging indent, as in lists and references, keeps its continuation lines);
* ``a`` ends a sentence well short of the right edge and ``b`` starts at the left edge.

Text joining (:func:`join_lines`): soft line breaks become spaces.  **Dehyphenation rule**: a line
ending in a hyphen after a letter, followed by a line starting with a lowercase letter, joins the
word without the hyphen ("exam-" + "ple" -> "example"); followed by anything else (a capital, a
digit) the hyphen is kept and the parts join without a space ("Bose-" + "Einstein" ->
"Bose-Einstein").  A soft hyphen (U+00AD) at a line end is always dropped.  The cost of the rule:
a compound broken at its own hyphen before a lowercase word ("well-" + "known") loses the hyphen.
Lines of Chinese or Japanese text (Han, kana) join without a space; Korean (Hangul) and other scripts with a
space, as words are written there.  With dehyphenation off, a line-end hyphen after a letter
is kept and the parts join without a space ("exam-" + "ple" -> "exam-ple").
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from docray.datamodel import Line
from docray.operators.textlayer.lines import is_bold, is_italic, line_size, line_text

_HYPHENS = ("-", "\u2010")
_SOFT_HYPHEN = "\u00ad"
_SENTENCE_END = re.compile(r"[.!?:;\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")


@dataclass(frozen=True, slots=True)
class ParagraphOptions:
    gap_em: float = 0.3  # extra vertical gap (font sizes) over the usual line gap that splits
    size_change: float = 0.1  # relative font-size change that splits
    box_size_change: float = 0.3  # the same, between lines sized by their box height (OCR lines)
    indent_min_em: float = 0.8  # smallest first-line indent (font sizes)
    indent_max_em: float = 8.0  # largest first-line indent (font sizes)
    short_line_em: float = 4.0  # a sentence end this far short of the right edge ends a paragraph


def typical_gap_em(columns_of_lines: list[list[Line]]) -> float:
    """Median vertical gap between consecutive lines of one column, in font sizes."""
    ratios: list[float] = []
    for lines in columns_of_lines:
        for a, b in zip(lines, lines[1:]):
            size = min(line_size(a), line_size(b)) or 1.0
            gap = b.bbox[1] - a.bbox[3]
            if _same_column(a, b) and abs(line_size(a) - line_size(b)) < 0.5 and -0.5 * size < gap < 1.5 * size:
                ratios.append(gap / size)
    return statistics.median(ratios) if ratios else 0.2


def split_paragraphs(
    lines: list[Line], gap_em: float, options: ParagraphOptions = ParagraphOptions()
) -> list[list[Line]]:
    """Consecutive lines (in reading order) grouped into paragraphs."""
    paragraphs: list[list[Line]] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else None
        if paragraphs and not _starts_paragraph(paragraphs[-1], line, following, gap_em, options):
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
    return paragraphs


def _same_column(a: Line, b: Line) -> bool:
    overlap = min(a.bbox[2], b.bbox[2]) - max(a.bbox[0], b.bbox[0])
    return overlap > 0 and b.bbox[1] >= a.bbox[1] + 0.5 * (a.bbox[3] - a.bbox[1])


def _starts_paragraph(
    current: list[Line], b: Line, following: Line | None, gap_em: float, options: ParagraphOptions
) -> bool:
    a = current[-1]
    if not _same_column(a, b):
        return True
    size_a, size_b = line_size(a), line_size(b)
    size = min(size_a, size_b) or 1.0
    boxes_only = not _has_font_size(a) and not _has_font_size(b)
    if abs(size_a - size_b) > (options.box_size_change if boxes_only else options.size_change) * max(size_a, size_b):
        return True
    if b.bbox[1] - a.bbox[3] > (gap_em + options.gap_em) * size:
        return True
    if is_bold([a]) != is_bold([b]) or is_italic([a]) != is_italic([b]):
        return True
    if _first_line_indent(a, b, following, size, options):
        return True
    left = min(line.bbox[0] for line in current)
    right = max(max(line.bbox[2] for line in current), b.bbox[2])
    ends_short = right - a.bbox[2] > max(options.short_line_em * size, 0.1 * (right - left))
    return ends_short and bool(_SENTENCE_END.search(line_text(a))) and b.bbox[0] <= left + 0.5 * size


def _has_font_size(line: Line) -> bool:
    return any(span.size > 0 for span in line.spans)


def _first_line_indent(a: Line, b: Line, following: Line | None, size: float, options: ParagraphOptions) -> bool:
    indent = b.bbox[0] - a.bbox[0]
    if not (options.indent_min_em * size <= indent <= options.indent_max_em * size):
        return False
    if b.bbox[2] < a.bbox[2] - size:  # narrower on the right too: centred text, not an indent
        return False
    if following is not None and _same_column(b, following):
        return following.bbox[0] <= b.bbox[0] - options.indent_min_em * size
    return True


# Scripts written without spaces between words (Han, Hiragana, Katakana, their punctuation and full-width
# forms): a line break inside them is no word break.  Hangul is written with spaces, as Latin is.
_UNSPACED = (
    ("\u2e80", "\u2fdf"),  # CJK and Kangxi radicals
    ("\u3000", "\u303f"),  # CJK symbols and punctuation
    ("\u3040", "\u30ff"),  # Hiragana, Katakana
    ("\u31c0", "\u31ff"),  # CJK strokes, Katakana phonetic extensions
    ("\u3400", "\u4dbf"),  # CJK extension A
    ("\u4e00", "\u9fff"),  # CJK unified ideographs
    ("\uf900", "\ufaff"),  # CJK compatibility ideographs
    ("\uff00", "\uff9f"),  # full-width forms, half-width Katakana (not half-width Hangul)
    ("\U00020000", "\U0003134f"),  # CJK extensions B-G
)


def is_unspaced(ch: str) -> bool:
    """True for a character of a script written without spaces between words (Chinese, Japanese)."""
    return any(lo <= ch <= hi for lo, hi in _UNSPACED)


def join_lines(texts: list[str], dehyphenate: bool = True) -> str:
    """One paragraph's text from its line texts (see the module doc for the hyphen rule)."""
    out = ""
    for raw in texts:
        text = raw.strip()
        if not text:
            continue
        if not out:
            out = text
        elif out.endswith(_SOFT_HYPHEN):
            out = out[:-1] + text
        elif out.endswith(_HYPHENS) and len(out) > 1 and out[-2].isalpha():
            out = (out[:-1] if dehyphenate and text[0].islower() else out) + text
        elif is_unspaced(out[-1]) and is_unspaced(text[0]):
            out += text
        else:
            out += " " + text
    return out.replace(_SOFT_HYPHEN, "")
