"""Big delimiters: paired into ``\\left...\\right`` groups; a group whose content is laid out in rows and columns
becomes a matrix (``pmatrix``, ``bmatrix``, ``vmatrix``...), a binomial, or — a left brace alone — ``cases``.
"""

from __future__ import annotations

from docray.operators.formula_text.atoms import Box, delimiter_of, is_closing, is_opening, text_width_share
from docray.operators.formula_text.layout2d import Issues, compound, join, layout, main_size
from docray.operators.formula_text.symbols import DELIM_TEX

ENVIRONMENTS = {("(", ")"): "pmatrix", ("[", "]"): "bmatrix", ("|", "|"): "vmatrix", ("‖", "‖"): "Vmatrix",
                ("{", "}"): "Bmatrix", ("{", ""): "cases"}  # fmt: skip
COLUMN_GAP = 0.6  # ems: wider horizontal gaps through all rows separate matrix columns
TEXT_ROW_SHARE = 0.5  # a row of a multi-line region with more of its width in text words is text, not formula
BINOM_ROW_DISTANCE = 1.3  # ems between the baselines of a binomial's two rows (a two-row matrix's are closer)


def _is_big(box: Box) -> bool:
    return box.kind == "delim"


def group_delimiters(boxes: list[Box], issues: Issues) -> list[Box]:
    delims = sorted((b for b in boxes if _is_big(b)), key=lambda b: b.x0)
    if not delims:
        return boxes
    stack: list[Box] = []
    pairs: list[tuple[Box, Box | None]] = []
    for delim in delims:
        char = delimiter_of(delim)
        top = stack[-1] if stack else None
        fits = (
            top is not None
            and abs(top.y0 - delim.y0) < 0.25 * delim.height
            and abs(top.y1 - delim.y1) < 0.25 * delim.height
        )
        if char in "|‖" and fits and delimiter_of(top) == char:
            pairs.append((stack.pop(), delim))
        elif is_opening(char) or char in "|‖":
            stack.append(delim)
        elif is_closing(char) and fits and _partner(delimiter_of(top), char):
            pairs.append((stack.pop(), delim))
        else:
            issues.unmatched += 1
    pairs += [(left, None) for left in stack if delimiter_of(left) == "{"]
    for left, right in pairs:  # innermost first: pairs close in order
        if not any(b is left for b in boxes):
            continue
        end = right.x0 if right is not None else float("inf")
        content = [b for b in boxes if b is not left and b is not right and left.x1 - 1.0 <= b.cx <= end + 1.0
                   and left.y0 - 1.0 <= b.cy <= left.y1 + 1.0]  # fmt: skip
        box = _group(left, right, content, issues)
        members = [left, *content] + ([right] if right is not None else [])
        boxes = [b for b in boxes if all(b is not m for m in members)] + [box]
    for box in boxes:
        if _is_big(box):  # unpaired: plain delimiter
            box.tex = DELIM_TEX.get(box.char, box.char)
            if box.char not in "|‖":
                issues.unmatched += 1
    return boxes


def _partner(opening: str, closing: str) -> bool:
    return (opening + closing) in ("()", "[]", "{}", "⟨⟩", "⌊⌋", "⌈⌉", "[)", "(]")


def _group(left: Box, right: Box | None, content: list[Box], issues: Issues) -> Box:
    members = [left, *content] + ([right] if right is not None else [])
    inner_size = main_size(content) if content else left.size
    size = max(inner_size, left.size)
    lchar, rchar = left.char, right.char if right is not None else ""
    rows = rows_of(content)
    columns = _columns(content, size) if content else []
    matrix = len(rows) > 1 or len(columns) > 1
    if matrix and (lchar, rchar) in ENVIRONMENTS:
        if lchar == "(" and len(rows) == 2 and len(columns) == 1 and (
                inner_size < 0.9 * left.size or _row_distance(rows) > BINOM_ROW_DISTANCE * inner_size):  # fmt: skip
            tex = f"\\binom{{{layout(rows[0], [], issues)}}}{{{layout(rows[1], [], issues)}}}"
        else:
            env = ENVIRONMENTS[(lchar, rchar)]
            size = inner_size
            body = " \\\\ ".join(" & ".join(layout([b for b in row if lo <= b.cx <= hi], [], issues) for lo, hi in columns)
                                  for row in rows)  # fmt: skip
            tex = f"\\begin{{{env}}} {body} \\end{{{env}}}"
        axis = (left.y0 + left.y1) / 2
        return compound(members, tex, size=size, base=axis + 0.25 * size, centred=True)
    inner = layout(content, [], issues) if content else ""
    opening = DELIM_TEX.get(lchar, lchar)
    closing = DELIM_TEX.get(rchar, rchar) if right is not None else "."
    if len(rows) > 1:
        issues.ambiguous += 1
    tex = join([f"\\left{opening}", inner, f"\\right{closing}"])
    axis = (left.y0 + left.y1) / 2
    glyphs = [b for b in content if b.glyph and not b.centred and b.size >= 0.95 * size]
    base = _content_base(glyphs, size) if glyphs else axis + 0.25 * size
    return compound(members, tex, size=size, base=base, centred=True)


