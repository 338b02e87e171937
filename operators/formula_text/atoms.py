"""From glyphs to layout boxes: each glyph classified (:mod:`.symbols`), then the glyphs that draw one symbol
together merged: extensible delimiters and radicals built of pieces, negated relations (``\\not`` slash over ``=``),
``\\mapsto``, multiple integrals, ``\\ldots``/``\\cdots``, operator names and words set in upright letters, and
accents with the box they sit on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from docray.operators.formula_text.boxes import AXIS, Box, h_overlap, union
from docray.operators.formula_text.merges import (
    merge_arrows,
    merge_dots,
    merge_integrals,
    merge_negations,
    merge_overlays,
    merge_struck,
)
from docray.operators.formula_text.sizes import normalise_sizes
from docray.operators.formula_text.symbols import CLOSING, DELIM_OF_TEX, OPENING, Sym, styled, symbol_of
from docray.operators.textlayer.pdf_glyphs import Glyph, is_math_font

# operator names: those that take limits below in display style, then the others
LIMIT_NAMES = frozenset("lim liminf limsup max min sup inf det gcd Pr argmax argmin".split())
NAMES = LIMIT_NAMES | frozenset(
    "sin cos tan cot sec csc sinh cosh tanh coth arcsin arccos arctan log ln lg exp arg dim ker deg hom".split()
)


def glyph_box(glyph: Glyph, sym: Sym) -> Box:
    x0, y0, x1, y1 = glyph.bbox
    size = glyph.size or max(y1 - y0, 1.0)
    kind = sym.kind
    centred = kind in ("bigop", "delim", "piece")  # set on the math axis whatever the font puts at the origin
    base = (y0 + y1) / 2 + AXIS * size if centred else glyph.origin[1]
    tex = sym.tex
    if kind == "ord" and sym.style and sym.style != "mathrm":
        tex = styled(tex, sym.style)
    limits = kind == "bigop" and not tex.endswith("int")  # integrals set their limits at the side
    return Box(x0, y0, x1, y1, tex, kind, size, base, centred, sym.style, sym.char, limits)


def build_atoms(glyphs: Sequence[Glyph]) -> tuple[list[Box], int]:
    """Boxes of the glyphs, merged where several glyphs draw one symbol; also the count of unidentified glyphs."""
    boxes: list[Box] = []
    unknown = 0
    for glyph in glyphs:
        sym = symbol_of(glyph.text, glyph.font, glyph.code, is_math_font(glyph.font))
        if not sym.known:
            unknown += 1
        boxes.append(glyph_box(glyph, sym))
    boxes = _merge_pieces(normalise_sizes(boxes))
    boxes = merge_overlays(boxes)
    boxes.sort(key=lambda b: (b.x0, b.y0))
    boxes = merge_integrals(boxes)
    boxes = merge_arrows(boxes)
    boxes = merge_negations(boxes)
    boxes = merge_struck(boxes)
    boxes = merge_dots(boxes)
    boxes = _merge_words(boxes)
    return boxes, unknown


def _merge_pieces(boxes: list[Box]) -> list[Box]:
    """Vertically stacked pieces of one extensible delimiter or radical → one big delimiter / radical box."""
    pieces = sorted((b for b in boxes if b.kind == "piece"), key=lambda b: (b.y0, b.x0))
    rest = [b for b in boxes if b.kind != "piece"]
    stacks: list[list[Box]] = []
    for piece in pieces:
        family = piece.char[0]
        for stack in stacks:
            last = stack[-1]
            same = family == "?" or stack[0].char[0] in ("?", family) or "√" in (family, stack[0].char[0])
            touching = piece.y0 <= last.y1 + 1.0 and h_overlap(piece, last) > -1.0
            if same and touching and (family == "√") == any(p.char[0] == "√" for p in stack):
                stack.append(piece)
                break
        else:
            stacks.append([piece])
    for stack in stacks:
        families = [p.char[0] for p in stack if p.char[0] != "?"]
        family = families[0] if families else "{"
        x0, y0, x1, y1 = union(stack)
        size = stack[0].size
        if family == "√":
            rest.append(Box(x0, y0, x1, y1, "\\sqrt", "radical", size, y1, True))
        elif family in "↑↓⇑⇓":
            rest.append(Box(x0, y0, x1, y1, stack[0].tex, "rel", size, (y0 + y1) / 2 + AXIS * size, True))
        else:
            char = "‖" if family == "‖" else family
            if family == "?":
                char = "{"
            rest.append(Box(x0, y0, x1, y1, char, "delim", size, (y0 + y1) / 2 + AXIS * size, True, char=char))
    return rest


def _is_upright_letter(box: Box) -> bool:
    return box.kind == "ord" and box.style == "mathrm" and len(box.tex) == 1 and box.tex.isalpha()


def _join_text_runs(runs: list[list[Box]]) -> list[list]:
    """Words (not operator names) one interword space apart → one phrase (None marks the space)."""
    runs = sorted(runs, key=lambda r: r[0].x0)
    out: list[list] = []
    for run in runs:
        prev = out[-1] if out else None
        if prev is not None:
            last, first = prev[-1], run[0]
            words = ("".join(b.tex for b in prev if b is not None).split(" ")[-1], "".join(b.tex for b in run))
            if (all(len(w) > 1 and w not in NAMES for w in words) and abs(first.base - last.base) < 0.1 * first.size
                    and 0.12 * first.size <= first.x0 - last.x1 < 0.5 * first.size):  # fmt: skip
                prev += [None, *run]
                continue
        out.append(list(run))
    return out


def _merge_words(boxes: list[Box]) -> list[Box]:
    """Runs of upright letters on one baseline → operator names (``\\sin``) or words (``\\mathrm{softmax}``).

    Letters chain with the next upright letter to their right on the same baseline, whatever other boxes (limits
    below ``lim``) lie between them in x order.
    """
    letters = [b for b in boxes if _is_upright_letter(b)]
    if not letters:
        return boxes
    out = [b for b in boxes if not _is_upright_letter(b)]
    runs: list[list[Box]] = []
    for box in letters:  # boxes are sorted by x0
        for run in runs:
            last = run[-1]
            if (abs(box.base - last.base) < 0.1 * box.size and abs(box.size - last.size) < 0.3
                    and -0.5 < box.x0 - last.x1 < 0.12 * box.size):  # fmt: skip
                run.append(box)
                break
        else:
            runs.append([box])
    runs = _join_text_runs(runs)
    for run in runs:
        word = "".join(" " if b is None else b.tex for b in run)
        run = [b for b in run if b is not None]
        x0, y0, x1, y1 = union(run)
        first = run[0]
        if word in NAMES:
            tex = "\\" + word
        elif len(word) == 1:
            tex = f"\\mathrm{{{word}}}"
        else:
            tex = f"\\text{{{word}}}"
        out.append(Box(x0, y0, x1, y1, tex, "word", first.size, first.base, limits=word in LIMIT_NAMES, char=word))
    out.sort(key=lambda b: (b.x0, b.y0))
    return out


def is_text_word(box: Box) -> bool:
    """A word of upright letters that is no operator name (``\\text{...}``, ``\\mathrm{x}``)."""
    return box.kind == "word" and box.char not in NAMES


def text_width_share(boxes: Sequence[Box]) -> float:
    """The share of the boxes' summed width that text words take."""
    total = sum(b.width for b in boxes)
    return sum(b.width for b in boxes if is_text_word(b)) / total if total > 0 else 0.0


