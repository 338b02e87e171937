"""Find formulas in a born-digital page's text layer: display equations and inline math inside text lines.

:func:`detect_formulas` takes the page's glyphs (:func:`~docray.operators.textlayer.pdf_glyphs.page_glyphs`) and
thin rules (:func:`~docray.operators.textlayer.pdf_glyphs.page_rules`).  Display formulas come from a layout
model's equation boxes when given (``display_boxes``), else from the text layer (:mod:`.detect_display`);
inline formulas are runs of math glyphs in the remaining lines (:mod:`.detect_inline`).  Evidence per glyph
(:mod:`.detect_glyphs`): math fonts, math Unicode, italic one-letter words, sub/superscripts by size and baseline
shift, glyphs stacked over a fraction bar.  :func:`page_has_math` is the cheap pre-check (on spans).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from docray.datamodel import BBox, bbox_union
from docray.operators.formula_text.detect_display import find_displays, from_boxes, is_prose, with_rules
from docray.operators.formula_text.detect_glyphs import Cue, cue, page_has_math
from docray.operators.formula_text.detect_inline import analyse_line, continue_broken
from docray.operators.formula_text.detect_lines import build_lines
from docray.operators.textlayer.pdf_glyphs import Glyph, is_math_font
from docray.schema import FormulaKind

MATH_ITALIC_MIN = 3  # lowercase letters in math fonts that show a page keeps variables in a math italic font

__all__ = ["FormulaKind", "FormulaRegion", "detect_formulas", "page_has_math"]


@dataclass(frozen=True, slots=True)
class FormulaRegion:
    """One formula found on a page."""

    kind: FormulaKind
    bbox: BBox  # union of its glyph boxes and the rules inside it (points, top-left origin)
    glyphs: tuple[int, ...]  # indices into the page's glyph list, ascending


def detect_formulas(
    glyphs: Sequence[Glyph],
    rules: Sequence[BBox] = (),
    *,
    page_width: float,
    page_height: float,
    display_boxes: Sequence[BBox] = (),
) -> list[FormulaRegion]:
    """Display then inline formulas of one page, each sorted top to bottom, left to right.

    With ``display_boxes`` (a layout model's equation boxes) each box with glyphs becomes a display region (less
    the lines of running text it took in) and no display is searched for; without, displays are found in the
    text layer.  Inline regions never take a display region's glyphs.  ``page_width``/``page_height`` bound
    the rules considered.
    """
    if not glyphs:
        return []
    rules = [r for r in rules if r[2] > 0 and r[3] > 0 and r[0] < page_width and r[1] < page_height]
    body = statistics.median(g.size for g in glyphs) or 10.0
    fonts: dict[str, bool] = {}
    cues = [cue(g.text, g.font, fonts.setdefault(g.font, is_math_font(g.font))) for g in glyphs]
    if _has_math_italic(glyphs, fonts):  # variables have their own font here: text italics are emphasis
        cues = [Cue.TEXT if c == Cue.ITALIC else c for c in cues]
    if display_boxes:
        displays = from_boxes(glyphs, display_boxes, rules, body, _prose_finder(glyphs, cues, rules))
        taken = {i for members, _ in displays for i in members}
        lines = build_lines(glyphs, [i for i in range(len(glyphs)) if i not in taken])
        maths = [analyse_line(glyphs, line, cues, rules) for line in lines]
    else:
        lines = build_lines(glyphs)
        maths = [analyse_line(glyphs, line, cues, rules) for line in lines]
        displays = find_displays(glyphs, lines, maths, rules, body)
        taken = {i for members, _ in displays for i in members}
    continue_broken(glyphs, lines, maths)
    regions = [FormulaRegion(FormulaKind.DISPLAY, box, tuple(sorted(members))) for members, box in displays]
    inline: list[FormulaRegion] = []
    for line, math in zip(lines, maths, strict=True):
        for run in math.runs:
            members = sorted(line.members[k] for k in run)
            if any(i in taken for i in members):
                continue
            box = bbox_union([glyphs[i].bbox for i in members])
            inline.append(FormulaRegion(FormulaKind.INLINE, with_rules(box, rules, 0.5), tuple(members)))
    key = _reading_key
    return sorted(regions, key=key) + sorted(inline, key=key)


def _prose_finder(glyphs: Sequence[Glyph], cues: list[Cue], rules: Sequence[BBox]) -> Callable[[list[int]], set[int]]:
    """A function giving the glyphs, among some, that form lines of running text (:func:`.detect_display.is_prose`)."""

    def prose(members: list[int]) -> set[int]:
        text: set[int] = set()
        for line in build_lines(glyphs, members):
            if is_prose(glyphs, line, analyse_line(glyphs, line, cues, rules)):
                text.update(line.members)
        return text

    return prose


def _has_math_italic(glyphs: Sequence[Glyph], math_fonts: dict[str, bool]) -> bool:
    """True when lowercase Latin letters come in a math font (TeX's CMMI): variables are set apart from text italics."""
    count = 0
    for g in glyphs:
        if "a" <= g.text <= "z" and math_fonts.get(g.font):
            count += 1
            if count >= MATH_ITALIC_MIN:
                return True
    return False


def _reading_key(region: FormulaRegion) -> tuple[float, float]:
    return (round(region.bbox[1] / 4.0), region.bbox[0])