def _content_base(content: list[Box], size: float) -> float:
    glyphs = sorted(b.base for b in content if b.glyph and not b.centred and b.size >= 0.95 * size)
    if glyphs:
        return glyphs[len(glyphs) // 2]
    return max(b.base for b in content)


def rows_of(content: list[Box]) -> list[list[Box]]:
    """Content split into rows: main-size boxes grouped where their heights overlap, then each smaller box (a
    script) put in the row nearest to it."""
    if not content:
        return []
    size = main_size(content)
    main = [b for b in content if b.size >= 0.9 * size]
    spans = sorted(((b.y0 + 0.05 * b.height, b.y1 - 0.05 * b.height, b) for b in main), key=lambda s: s[0])
    rows: list[list[Box]] = []
    bands: list[list[float]] = []
    for top, low, box in spans:
        if rows and top < bands[-1][1]:
            rows[-1].append(box)
            bands[-1][1] = max(bands[-1][1], low)
        else:
            rows.append([box])
            bands.append([top, low])
    for box in content:
        if any(box is b for b in main):
            continue
        nearest = min(range(len(rows)), key=lambda i: max(bands[i][0] - box.cy, box.cy - bands[i][1], 0.0))
        rows[nearest].append(box)
    return rows


def _columns(content: list[Box], size: float) -> list[tuple[float, float]]:
    spans = sorted((b.x0, max(b.x1, b.reach)) for b in content)  # an operator's limits may reach past it
    columns: list[list[float]] = []
    for x0, x1 in spans:
        if columns and x0 - columns[-1][1] < COLUMN_GAP * size:
            columns[-1][1] = max(columns[-1][1], x1)
        else:
            columns.append([x0, x1])
    return [(lo - 0.5, hi + 0.5) for lo, hi in columns]


def _row_distance(rows: list[list[Box]]) -> float:
    bases = [min(rows[i], key=lambda b: abs(b.cy - sum(c.cy for c in rows[i]) / len(rows[i]))).base for i in (0, 1)]
    return abs(bases[1] - bases[0])


def split_lines(boxes: list[Box], issues: Issues) -> str | None:
    """Boxes set on several lines (``aligned``, ``gathered``) → that environment; None for one line.

    Lines are aligned at a relation when every line but the first starts with one and they share its x;
    otherwise they are gathered (centred).
    """
    rows = rows_of(boxes)
    if len(rows) < 2:
        return None
    size = main_size(boxes)
    tops = [min(b.y0 for b in row) for row in rows]
    bottoms = [max(b.y1 for b in row) for row in rows]
    if any(tops[i + 1] - bottoms[i] < 0.1 * size for i in range(len(rows) - 1)):
        return None
    issues.ambiguous += 1
    issues.text_rows += sum(text_width_share(row) > TEXT_ROW_SHARE for row in rows)
    rows = [sorted(row, key=lambda b: b.x0) for row in rows]
    marks = [next((b for b in row if b.kind == "rel" and b.size >= 0.9 * size), None) for row in rows]
    centres = [(row[0].x0 + max(b.x1 for b in row)) / 2 for row in rows]
    centred = max(centres) - min(centres) < 0.5 and all(row[0].kind != "rel" for row in rows)
    if not centred and all(m is not None for m in marks) and max(m.x0 for m in marks) - min(m.x0 for m in marks) < 1.0:
        lines = []
        for row, mark in zip(rows, marks):
            left = [b for b in row if b.x0 < mark.x0 - 0.1]
            right = [b for b in row if b.x0 >= mark.x0 - 0.1]
            lines.append(f"{layout(left, [], issues)} &{layout(right, [], issues)}".strip())
        return "\\begin{aligned} " + " \\\\ ".join(lines) + " \\end{aligned}"
    return "\\begin{gathered} " + " \\\\ ".join(layout(row, [], issues) for row in rows) + " \\end{gathered}"