def attach_accents(boxes: list[Box]) -> tuple[list[Box], int]:
    """Accents wrapped around the box each sits on; also the count of accents with nothing under them."""
    accents = [b for b in boxes if b.kind == "accent"]
    if not accents:
        return boxes, 0
    rest = [b for b in boxes if b.kind != "accent"]
    lost = 0
    for accent in sorted(accents, key=lambda b: -b.y1):  # lowest first: stacked accents wrap inside out
        below = [b for b in rest if h_overlap(b, accent) > 0.3 * min(accent.width, b.width) and b.y0 >= accent.y1 - 1.5
                 and b.y0 - accent.y1 < 0.5 * accent.size]  # fmt: skip
        if not below:
            lost += 1
            rest.append(replace(accent, kind="ord", tex=accent.tex + "{}"))
            continue
        if accent.tex.startswith("\\wide"):
            top = min(b.y0 for b in below)
            target_boxes = [b for b in below if b.y0 < top + 0.5 * accent.size]
        else:
            target_boxes = [min(below, key=lambda b: (b.y0 - accent.y1, -h_overlap(b, accent)))]
        target_boxes.sort(key=lambda b: b.x0)
        target = target_boxes[0]
        inner = "".join(b.tex for b in target_boxes) if len(target_boxes) > 1 else target.tex
        x0, y0, x1, y1 = union([*target_boxes, accent])
        wrapped = Box(x0, y0, x1, y1, f"{accent.tex}{{{inner}}}", "ord", target.size, target.base, target.centred,
                      glyph=target.glyph)  # fmt: skip
        rest = [b for b in rest if all(b is not t for t in target_boxes)] + [wrapped]
    return rest, lost


def delimiter_of(box: Box) -> str:
    """The delimiter a box draws ("" if none)."""
    if box.kind == "delim":
        return box.char
    return DELIM_OF_TEX.get(box.tex, "") if box.kind in ("open", "close", "fence") else ""


def is_opening(char: str) -> bool:
    return char in OPENING


def is_closing(char: str) -> bool:
    return char in CLOSING
