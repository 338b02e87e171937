"""Inline formulas of one text line: maximal runs of math glyphs and the glyphs bound to them.

Per line (glyphs sorted left to right): sub/superscripts are found by size and baseline shift and take their
base's standing (``x²`` is math, a footnote mark after a word is not); full-size letters form words, an italic
word of one letter is a variable (unless it sits in an italic phrase: emphasis), an upright function name
(``sin``, ``log``) is bound to the math next to it; glyphs stacked over a rule (an inline fraction) are math.
A run is a left-to-right sequence of math and bindable glyphs (digits, operators, brackets) holding at least one
math glyph and no text letter, cut at wide gaps and at a comma followed by a word space; punctuation, hyphens
and unmatched brackets at its ends are dropped; short italic words (``dt``, ``mc``) next to it join it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docray.datamodel import BBox
from docray.operators.formula_text.detect_glyphs import FUNCTION_NAMES, Cue
from docray.operators.formula_text.detect_lines import Line
from docray.operators.textlayer.pdf_glyphs import Glyph

WORD_GAP = 0.2  # x size: letters closer than this (and both italic or both upright) belong to one word
SCRIPT_SIZE = 0.9  # a glyph smaller than this x the line size ...
SCRIPT_SHIFT = 0.12  # ... whose baseline is off the line's by more than this x size is a script
SCRIPT_REACH = 0.4  # x size: how far right of its base a script may start
RUN_GAP = 1.1  # x size: a wider gap ends a run (a \quad)
ORD_GAP = 0.8  # x the line's word space: letters or digits this far apart are not one formula
COMMA_GAP = 0.37  # x size: a text-font comma followed by a wider gap (a word space) separates two formulas
PHRASE_GAP = 0.6  # x size: a one-letter italic word this close to an italic word is emphasis
SHORT_ITALIC = 3  # italic words up to this many letters may join an adjacent run (dt, mc)
TOUCH_SPACE = 0.6  # x the line's word space: an italic word closer than this to math is part of it
DEFAULT_SPACE = 0.3  # x size: the word space when a line has too few gaps to measure it
PHRASE_LETTERS = frozenset("aAI")  # one-letter English words: next to italic words they are emphasis, not variables
DIFFERENTIAL_GAP = 0.5  # x size: how far an italic "dx" may sit from the math before or after it
_OPEN, _CLOSE = "([{", ")]}"
_PUNCT = frozenset(",.;:")
_TRIM_END = frozenset(",.;:-\u2010'")
_TRIM_START = frozenset(",.;:")


@dataclass(slots=True)
class LineMath:
    """A line's per-glyph standing (aligned with ``line.members``) and its inline runs (member positions)."""

    status: list[Cue]
    runs: list[list[int]]
    script: list[bool]


def _gap(a: Glyph, b: Glyph) -> float:
    return b.bbox[0] - a.bbox[2]


def analyse_line(glyphs: Sequence[Glyph], line: Line, cues: Sequence[Cue], rules: Sequence[BBox] = ()) -> LineMath:
    members = line.members
    em = max(line.size, 1.0)
    gl = [glyphs[i] for i in members]
    status = [cues[i] for i in members]
    script = [
        g.size < SCRIPT_SIZE * line.size and abs(g.origin[1] - line.baseline) > SCRIPT_SHIFT * line.size for g in gl
    ]
    space = word_space(gl, status, script, em)
    _words(gl, status, script, em, space)
    _fractions(gl, status, script, line, rules)
    _scripts(gl, status, script, em)
    runs = _runs(gl, status, script, em, space)
    return LineMath(status, runs, script)


