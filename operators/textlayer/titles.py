"""Which paragraphs are titles, and their levels.

A paragraph is a title when it is short (at most ``max_lines`` lines, ``max_chars`` characters
and ``max_words`` words, no sentence boundary inside once a leading section number is removed),
reads like words (a run of three letters; it starts with a letter, digit, quote or bracket, so
display-math lines set in big glyphs are not titles; a right-to-left heading may start with its
number read separators first, "-2-5"), is not a long sentence (more than ``sentence_words`` words
ending in a period) and either

* its font size is at least ``size_ratio`` x the body size (the size carrying the most
  characters in the document), or
* it is all bold, at most two lines, about body size or larger, and does not end like a sentence
  fragment (",", ";"), or
* it is one all-italic line of at most ``max_italic_words`` words, about body size or larger, not
  ending in punctuation (a run-in subheading such as "Stainless Steel Self-Locking Nut").

Levels: the distinct title font sizes of the document (sizes within 5 % are one size), largest
first, give levels 1, 2, ... (at most ``max_levels``).  Numbered headings refine this: among
titles that start with a section number ("2", "2.1", "A.1"), those with the fewest number parts
keep their size level L, and a title with d more parts gets level L + d (at most 6), so "1 Intro"
and "1.1 Scope" set in the same font still nest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docray.datamodel import Line
from docray.operators.textlayer.lines import dominant_size, is_bold, is_italic
from docray.operators.textlayer.row_order import right_to_left

_NUMBER = re.compile(r"^(?:(?:\d{1,3}|[A-Z])(?:\.\d{1,3})+|\d{1,3})\.?\s+(?=\S)")
# a right-to-left heading's number ("5-2-"), which the text layer may read with its separators leading ("-2-5")
_RTL_NUMBER = re.compile(r"^[-\u2013.]?\d{1,3}(?:[-\u2013.]\d{1,3})*[-\u2013.]?\s+(?=\S)")
_SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z]")
_WORD = re.compile(r"[^\W\d_]{3,}")
_OPENERS = "\"'\u201c\u2018([<"


@dataclass(frozen=True, slots=True)
class TitleOptions:
    size_ratio: float = 1.15  # a title's font is at least this many times the body size
    max_lines: int = 3
    max_chars: int = 200
    max_words: int = 20
    sentence_words: int = 10  # a title ending in "." has at most this many words
    max_italic_words: int = 8  # an all-italic one-line title has at most this many words
    max_levels: int = 4


@dataclass(frozen=True, slots=True)
class TitleCandidate:
    size: float
    numbering: str | None  # "2.1" for "2.1 Methods"


def section_number(text: str) -> str | None:
    """The leading section number of a heading ("2.1 Methods" -> "2.1"), or None."""
    match = _NUMBER.match(text)
    return match.group(0).strip().rstrip(".") if match else None


def title_candidate(lines: list[Line], text: str, body_size: float, options: TitleOptions) -> TitleCandidate | None:
    """A :class:`TitleCandidate` when the paragraph reads as a title, else None."""
    if not lines or len(lines) > options.max_lines or len(text) > options.max_chars:
        return None
    number = section_number(text)
    lead = _NUMBER.match(text) or (_RTL_NUMBER.match(text) if right_to_left(text) else None)
    rest = (text[lead.end() :] if lead else text).strip()
    words = len(rest.split())
    if not rest or not _WORD.search(rest) or not (rest[0].isalnum() or rest[0] in _OPENERS):
        return None
    if words > options.max_words or (rest.endswith(".") and words > options.sentence_words):
        return None
    if _SENTENCE_BREAK.search(rest):
        return None
    size = dominant_size(lines)
    big = body_size > 0 and size >= options.size_ratio * body_size
    bold_alone = (
        is_bold(lines) and len(lines) <= 2 and size >= 0.95 * body_size and not text.rstrip().endswith((",", ";"))
    )
    italic_alone = (
        is_italic(lines)
        and len(lines) == 1
        and words <= options.max_italic_words
        and size >= 0.95 * body_size
        and not rest.endswith((".", ",", ";", ":"))
    )
    if big or bold_alone or italic_alone:
        return TitleCandidate(size=size, numbering=number)
    return None


def title_levels(candidates: list[TitleCandidate], options: TitleOptions) -> list[int]:
    """The level of each title candidate (1 = top), decided across the whole document."""
    sizes = sorted({c.size for c in candidates}, reverse=True)
    clusters: list[float] = []  # the smallest size of each cluster, largest cluster first
    for size in sizes:
        if clusters and size >= 0.95 * clusters[-1]:
            clusters[-1] = size
        else:
            clusters.append(size)

    def size_level(size: float) -> int:
        rank = next(i for i, smallest in enumerate(clusters) if size >= smallest)
        return min(rank + 1, options.max_levels)

    levels = [size_level(c.size) for c in candidates]
    numbered = [(i, c.numbering.count(".") + 1) for i, c in enumerate(candidates) if c.numbering]
    if numbered:
        top_depth = min(depth for _, depth in numbered)
        anchor = min(levels[i] for i, depth in numbered if depth == top_depth)
        for i, depth in numbered:
            levels[i] = min(anchor + depth - top_depth, 6)
    return levels
