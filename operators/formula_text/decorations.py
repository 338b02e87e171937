"""Things set over or under a box: horizontal braces (``\\underbrace``/``\\overbrace``, drawn as four CMEX brace
pieces joined by rules) and labels over relations and arrows (``\\xrightarrow{f}``, ``\\overset{def}{=}``)."""

from __future__ import annotations

from docray.datamodel import BBox
from docray.operators.formula_text.atoms import Box, h_overlap, union
from docray.operators.formula_text.layout2d import Issues, compound, layout, main_size

BRACE_PIECES = ("\\bracetip", "\\braceext")  # tex given to CMEX 0x7A-0x7D (symbols.CMEX), txexa 0x20 (font_codes)
_ARROWS = {"\\to": "\\xrightarrow", "\\longrightarrow": "\\xrightarrow", "\\leftarrow": "\\xleftarrow",
           "\\longleftarrow": "\\xleftarrow", "\\Rightarrow": "\\xRightarrow", "\\Longrightarrow": "\\xRightarrow",
           "\\Leftarrow": "\\xLeftarrow", "\\Longleftarrow": "\\xLeftarrow", "\\leftrightarrow": "\\xleftrightarrow",
           "\\longleftrightarrow": "\\xleftrightarrow", "\\Leftrightarrow": "\\xLeftrightarrow",
           "\\mapsto": "\\xmapsto", "\\longmapsto": "\\xmapsto"}  # fmt: skip


def apply_braces(boxes: list[Box], rules: list[BBox], issues: Issues) -> tuple[list[Box], list[BBox]]:
    """Horizontal braces with the box they span and their label → ``\\underbrace{..}_{..}`` / ``\\overbrace``."""
    pieces = sorted((b for b in boxes if b.tex in BRACE_PIECES), key=lambda b: b.x0)
    if not pieces:
        return boxes, rules
    braces: list[list[Box]] = []
    used_rules: list[BBox] = []
    for piece in pieces:
        if braces:
            last = braces[-1][-1]
            same_band = min(last.y1, piece.y1) - max(last.y0, piece.y0) > -1.0
            bridge = [
                r
                for r in rules
                if r[0] <= last.x1 + 1.0 and r[2] >= piece.x0 - 1.0 and last.y0 - 1 <= r[1] <= last.y1 + 1
            ]
            tips = sum(b.tex == "\\bracetip" for b in braces[-1])
            if (
                same_band
                and (piece.x0 - last.x1 < 0.5 * piece.size or bridge)
                and (tips < 4 or piece.tex != "\\bracetip")
            ):
                braces[-1].append(piece)
                used_rules += bridge
                continue
        braces.append([piece])
    rules = [r for r in rules if r not in used_rules]
    rest = [b for b in boxes if b.tex not in BRACE_PIECES]
    for pieces_of_brace in braces:
        x0, y0, x1, y1 = union(pieces_of_brace)
        brace = [b for b in pieces_of_brace if b.tex == "\\bracetip"] or pieces_of_brace
        middle = brace[1:-1] or brace
        under = sum(b.cy for b in middle) / len(middle) > sum(b.cy for b in (brace[0], brace[-1])) / 2
        inside = [b for b in rest if x0 - 1.0 <= b.cx <= x1 + 1.0]
        if under:
            body = [b for b in inside if b.cy < y0]
            label = [b for b in inside if b.cy > y1 and b.y0 - y1 < 1.0 * brace[0].size]
        else:
            body = [b for b in inside if b.cy > y1]
            label = [b for b in inside if b.cy < y0 and y0 - b.y1 < 1.0 * brace[0].size]
        if body:  # only the line next to the brace
            size = main_size(body)
            edge = max(b.y1 for b in body) if under else min(b.y0 for b in body)
            body = [b for b in body if (edge - b.y1 if under else b.y0 - edge) < 1.5 * size]
        if not body:
            issues.unplaced += len(pieces_of_brace)
            continue
        command, script = ("\\underbrace", "_") if under else ("\\overbrace", "^")
        tex = f"{command}{{{layout(body, [], issues)}}}"
        if label:
            tex += f"{script}{{{layout(label, [], issues)}}}"
        members = [*body, *label, *pieces_of_brace]
        base_box = max(body, key=lambda b: b.size)
        box = compound(members, tex, size=main_size(body), base=base_box.base)
        box.scripted = True
        rest = [b for b in rest if all(b is not m for m in members)] + [box]
    return rest, rules


def apply_labels(boxes: list[Box], issues: Issues) -> list[Box]:
    """Small boxes right above a relation → ``\\overset{..}{=}``; above an arrow → ``\\xrightarrow{..}``."""
    relations = [b for b in boxes if b.kind == "rel" and b.glyph]
    for rel in relations:
        above = [b for b in boxes if b is not rel and b.size < 0.9 * rel.size and b.y1 <= rel.y0 + 0.5
                 and rel.y0 - b.y1 < 0.5 * rel.size and b.cx >= rel.x0 - 0.5 and b.cx <= rel.x1 + 0.5
                 and h_overlap(b, rel) > 0]  # fmt: skip
        if not above:
            continue
        label = layout(above, [], issues)
        if rel.tex in _ARROWS:
            tex = f"{_ARROWS[rel.tex]}{{{label}}}"
        else:
            tex = f"\\overset{{{label}}}{{{rel.tex}}}"
        box = compound([rel, *above], tex, size=rel.size, base=rel.base, kind="rel")
        box.glyph = True
        boxes = [b for b in boxes if b is not rel and all(b is not a for a in above)] + [box]
    return boxes
