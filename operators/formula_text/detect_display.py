"""Display formulas: from a layout model's equation boxes, or found in the text layer alone.

Without boxes, a display is a stack of line segments dominated by math (most glyphs in inline runs, at most two
text words), set in from the text's left edge (centred or indented), stacked lines joined when they lie close
above each other (fractions, limits, the lines of a multi-line display), lines without text words next to such
a stack joined too.  An equation number at a display's right, ``(3)`` / ``(2.1a)``, is left out of it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence

from docray.datamodel import BBox, bbox_union
from docray.operators.formula_text.detect_glyphs import Cue
from docray.operators.formula_text.detect_inline import LineMath, word_space
from docray.operators.formula_text.detect_lines import Line
from docray.operators.textlayer.pdf_glyphs import Glyph

NUMBER = re.compile(r"^\((?:[A-Z]?\d+(?:[.\-]\d+)*[a-z]?'?|[ivxlc]+|\*+)\)$")
NUMBER_GAP = 1.0  # x size: an equation number stands at least this far right of its formula
MIN_SHARE = 0.6  # part of a display line's glyphs in math runs
MAX_WORDS = 2  # text words (two letters or more) a display line may hold ("if", "and")
MIN_INDENT = 2.5  # x size: a display starts at least this far right of the text's left edge
STACK_GAP = 0.6  # x size: stacked display lines lie at most this far apart vertically
STACK_SIDE_GAP = 2.5  # x size: and at most this far apart sideways
BOX_SLACK = 0.25  # x body size: a layout box grows by this much to catch scripts
TEXT_SHARE, TEXT_GLYPHS, TEXT_WORDS = 0.3, 15, 3  # a line with less math, this many glyphs and words is prose


def trailing_number(glyphs: Sequence[Glyph], members: Sequence[int], em: float) -> list[int]:
    """The glyph indices of an equation number ending ``members`` (sorted left to right), or []."""
    if not members or glyphs[members[-1]].text != ")":
        return []
    baseline = glyphs[members[-1]].origin[1]
    for start in range(len(members) - 2, max(-1, len(members) - 12), -1):
        if glyphs[members[start]].text != "(":
            continue
        tail = list(members[start:])
        if any(abs(glyphs[i].origin[1] - baseline) > 0.2 * em for i in tail):
            return []
        if not NUMBER.match("".join(glyphs[i].text for i in tail)):
            return []
        rest = members[:start]
        left = glyphs[members[start]].bbox[0]
        if rest and left - max(glyphs[i].bbox[2] for i in rest) < NUMBER_GAP * em:
            return []
        return tail
    return []


def _text_words(gl: list[Glyph], status: list[Cue], script: list[bool]) -> int:
    count, length = 0, 0
    for k, g in enumerate(gl):
        if status[k] == Cue.TEXT and not script[k] and g.text.isalpha():
            length += 1
            continue
        count += length >= 2
        length = 0
    return count + (length >= 2)


def find_displays(
    glyphs: Sequence[Glyph], lines: list[Line], maths: list[LineMath], rules: Sequence[BBox], body: float
) -> list[tuple[list[int], BBox]]:
    """(glyph indices, bbox) of each display found among ``lines``; equation numbers left out."""
    em = max(body, 1.0)
    stats = []
    for line, math in zip(lines, maths, strict=True):
        gl = [glyphs[i] for i in line.members]
        number = trailing_number(glyphs, line.members, line.size)
        in_runs = sum(len(r) for r in math.runs)
        n = len(line.members) - len(number)
        words = _text_words(gl, math.status, math.script)
        share = in_runs / n if n else 0.0
        stats.append((number, share, words, n))
    text = [
        k
        for k, (_, share, words, n) in enumerate(stats)
        if share < TEXT_SHARE and n >= TEXT_GLYPHS and words >= TEXT_WORDS
    ]
    alone_numbers = {k for k, ln in enumerate(lines) if stats[k][0] and len(stats[k][0]) == len(ln.members)}
    candidates = []
    for k, (line, (number, share, words, n)) in enumerate(zip(lines, stats, strict=True)):
        if k in alone_numbers or n == 0 or share < MIN_SHARE or words > MAX_WORDS:
            continue
        x0 = line.bbox[0]
        x1 = max(glyphs[i].bbox[2] for i in line.members if i not in number)
        left, right = _frame(lines, text, line.bbox)
        numbered = bool(number) or any(
            abs(lines[j].baseline - line.baseline) < 0.3 * em and lines[j].bbox[0] > x1 for j in alone_numbers
        )
        if x0 - left >= MIN_INDENT * em and (right - x1 >= NUMBER_GAP * em or numbered):
            candidates.append(k)
    groups = _stack(lines, candidates, stats, em)
    out = []
    for group in groups:
        members = [i for k in group for i in lines[k].members if i not in set(stats[k][0])]
        boxes = [glyphs[i].bbox for i in members]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        out.append((sorted(members), with_rules(box, rules, 0.3 * em)))
    return out


def _frame(lines: list[Line], text: list[int], box: BBox) -> tuple[float, float]:
    """Left and right edges of the text lines over the same x range as ``box`` (its column), or of all lines."""
    column = [k for k in text if lines[k].bbox[0] < box[2] and box[0] < lines[k].bbox[2]] or text
    if not column:
        return min(ln.bbox[0] for ln in lines), max(ln.bbox[2] for ln in lines)
    return statistics.median(lines[k].bbox[0] for k in column), statistics.median(lines[k].bbox[2] for k in column)


def _stack(lines: list[Line], candidates: list[int], stats, em: float) -> list[list[int]]:
    """Candidate lines joined into stacks; word-free lines touching a stack join it."""
    taken: set[int] = set()
    groups: list[list[int]] = []
    for k in candidates:
        if k in taken:
            continue
        group = [k]
        taken.add(k)
        grew = True
        while grew:
            grew = False
            box = bbox_union([lines[j].bbox for j in group])
            for j, line in enumerate(lines):
                if j in taken or stats[j][3] == 0:
                    continue
                joins = j in candidates or (stats[j][2] == 0 and stats[j][3] <= 25 and not stats[j][0])
                near = line.bbox[1] - box[3] <= STACK_GAP * em and box[1] - line.bbox[3] <= STACK_GAP * em
                slack = STACK_SIDE_GAP * em  # segments of one display split at a \qquad
                overlaps = box[0] - slack < line.bbox[2] and line.bbox[0] < box[2] + slack
                if joins and near and overlaps:
                    group.append(j)
                    taken.add(j)
                    grew = True
        groups.append(group)
    return groups


def with_rules(box: BBox, rules: Sequence[BBox], slack: float) -> BBox:
    """``box`` grown by the rules (fraction bars, vincula) that lie within it (``slack`` points of play)."""
    inner = [
        r
        for r in rules
        if r[0] >= box[0] - slack and r[2] <= box[2] + slack and r[1] >= box[1] - slack and r[3] <= box[3] + slack
    ]
    return bbox_union([box, *inner]) if inner else box


def is_prose(glyphs: Sequence[Glyph], line: Line, math: LineMath) -> bool:
    """A line of running text: few of its glyphs in math runs, and several text words (split at word spaces)."""
    n = len(line.members)
    if n < TEXT_GLYPHS or sum(len(r) for r in math.runs) >= TEXT_SHARE * n:
        return False
    gl = [glyphs[i] for i in line.members]
    space = 0.5 * word_space(gl, math.status, math.script, max(line.size, 1.0))
    words = length = 0
    for k, g in enumerate(gl):
        if length and g.bbox[0] - gl[k - 1].bbox[2] >= space:  # a word space ends the word
            words, length = words + (length >= 2), 0
        if math.status[k] == Cue.TEXT and not math.script[k] and g.text.isalpha():
            length += 1
        else:
            words, length = words + (length >= 2), 0
    return words + (length >= 2) >= TEXT_WORDS


def from_boxes(
    glyphs: Sequence[Glyph],
    boxes: Sequence[BBox],
    rules: Sequence[BBox],
    body: float,
    prose: Callable[[list[int]], set[int]] | None = None,
) -> list[tuple[list[int], BBox]]:
    """Each layout box's glyphs (centre inside the slightly grown box), less a trailing equation number, less the
    lines whose words the box's edge cuts (:func:`cut_lines`) and less the glyphs of the lines of running text
    that ``prose`` finds among them (a box that took a sentence)."""
    slack = BOX_SLACK * max(body, 1.0)
    taken: set[int] = set()
    out = []
    for box in boxes:
        x0, y0, x1, y1 = box[0] - slack, box[1] - slack, box[2] + slack, box[3] + slack
        members = [
            i
            for i, g in enumerate(glyphs)
            if i not in taken and x0 <= (g.bbox[0] + g.bbox[2]) / 2 <= x1 and y0 <= (g.bbox[1] + g.bbox[3]) / 2 <= y1
        ]
        cut = cut_lines(glyphs, members)
        members = [i for i in members if i not in cut]
        if prose is not None:
            text = prose(members)
            members = [i for i in members if i not in text]
        if not members:
            continue
        number = _box_number(glyphs, members, body)
        members = [i for i in members if i not in number]
        if not members:
            continue
        taken.update(members)
        out.append((members, with_rules(bbox_union([glyphs[i].bbox for i in members]), rules, slack)))
    return out


WORD_GAP = 0.15  # font sizes: letters closer than this are of one word


def cut_lines(glyphs: Sequence[Glyph], members: list[int]) -> set[int]:
    """The members on the lines that a box's edge cuts inside a word (a member letter with a letter outside the box
    right beside it on its baseline, closer than ``WORD_GAP`` font sizes), scripts included.  A display formula is set apart from the
    text; a box that splits a word ("r|epresentation of the form ...") took a line of the paragraph."""
    inside = set(members)
    letters = [i for i, g in enumerate(glyphs) if g.text.isalpha()]
    outside = [i for i in letters if i not in inside]
    cut_baselines = []
    for i in members:
        g = glyphs[i]
        if not g.text.isalpha():
            continue
        size = max(g.size, 1.0)
        for j in outside:
            h = glyphs[j]
            if abs(h.origin[1] - g.origin[1]) >= 0.2 * size:
                continue
            gap = max(h.bbox[0] - g.bbox[2], g.bbox[0] - h.bbox[2])
            if -0.1 * size <= gap < WORD_GAP * size:
                cut_baselines.append((g.origin[1], size))
                break
    # the whole line: its letters' baseline band and the scripts set on it (centre within the line's height)
    return {
        i
        for i in members
        for y, size in cut_baselines
        if y - 0.9 * size <= (glyphs[i].bbox[1] + glyphs[i].bbox[3]) / 2 <= y + 0.3 * size
    }


def _box_number(glyphs: Sequence[Glyph], members: list[int], body: float) -> set[int]:
    last = max(members, key=lambda i: glyphs[i].bbox[2])
    baseline = glyphs[last].origin[1]
    row = sorted(
        (i for i in members if abs(glyphs[i].origin[1] - baseline) < 0.2 * body), key=lambda i: glyphs[i].bbox[0]
    )
    number = trailing_number(glyphs, row, body)
    if not number:
        return set()
    start = glyphs[number[0]].bbox[0]
    others = [i for i in members if i not in set(number)]
    if others and max(glyphs[i].bbox[2] for i in others) > start - NUMBER_GAP * body:
        return set()
    return set(number)