def word_space(gl: list[Glyph], status: list[Cue], script: list[bool], em: float) -> float:
    """The line's word space (points): the upper group of gaps between text glyphs, split at the widest jump."""
    gaps = sorted(
        _gap(gl[k - 1], gl[k])
        for k in range(1, len(gl))
        if not (script[k] or script[k - 1])
        and status[k] != Cue.MATH
        and status[k - 1] != Cue.MATH
        and _gap(gl[k - 1], gl[k]) > 0.02 * em
    )
    gaps = [g for g in gaps if g < 1.0 * em]
    if len(gaps) < 3:
        return DEFAULT_SPACE * em
    jump, at = max((gaps[k] - gaps[k - 1], k) for k in range(1, len(gaps)))
    if jump < 0.05 * em:
        return DEFAULT_SPACE * em
    upper = gaps[at:]
    return min(max(upper[len(upper) // 2], 0.12 * em), 0.6 * em)


def _words(gl: list[Glyph], status: list[Cue], script: list[bool], em: float, space: float) -> None:
    """Italic one-letter words become math, function names bindable; italic longer words stay text."""
    words: list[list[int]] = []
    limit = min(WORD_GAP * em, 0.6 * space)
    for k, g in enumerate(gl):
        if script[k] or status[k] not in (Cue.TEXT, Cue.ITALIC) or not g.text.isalpha():
            continue
        if words and words[-1][-1] == k - 1 and _gap(gl[k - 1], g) < limit and status[k - 1] == status[k]:
            words[-1].append(k)
        else:
            words.append([k])
    italic_words = [w for w in words if len(w) > 1 and all(status[k] == Cue.ITALIC for k in w)]
    for w in words:
        text = "".join(gl[k].text for k in w)
        if all(status[k] == Cue.ITALIC for k in w):
            if len(w) == 1 and not (text in PHRASE_LETTERS and any(_near(gl, w, other, em) for other in italic_words)):
                status[w[0]] = Cue.MATH
            elif len(w) > 1:
                touch = TOUCH_SPACE * space
                reach = max(DIFFERENTIAL_GAP * em, touch) if len(w) == 2 and text[0] == "d" else touch  # dx after math
                bound = len(w) <= SHORT_ITALIC and (
                    _touches(gl, status, w[0], w[0] - 1, reach) or _touches(gl, status, w[-1], w[-1] + 1, touch)
                )
                for k in w:
                    status[k] = Cue.ITALIC if bound else Cue.TEXT
        elif text in FUNCTION_NAMES and all(status[k] == Cue.TEXT for k in w):
            for k in w:
                status[k] = Cue.BINDABLE


def _touches(gl: list[Glyph], status: list[Cue], edge: int, neighbour: int, reach: float) -> bool:
    """True when the glyph next to a word's ``edge`` is not text and sits closer than ``reach`` points."""
    if not 0 <= neighbour < len(gl) or status[neighbour] == Cue.TEXT or gl[neighbour].text in _PUNCT:
        return False
    if gl[neighbour].text.isalnum() and gl[neighbour].size >= SCRIPT_SIZE * gl[edge].size:
        return False  # a letter or digit beside it: words next to a formula, not a product (TeX sets those tight)
    left, right = (edge, neighbour) if neighbour > edge else (neighbour, edge)
    return _gap(gl[left], gl[right]) < reach


def _near(gl: list[Glyph], word: list[int], other: list[int], em: float) -> bool:
    if other[0] > word[-1]:
        return other[0] == word[-1] + 1 and _gap(gl[word[-1]], gl[other[0]]) < PHRASE_GAP * em
    return other[-1] == word[0] - 1 and _gap(gl[other[-1]], gl[word[0]]) < PHRASE_GAP * em


def _fractions(gl: list[Glyph], status: list[Cue], script: list[bool], line: Line, rules: Sequence[BBox]) -> None:
    """Glyphs above and below a rule over the line's math axis, or small glyphs stacked without a base: math."""
    for rule in rules:
        mid = (rule[1] + rule[3]) / 2
        if (
            not (line.bbox[1] - 1 <= mid <= line.baseline - 0.1 * line.size)
            or rule[2] - rule[0] > 0.5 * (line.bbox[2] - line.bbox[0]) + 20
        ):
            continue
        over = [k for k, g in enumerate(gl) if rule[0] - 1 <= (g.bbox[0] + g.bbox[2]) / 2 <= rule[2] + 1]
        above = [k for k in over if gl[k].bbox[3] <= mid + 0.5]
        below = [k for k in over if gl[k].bbox[1] >= mid - 0.5]
        if above and below:
            for k in over:
                status[k] = Cue.MATH
    for k, g in enumerate(gl):
        if not script[k]:
            continue
        up = g.origin[1] < line.baseline
        for j in range(k + 1, min(k + 4, len(gl))):
            h = gl[j]
            if script[j] and (h.origin[1] < line.baseline) != up and h.bbox[0] < g.bbox[2] and g.bbox[0] < h.bbox[2]:
                if status[k] != Cue.TEXT or status[j] != Cue.TEXT:
                    status[k] = status[j] = Cue.MATH  # stacked: fraction parts or both scripts of one base


def _scripts(gl: list[Glyph], status: list[Cue], script: list[bool], em: float) -> None:
    """A script takes its base's standing: math after math, text after a word (a footnote mark)."""
    base, reach = -1, -1e9
    for k, g in enumerate(gl):
        if not script[k]:
            base, reach = k, g.bbox[2]
            continue
        near = base >= 0 and g.bbox[0] - reach < SCRIPT_REACH * em
        reach = max(reach, g.bbox[2]) if near else reach
        if status[k] == Cue.MATH:
            continue
        if near:
            own = status[base]
            status[k] = (
                Cue.MATH if own in (Cue.MATH, Cue.ITALIC) else (Cue.BINDABLE if own == Cue.BINDABLE else Cue.TEXT)
            )
        elif status[k] == Cue.ITALIC:
            status[k] = Cue.MATH


def _ordinary(g: Glyph, status: Cue) -> bool:
    """A letter or digit, not part of a function name (``log n`` has a space)."""
    return g.text.isalnum() and not (status == Cue.BINDABLE and g.text.isalpha())


def _runs(gl: list[Glyph], status: list[Cue], script: list[bool], em: float, space: float) -> list[list[int]]:
    runs: list[list[int]] = []
    current: list[int] = []
    right = -1e9
    depth = 0
    for k, g in enumerate(gl):
        st = status[k]
        gap = g.bbox[0] - right
        breaks = st == Cue.TEXT or gap > RUN_GAP * em
        last = current[-1] if current else -1
        if (
            current
            and not breaks
            and depth <= 0
            and gl[last].text == ","
            and status[last] != Cue.MATH
            and gap > COMMA_GAP * em
        ):
            breaks = True
        ordinary = _ordinary(gl[last], status[last]) and _ordinary(g, st) and not (script[last] or script[k])
        if current and not breaks and ordinary and gap > ORD_GAP * space:
            breaks = True  # two letters/digits a word space apart: TeX puts no space between ordinary atoms
        if breaks and current:
            runs.append(current)
            current, depth = [], 0
        if st != Cue.TEXT:
            current.append(k)
            depth += (g.text in _OPEN) - (g.text in _CLOSE)
        right = g.bbox[2] if not current or len(current) == 1 else max(right, g.bbox[2])
    if current:
        runs.append(current)
    out = []
    for run in runs:
        run = _trim(gl, run, status)
        if run and any(status[k] == Cue.MATH for k in run):
            out.append(run)
    return out


def _trim(gl: list[Glyph], run: list[int], status: list[Cue]) -> list[int]:
    """Drop punctuation, hyphens, unmatched brackets and italic words that stay alone at a run's ends."""
    changed = True
    while run and changed:
        changed = False
        first, last = gl[run[0]].text, gl[run[-1]].text
        if status[run[-1]] != Cue.MATH and (last in _TRIM_END or (last in _CLOSE and _balance(gl, run) < 0)):
            run, changed = run[:-1], True
        elif status[run[0]] != Cue.MATH and (first in _TRIM_START or (first in _OPEN and _balance(gl, run) > 0)):
            run, changed = run[1:], True
    return run


def _balance(gl: list[Glyph], run: list[int]) -> int:
    return sum((gl[k].text in _OPEN) - (gl[k].text in _CLOSE) for k in run)


_BREAK_AFTER = frozenset(
    "=+-<>\u2212\u2264\u2265\u2260\u2248\u2261\u2208\u2282\u2286\u222a\u2229\u00d7\u00b7\u22c5\u2192"
)


def continue_broken(glyphs: Sequence[Glyph], lines: list[Line], maths: list[LineMath]) -> None:
    """A formula the typesetter broke after a relation or operator goes on at the start of the next line: the
    bindable glyphs there (``= / 2``) become a run even without a math glyph of their own."""
    for k, (line, math) in enumerate(zip(lines, maths, strict=True)):
        if not math.runs or math.runs[-1][-1] != len(line.members) - 1:
            continue
        if glyphs[line.members[-1]].text not in _BREAK_AFTER:
            continue
        below = [
            j
            for j in range(k + 1, len(lines))
            if lines[j].baseline > line.baseline + 0.5 * line.size
            and lines[j].bbox[1] - line.bbox[3] < 1.5 * line.size
            and lines[j].bbox[0] < line.bbox[2]
            and line.bbox[0] < lines[j].bbox[2]
        ]
        if not below:
            continue
        j = min(below, key=lambda j: (lines[j].baseline, lines[j].bbox[0]))
        nxt, nmath = lines[j], maths[j]
        if nmath.runs and nmath.runs[0][0] == 0:
            continue
        gl = [glyphs[i] for i in nxt.members]
        run: list[int] = []
        for m, g in enumerate(gl):
            if nmath.status[m] == Cue.TEXT or (run and g.bbox[0] - gl[run[-1]].bbox[2] > RUN_GAP * nxt.size):
                break
            run.append(m)
        run = _trim(gl, run, nmath.status)
        if run:
            nmath.runs.insert(0, run)
