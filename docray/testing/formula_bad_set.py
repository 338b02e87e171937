r"""Bad formula regions built from real compiled glyphs, to check that a reconstruction's confidence means something.

A formula detector can hand the reconstruction a wrong region: one that takes in words of the text around the
formula, cuts the formula, merges two formulas of different lines, or holds no formula at all. Each bad region here
is made of the glyphs pdflatex set for the project's formula set (:mod:`docray.testing.formula_set`), each formula
compiled between two lines of text, in any font variant:

* ``neighbour``: the formula plus the last words of the text line above it or the first words of the line below;
* ``cut``: the left or the right half of the formula (glyphs by their centre, rules clipped at the cut);
* ``merged``: the formula and the next one side by side, the second half a line lower (two columns' formulas);
* ``paragraph``: a stretch of a paragraph of plain text (a whole line, two lines, a few words).

:func:`context_regions` also gives the good regions (the formula alone) of the same pages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from docray.testing.formula_set import FORMULAS, font_preamble
from docray.testing.latex import compile_latex

ABOVE = "Consider the quantity written below, which appears in several textbooks and papers."
BELOW = "Here every symbol keeps its usual meaning in the context of this short note."
PARAGRAPH = (
    "A detector of formulas may hand over a region that holds no formula at all, only the words of a paragraph "
    "such as this one. The reconstruction should then tell its caller that it is not sure of what it found, so "
    "that the caller can fall back to a model that reads the image, or keep the words as text. Several lines of "
    "plain prose, with a comma here and there, some numbers like 12 or 2024, and the odd parenthesis (like this "
    "one), make up the regions of this kind. They are cut into whole lines, pairs of lines and short runs of words."
)
HALF_LINE = 0.6  # ems: how much lower the second of two merged formulas sits (half of a 1.2 em line)
LINE_TOLERANCE = 0.5  # points: glyphs whose baselines differ by less are on one text line


@dataclass(frozen=True)
class Region:
    kind: str  # good, neighbour, cut, merged, paragraph
    glyphs: list
    rules: list


def context_document(formulas: tuple[tuple[str, str], ...] = FORMULAS) -> str:
    """Each formula displayed between a line of text above and one below, one per page; then a paragraph page."""
    pages = [f"{ABOVE}\n\\[ {latex} \\]\n{BELOW}" for _, latex in formulas]
    return "\n\\newpage\n".join([*pages, "\\noindent " + PARAGRAPH])


def _lines(glyphs: list) -> list[list]:
    """Glyphs grouped into text lines by baseline, top to bottom."""
    lines: list[list] = []
    for glyph in sorted(glyphs, key=lambda g: g.origin[1]):
        if lines and abs(glyph.origin[1] - lines[-1][0].origin[1]) < LINE_TOLERANCE:
            lines[-1].append(glyph)
        else:
            lines.append([glyph])
    return [sorted(line, key=lambda g: g.bbox[0]) for line in lines]


def _words(line: list) -> list[list]:
    words: list[list] = []
    for glyph in line:
        if words and glyph.bbox[0] - words[-1][-1].bbox[2] < 0.2 * glyph.size:
            words[-1].append(glyph)
        else:
            words.append([glyph])
    return words


def _baseline(glyphs: list) -> float:
    """The baseline most glyphs sit on."""
    counts = Counter(round(g.origin[1], 1) for g in glyphs)
    return counts.most_common(1)[0][0]


def _shifted(glyph, dx: float, dy: float):
    x0, y0, x1, y1 = glyph.bbox
    return replace(
        glyph, bbox=(x0 + dx, y0 + dy, x1 + dx, y1 + dy), origin=(glyph.origin[0] + dx, glyph.origin[1] + dy)
    )


def _split_page(glyphs: list) -> tuple[list, list, list]:
    """(line above, formula glyphs, line below) of one context page."""
    first = min(g.origin[1] for g in glyphs)
    last = max(g.origin[1] for g in glyphs)
    above = [g for g in glyphs if abs(g.origin[1] - first) < LINE_TOLERANCE]
    below = [g for g in glyphs if abs(g.origin[1] - last) < LINE_TOLERANCE]
    formula = [g for g in glyphs if all(g is not t for t in (*above, *below))]
    return sorted(above, key=lambda g: g.bbox[0]), formula, sorted(below, key=lambda g: g.bbox[0])


def _cut(formula: list, rules: list, left: bool) -> tuple[list, list]:
    x0, x1 = min(g.bbox[0] for g in formula), max(g.bbox[2] for g in formula)
    middle = (x0 + x1) / 2
    keep = [g for g in formula if ((g.bbox[0] + g.bbox[2]) / 2 < middle) == left]
    clipped = []
    for r in rules:
        lo, hi = (r[0], min(r[2], middle)) if left else (max(r[0], middle), r[2])
        if hi - lo > 1.0:
            clipped.append((lo, r[1], hi, r[3]))
    return keep, clipped


def context_regions(fonts: str = "cm", formulas: tuple[tuple[str, str], ...] = FORMULAS) -> list[Region]:
    """Good and bad regions (see the module docstring) of the formulas compiled in the font variant ``fonts``."""
    from docray.testing.formula_set import formula_regions

    pages = formula_regions(compile_latex(context_document(formulas), font_preamble(fonts)))
    paragraph, pages = pages[-1], pages[:-1]
    split = [(_split_page(glyphs), rules) for glyphs, rules in pages]
    regions: list[Region] = []
    for index, ((above, formula, below), rules) in enumerate(split):
        regions.append(Region("good", formula, rules))
        words = _words(above)[-2:] if index % 2 == 0 else _words(below)[:2]
        regions.append(Region("neighbour", formula + [g for w in words for g in w], rules))
        regions.append(Region("cut", *_cut(formula, rules, index % 2 == 0)))
        (_, other, _), other_rules = split[(index + 1) % len(split)]
        dx = max(g.bbox[2] for g in formula) + 2 * formula[0].size - min(g.bbox[0] for g in other)
        dy = HALF_LINE * formula[0].size + _baseline(formula) - _baseline(other)
        moved = [_shifted(g, dx, dy) for g in other]
        moved_rules = [(r[0] + dx, r[1] + dy, r[2] + dx, r[3] + dy) for r in other_rules]
        regions.append(Region("merged", formula + moved, list(rules) + moved_rules))
    lines = _lines(paragraph[0])
    for index, line in enumerate(lines):
        regions.append(Region("paragraph", line, []))
        if index + 1 < len(lines):
            regions.append(Region("paragraph", line + lines[index + 1], []))
        words = _words(line)
        for start in range(0, len(words) - 3, 4):
            regions.append(Region("paragraph", [g for w in words[start : start + 4] for g in w], []))
    return regions
