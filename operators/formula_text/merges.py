"""Glyphs that draw one symbol together, merged into one box: negated relations (a ``\\not`` slash or a ``/`` over
a relation), ``\\mapsto``, multiple integrals, long arrows, and dots (``\\ldots``, ``\\cdots``, ``\\vdots``, ``\\ddots``)."""

from __future__ import annotations

from docray.operators.formula_text.boxes import Box, h_overlap, union, v_overlap

NEGATED = {"=": "\\neq", "\\in": "\\notin", "\\equiv": "\\not\\equiv", "<": "\\nless", ">": "\\ngtr",
           "\\leq": "\\nleq", "\\geq": "\\ngeq", "\\subseteq": "\\nsubseteq", "\\sim": "\\nsim", "\\mid": "\\nmid",
           "\\parallel": "\\nparallel", "\\|": "\\nparallel", "|": "\\nmid", "\\exists": "\\nexists"}  # fmt: skip


def merge_overlays(boxes: list[Box]) -> list[Box]:
    """``\\not`` slashes and the bar of ``\\mapsto`` merged with the relation they overlay."""
    marks = [b for b in boxes if b.kind in ("not", "mapsto")]
    if not marks:
        return boxes
    used: set[int] = set()
    out = [b for b in boxes if b.kind not in ("not", "mapsto")]
    for mark in marks:
        target = max((b for b in out if b.kind in ("rel", "ord", "fence") and h_overlap(b, mark) > 0 and v_overlap(b, mark) > 0),
                     key=lambda b: h_overlap(b, mark), default=None)  # fmt: skip
        if target is None or id(target) in used:
            continue
        used.add(id(target))
        if mark.kind == "mapsto":
            target.tex = "\\longmapsto" if target.tex == "\\longrightarrow" else "\\mapsto"
        else:
            target.tex = NEGATED.get(target.tex, "\\not" + target.tex)
            target.kind = "rel"
        target.x0, target.x1 = min(target.x0, mark.x0), max(target.x1, mark.x1)
    return out


def merge_integrals(boxes: list[Box]) -> list[Box]:
    out: list[Box] = []
    for box in boxes:
        prev = out[-1] if out else None
        if (prev is not None and box.tex == "\\int" and prev.tex in ("\\int", "\\iint") and box.kind == prev.kind == "bigop"
                and box.x0 < prev.x1 - 0.5 and abs(box.y0 - prev.y0) < 1.0):  # fmt: skip
            prev.tex = "\\iint" if prev.tex == "\\int" else "\\iiint"
            prev.x1 = box.x1
            continue
        out.append(box)
    return out


def merge_dots(boxes: list[Box]) -> list[Box]:
    """Three evenly spaced dots → ``\\ldots``/``\\cdots`` (in a row), ``\\vdots`` (in a column), ``\\ddots``."""
    dots = [b for b in boxes if b.tex in (".", "\\cdot") and b.width < 0.3 * b.size]
    if len(dots) < 3:
        return boxes
    used: set[int] = set()
    merged: list[Box] = []
    for first in dots:
        if id(first) in used:
            continue
        for second in dots:
            if second is first or id(second) in used or second.tex != first.tex:
                continue
            dx, dy = second.cx - first.cx, second.cy - first.cy
            if (
                not (0.05 * first.size < (dx * dx + dy * dy) ** 0.5 < 0.6 * first.size)
                or dx < -0.2
                or (dx < 0.2 and dy < 0)
            ):
                continue
            third = next((b for b in dots if b is not first and b is not second and id(b) not in used and b.tex == first.tex
                          and abs(b.cx - second.cx - dx) < 0.4 and abs(b.cy - second.cy - dy) < 0.4), None)  # fmt: skip
            if third is None:
                continue
            if abs(dy) < 0.4:
                tex = "\\ldots" if first.tex == "." else "\\cdots"
            elif abs(dx) < 0.4:
                tex = "\\vdots"
            else:
                tex = "\\ddots"
            trio = (first, second, third)
            used.update(id(b) for b in trio)
            x0, y0, x1, y1 = union(trio)
            base = first.base if tex in ("\\ldots", "\\cdots") else third.base
            merged.append(Box(x0, y0, x1, y1, tex, "ord", first.size, base))
            break
    return sorted([b for b in boxes if id(b) not in used] + merged, key=lambda b: (b.x0, b.y0))


_LONG_ARROWS = {"\\to": "\\longrightarrow", "\\leftarrow": "\\longleftarrow", "\\Rightarrow": "\\Longrightarrow",
                "\\Leftarrow": "\\Longleftarrow", "\\leftrightarrow": "\\longleftrightarrow",
                "\\Leftrightarrow": "\\Longleftrightarrow", "\\mapsto": "\\longmapsto"}  # fmt: skip


def merge_arrows(boxes: list[Box]) -> list[Box]:
    """Arrows lengthened with overlapping minus or equals signs → long (or extensible) arrows."""
    arrows = [b for b in boxes if b.tex in _LONG_ARROWS or b.tex in _LONG_ARROWS.values()]
    if not arrows:
        return boxes
    used: set[int] = set()
    for arrow in arrows:
        changed = True
        while changed:
            changed = False
            for bar in boxes:
                if (bar.tex in ("-", "=", "\\leftarrow", "\\to") and bar is not arrow and id(bar) not in used
                        and id(bar) not in {id(a) for a in arrows} | set()
                        and h_overlap(bar, arrow) > 0.1 and abs(bar.base - arrow.base) < 0.1 * arrow.size
                        and abs(bar.size - arrow.size) < 0.5):  # fmt: skip
                    used.add(id(bar))
                    arrow.x0, arrow.x1 = min(arrow.x0, bar.x0), max(arrow.x1, bar.x1)
                    arrow.tex = _LONG_ARROWS.get(arrow.tex, arrow.tex)
                    changed = True
    return [b for b in boxes if id(b) not in used]


def merge_negations(boxes: list[Box]) -> list[Box]:
    """A ``/`` struck through a relation (LaTeX's ``\\notin``) → the negated relation; through a zero of its
    height (mathptmx's ``\\emptyset``) → ``\\emptyset``."""
    slashes = [b for b in boxes if b.tex == "/"]
    used: set[int] = set()
    for slash in slashes:
        target = next((b for b in boxes if (b.kind == "rel" or b.tex == "0") and h_overlap(b, slash) > 0.6 * slash.width
                       and abs(b.base - slash.base) < 0.1 * b.size), None)  # fmt: skip
        if target is None or (target.tex == "0" and abs(target.y0 - slash.y0) > 0.1 * target.size):
            continue
        used.add(id(slash))
        target.tex = "\\emptyset" if target.tex == "0" else NEGATED.get(target.tex, "\\not" + target.tex)
    return [b for b in boxes if id(b) not in used]


def merge_struck(boxes: list[Box]) -> list[Box]:
    """A bar drawn across the ascender of an ``h`` (Palatino's and Times' ``\\hbar``) → ``\\hbar``."""
    bars = [b for b in boxes if b.kind == "accent" and b.tex == "\\bar"]
    used: set[int] = set()
    for bar in bars:
        target = next((b for b in boxes if b.tex == "h" and h_overlap(b, bar) > 0.6 * bar.width
                       and b.y0 - 0.5 <= bar.y0 and bar.y1 <= b.cy), None)  # fmt: skip
        if target is not None:
            used.add(id(bar))
            target.tex = "\\hbar"
    return [b for b in boxes if id(b) not in used]
