"""Rules in a formula's layout: a rule at the top right of a radical sign is its vinculum (``\\sqrt``, with the small
index above the sign's left arm as ``\\sqrt[n]``), a rule with boxes above and below is a fraction, with boxes only
below an ``\\overline`` (only above an ``\\underline``). Rules are taken narrowest first, so inner structures are
built before the ones around them. A fraction or radical whose parts look cut (see :mod:`.cuts`), or whose numerator
or denominator is off the bar's centre, counts as cut short in the confidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from docray.datamodel import BBox
from docray.operators.formula_text.boxes import AXIS, Box
from docray.operators.formula_text.cuts import dangling
from docray.operators.formula_text.layout2d import Issues, compound, layout, main_size

OFF_CENTRE = 0.2  # ems: a numerator or denominator further off the bar's centre is cut


def apply_rules(boxes: list[Box], rules: list[BBox], issues: Issues) -> list[Box]:
    rules = sorted((r for r in rules if r[2] - r[0] >= r[3] - r[1]), key=lambda r: r[2] - r[0])
    for index, rule in enumerate(rules):
        others = rules[index + 1 :]
        built = _radical(boxes, rule, issues) or _fraction(boxes, rule, others, issues)
        if built is None:
            issues.unplaced += 1
            continue
        claimed, box = built
        boxes = [b for b in boxes if all(b is not c for c in claimed)] + [box]
    return boxes


def _radical(boxes: list[Box], rule: BBox, issues: Issues) -> tuple[list[Box], Box] | None:
    x0, y0, x1, y1 = rule
    signs = [b for b in boxes if b.kind == "radical" and abs(b.x1 - x0) < 2.0 and abs(b.y0 - y0) < 2.0]
    if not signs:
        return None
    sign = min(signs, key=lambda b: abs(b.x1 - x0) + abs(b.y0 - y0))
    content = [b for b in boxes if b is not sign and x0 - 0.5 <= b.cx <= x1 + 0.5 and y1 - 0.5 <= b.cy <= sign.y1 + 1.0]
    small = 0.8 * (main_size(content) if content else sign.size)
    index = [b for b in boxes if b is not sign and all(b is not c for c in content) and sign.x0 - 4.0 <= b.x0
             and b.x1 <= sign.x0 + 0.75 * sign.width and b.y1 <= sign.cy and b.y0 >= sign.y0 - 0.3 * sign.height
             and b.size <= small]  # fmt: skip
    inner = layout(content, [], issues) if content else ""
    issues.dangling += dangling(inner)
    if not content:
        issues.ambiguous += 1
    tex = f"\\sqrt[{layout(index, [], issues)}]{{{inner}}}" if index else f"\\sqrt{{{inner}}}"
    size = main_size(content) if content else sign.size
    base = _base_of(content) if content else sign.y1
    return [sign, *content, *index], compound([sign, *content, *index], tex, size=size, base=base)


def _base_of(boxes: Sequence[Box]) -> float:
    size = main_size(boxes)
    best = [b for b in boxes if b.size >= 0.95 * size and not b.centred and b.glyph]
    if best:
        return sorted(b.base for b in best)[len(best) // 2]
    return max(b.base for b in boxes)


def _stack(candidates: list[Box], start: float, direction: int, barriers: list[BBox], gap: float) -> list[Box]:
    """Boxes stacked contiguously away from ``start`` (``direction`` -1 up, +1 down), stopping at barrier rules."""
    if direction < 0:
        limit = max((r[3] for r in barriers if r[3] <= start), default=float("-inf"))
        ordered = sorted((b for b in candidates if b.y1 <= start + 1.0 and b.cy > limit), key=lambda b: -b.y1)
    else:
        limit = min((r[1] for r in barriers if r[1] >= start), default=float("inf"))
        ordered = sorted((b for b in candidates if b.y0 >= start - 1.0 and b.cy < limit), key=lambda b: b.y0)
    taken: list[Box] = []
    edge = start
    for box in ordered:
        near = (edge - box.y1) if direction < 0 else (box.y0 - edge)
        if taken and near > gap * max(b.size for b in taken):
            break
        if not taken and near > 0.9 * box.size:
            break
        taken.append(box)
        edge = min(edge, box.y0) if direction < 0 else max(edge, box.y1)
    return taken


def _fraction(boxes: list[Box], rule: BBox, others: list[BBox], issues: Issues) -> tuple[list[Box], Box] | None:
    x0, y0, x1, y1 = rule
    inside = [b for b in boxes if b.x0 >= x0 - 1.2 and b.x1 <= x1 + 1.2]
    barriers = [r for r in others if min(r[2], x1) - max(r[0], x0) > 0]
    size = main_size(inside) if inside else 10.0
    num = _stack(inside, y0, -1, barriers, 0.3)
    den = _stack(inside, y1, +1, barriers, 0.3)
    axis = (y0 + y1) / 2
    if num and den:
        parts = (layout(num, [], issues), layout(den, [], issues))
        issues.dangling += dangling(parts[0]) + dangling(parts[1])
        centre, slack = (x0 + x1) / 2, OFF_CENTRE * max(main_size(num), main_size(den)) + 0.5
        issues.dangling += any(
            abs((min(b.x0 for b in part) + max(b.x1 for b in part)) / 2 - centre) > slack for part in (num, den)
        )  # TeX centres both on the bar: a bar cut with its region
        tex = f"\\frac{{{parts[0]}}}{{{parts[1]}}}"
        size = max(main_size(num), main_size(den))
        return [*num, *den], _with_rule(
            compound([*num, *den], tex, size=size, base=axis + AXIS * size, centred=True), rule
        )
    if den:  # boxes only under the rule: an overline
        inner = layout(den, [], issues)
        issues.dangling += dangling(inner)
        return den, _with_rule(compound(den, f"\\overline{{{inner}}}", size=main_size(den), base=_base_of(den)), rule)
    if num:
        inner = layout(num, [], issues)
        return num, _with_rule(compound(num, f"\\underline{{{inner}}}", size=main_size(num), base=_base_of(num)), rule)
    return None


def _with_rule(box: Box, rule: BBox) -> Box:
    box.x0, box.y0, box.x1, box.y1 = (
        min(box.x0, rule[0]),
        min(box.y0, rule[1]),
        max(box.x1, rule[2]),
        max(box.y1, rule[3]),
    )
    return box
