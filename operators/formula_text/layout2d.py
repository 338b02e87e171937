"""Two-dimensional layout of formula boxes → LaTeX.

:func:`layout` works recursively on a set of boxes: rules first, narrowest first (so inner structures are built
before the ones around them): a rule at the top right of a radical sign is its vinculum (``\\sqrt``, with the
small index above the sign's left arm as ``\\sqrt[n]``), a rule with boxes above and below is a fraction, with
boxes only below an ``\\overline``. Then big operators take the boxes right above and below them as limits,
big delimiters are paired into ``\\left...\\right`` groups, matrices, ``cases`` and binomials
(:mod:`.arrays`), and the rest is read along the main baseline: boxes off it, or smaller, are the sub- and
superscripts of the baseline box before them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from docray.datamodel import BBox
from docray.operators.formula_text.atoms import AXIS, NAMES, Box, h_overlap, union

OFFLINE_RATIO = 0.9  # a script this large (of the main size) is no script: the glyphs of another line
SCRIPT_RATIO = 0.8
OFF_AXIS = 0.3  # ems: a structure whose axis is further off the line's axis is on another line
SCRIPTSCRIPT_RATIO = 0.6  # below this share of the text size, scripts are as large as their base (TeX's smallest)  # glyphs smaller than this share of the main size are scripts, wherever their baseline


@dataclass
class Issues:
    """What lowers the confidence of a reconstruction."""

    unknown: int = 0  # glyphs that could not be identified
    unplaced: int = 0  # glyphs or rules that could not be placed in the structure
    ambiguous: int = 0  # layout decisions close to their thresholds
    unmatched: int = 0  # big delimiters without partner
    offline: int = 0  # scripts set at the main size (glyphs of another line)
    text_rows: int = 0  # rows of text words over or under the formula
    dangling: int = 0  # parts cut short: a fraction or radical starting or ending with an operator, a trailing \sum
    lead: int = 0  # scripts before any base
    text_size: float = 0.0  # the formula's text size (points)


def compound(
    boxes: Sequence[Box], tex: str, *, size: float, base: float, centred: bool = False, kind: str = "struct"
) -> Box:
    x0, y0, x1, y1 = union(boxes)
    return Box(x0, y0, x1, y1, tex, kind, size, base, centred, glyph=False)


def main_size(boxes: Sequence[Box]) -> float:
    return max(b.size for b in boxes)


def layout(boxes: list[Box], rules: list[BBox], issues: Issues) -> str:
    """LaTeX of ``boxes`` (one formula or one part of it) laid out in two dimensions."""
    if not boxes:
        issues.unplaced += len(rules)
        return ""
    from docray.operators.formula_text.arrays import group_delimiters, split_lines
    from docray.operators.formula_text.decorations import apply_braces, apply_labels
    from docray.operators.formula_text.rules import apply_rules

    boxes, rules = apply_braces(boxes, rules, issues)
    boxes = apply_rules(boxes, rules, issues)
    boxes = apply_labels(boxes, issues)
    boxes = apply_limits(boxes, issues)
    boxes = group_delimiters(boxes, issues)
    lines = split_lines(boxes, issues)
    if lines is not None:
        return lines
    return baseline(boxes, issues)


# --------------------------------------------------------------------------- limits of big operators


def apply_limits(boxes: list[Box], issues: Issues) -> list[Box]:
    ops = sorted((b for b in boxes if b.limits), key=lambda b: -b.height)
    for op in ops:
        if not any(b is op for b in boxes):
            continue
        others = [b for b in boxes if b is not op]
        above = _limit(op, others, -1)
        below = _limit(op, [b for b in others if all(b is not a for a in above)], +1)
        if not above and not below:
            continue
        tex = op.tex
        if below:
            tex += f"_{{{_limit_tex(below, issues)}}}"
        if above:
            tex += f"^{{{_limit_tex(above, issues)}}}"
        box = compound([op, *above, *below], tex, size=op.size, base=op.base, centred=op.centred, kind="bigop")
        box.reach = box.x1
        box.x0, box.x1 = op.x0, op.x1  # scripts after the operator attach to it, not to its limits
        box.scripted = True
        box.glyph = op.glyph
        boxes = [b for b in boxes if b is not op and all(b is not c for c in (*above, *below))] + [box]
    return boxes


def _limit_tex(boxes: list[Box], issues: Issues) -> str:
    from docray.operators.formula_text.arrays import rows_of

    rows = rows_of(boxes)
    if len(rows) > 1:
        return "\\substack{" + " \\\\ ".join(layout(row, [], issues) for row in rows) + "}"
    return layout(boxes, [], issues)


def _limit(op: Box, boxes: list[Box], direction: int) -> list[Box]:
    slack = 0.15 * op.height if op.kind == "bigop" else 0.1 * op.size
    if direction < 0:
        seeds = [b for b in boxes if h_overlap(b, op) > 0 and b.y1 <= op.y0 + slack and b.y1 >= op.y0 - 0.9 * op.size]
    else:
        seeds = [b for b in boxes if h_overlap(b, op) > 0 and b.y0 >= op.y1 - slack and b.y0 <= op.y1 + 0.9 * op.size]
    seeds = [b for b in seeds if b.size < op.size * 0.95 or b.kind != "bigop"]
    if not seeds:
        return []
    taken = list(seeds)
    while True:
        x0, y0, x1, y1 = union(taken)
        more = [b for b in boxes if all(b is not t for t in taken) and y0 - 0.5 <= b.cy <= y1 + 0.5
                and (x0 - 0.4 * op.size <= b.x1 and b.x0 <= x1 + 0.4 * op.size)
                and not any(o.limits and o is not op and o.x0 <= b.cx <= o.x1 for o in boxes)]  # fmt: skip
        if not more:
            return taken
        taken += more


# --------------------------------------------------------------------------- baseline and scripts


def baseline(boxes: list[Box], issues: Issues) -> str:
    """Read ``boxes`` along their main baseline; boxes off it are scripts of the baseline box before them."""
    if not boxes:
        return ""
    size = main_size(boxes)
    line = _main_baseline(boxes, size)
    boxes = sorted(boxes, key=lambda b: (b.x0, b.y0))
    items: list[tuple[Box, list[Box]]] = []
    lead: list[Box] = []
    for box in boxes:
        if items and box.glyph and box.size < SCRIPT_RATIO * size and abs(box.base - line) < 0.3 * size:
            items[-1][1].append(box)  # a script's script can land on the main baseline (the prime of x_{g'})
        elif _on_baseline(box, line, size, issues):
            items.append((box, []))
        elif items:
            items[-1][1].append(box)
        else:
            lead.append(box)
    last = items[-1][0] if items else None
    if last is not None and len(items) > 1 and (last.kind == "bigop" or last.kind == "word" and last.char in NAMES):
        issues.dangling += 1  # nothing for the operator to act on
    parts: list[str] = []
    if lead:
        issues.lead += 1
        parts.append(_scripted("{}", lead, line, size, issues))
    right = None
    for index, (box, scripts) in enumerate(items):
        gap = box.x0 - right if right is not None else 0.0
        if gap > 0.8 * size and parts:
            parts.append("\\quad")
        elif (
            gap > 0.25 * size
            and (box.tex.startswith("\\text{") or parts[-1].startswith("\\text{"))
            and box.kind in ("ord", "word", "struct")
            and items[index - 1][0].kind in ("ord", "word", "struct")
        ):
            parts.append("\\ ")
        tex = box.tex
        following = items[index + 1][0] if index + 1 < len(items) else None
        if tex == "|" and not scripts and following is not None and right is not None and box.height < 1.5 * size:
            if gap > 0.2 * size and following.x0 - box.x1 > 0.2 * size:
                tex = "\\mid"
        if box.kind == "word" and tex.startswith("\\text{") and following is not None and (
                scripts or following.tex in ("(", "[") and following.x0 - box.x1 < 0.15 * size):  # fmt: skip
            tex = "\\operatorname{" + tex[len("\\text{") :]
        if scripts:
            tex = _scripted(f"{{{tex}}}" if box.scripted else tex, scripts, line, size, issues)
        parts.append(tex)
        right = max(box.reach, *(b.x1 for b in (box, *scripts)))
    return join(parts)


def _main_baseline(boxes: list[Box], size: float) -> float:
    main = [b for b in boxes if b.glyph and not b.centred and b.size >= 0.95 * size]
    main = main or [b for b in boxes if b.size >= 0.95 * size] or list(boxes)
    best, best_count = main[0].base, 0
    for box in main:
        count = sum(1 for b in main if abs(b.base - box.base) < 0.08 * size)
        if count > best_count:
            best, best_count = box.base, count
    return best


def _on_baseline(box: Box, line: float, size: float, issues: Issues) -> bool:
    offset = abs(box.base - line)
    if box.centred or not box.glyph:
        axis = line - AXIS * size
        if box.y0 - 0.5 <= axis <= box.y1 + 0.5 and (offset < 0.22 * size or box.size >= 0.9 * size):
            issues.offline += offset > OFF_AXIS * size  # a structure set off the line's axis: from another line
            return True
        return offset < 0.1 * size
    if offset < 0.06 * size:
        return True
    if box.size >= 0.85 * size and offset < 0.22 * size:
        if offset > 0.15 * size:
            issues.ambiguous += 1
        return True
    return False


def _scripted(base: str, scripts: list[Box], line: float, size: float, issues: Issues) -> str:
    if size >= SCRIPTSCRIPT_RATIO * issues.text_size and any(b.size >= OFFLINE_RATIO * size for b in scripts):
        issues.offline += 1
    sup = [b for b in scripts if b.base < line - 0.04 * size or (not b.glyph and b.cy < line - AXIS * size)]
    sub = [b for b in scripts if all(b is not s for s in sup)]
    tex = base
    if sup and all(b.kind == "prime" for b in sup):
        tex += "'" * sum(b.tex.count("\\prime") for b in sup)
        sup = []
    if sub:
        tex += f"_{{{layout(sub, [], issues)}}}"
    if sup:
        tex += f"^{{{layout(sup, [], issues)}}}"
    return tex


_TRAILING_COMMAND = re.compile(r"\\[A-Za-z]+$")


def join(parts: Sequence[str]) -> str:
    """Concatenate LaTeX pieces, with a space where a control word would swallow the next letter."""
    out = ""
    for part in parts:
        if not part:
            continue
        if out and _TRAILING_COMMAND.search(out) and (part[0].isalpha() or part[0] == "@"):
            out += " "
        out += part
    return out
