"""Inline formulas of one text line: maximal runs of math glyphs and the glyphs bound to them.

Per line (glyphs sorted left to right): sub/superscripts are found by size and baseline shift and take their
base's standing (``x²`` is math, a footnote mark after a word is not); full-size letters form words, an italic
word of one letter is a variable (unless it sits in an italic phrase: emphasis), upright operator names
(``sin``, ``Ann_R(x)``) and function terms in text fonts (``F(b) - F(a)``) are bound to math (:mod:`.detect_words`);
glyphs stacked over a rule (an inline fraction) are math.
A run is a left-to-right sequence of math and bindable glyphs (digits, operators, brackets) holding at least one
math glyph and no text letter, cut at wide gaps and at a comma followed by a word space; punctuation, hyphens
and unmatched brackets at its ends are dropped; short italic words (``dt``, ``mc``) next to it join it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docray.datamodel import BBox
from docray.operators.formula_text.detect_glyphs import Cue
from docray.operators.formula_text.detect_lines import Line
from docray.operators.formula_text.detect_words import (
    bind_function_terms,
    bind_operator_names,
    classify_words,
    split_words,
)
from docray.operators.textlayer.pdf_glyphs import Glyph

SCRIPT_SIZE = 0.9  # a glyph smaller than this x the line size ...
SCRIPT_SHIFT = 0.12  # ... whose baseline is off the line's by more than this x size is a script
SCRIPT_REACH = 0.4  # x size: how far right of its base a script may start
RUN_GAP = 1.1  # x size: a wider gap ends a run (a \quad)
ORD_GAP = 0.8  # x the line's word space: letters or digits this far apart are not one formula
COMMA_GAP = 0.37  # x size: a text-font comma followed by a wider gap (a word space) separates two formulas
DEFAULT_SPACE = 0.3  # x size: the word space when a line has too few gaps to measure it
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
    """Per-glyph standing (see :class:`LineMath`) and inline runs of one line."""
    members = line.members
    em = max(line.size, 1.0)
    gl = [glyphs[i] for i in members]
    status = [cues[i] for i in members]
    script = [
        g.size < SCRIPT_SIZE * line.size and abs(g.origin[1] - line.baseline) > SCRIPT_SHIFT * line.size for g in gl
    ]
    space = word_space(gl, status, script, em)
    words = split_words(gl, status, script, em, space)
    classify_words(words, gl, status, em, space)
    bind_operator_names(words, gl, status, script, em, space)
    bind_function_terms(gl, status, script, em, space)
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
