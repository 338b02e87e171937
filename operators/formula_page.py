"""The pure page logic of the ``formula`` stage: find a page's formulas, read them from the text layer, put them in place.

1. :func:`text_layer_formulas` — on a page with glyphs (born-digital, ``render.glyphs``): the detector
   (:func:`docray.operators.formula_text.detect.detect_formulas`) finds inline and display formulas (display ones
   seeded by the layout model's equation boxes when the pipeline has a layout stage), and each is rebuilt as LaTeX from
   its glyphs and rules (:func:`docray.operators.formula_text.reconstruct_latex`).  A formula whose reconstruction is
   below ``min_confidence`` is marked for the image recogniser (display formulas always; inline ones when
   ``image_inline``).
   A display formula's equation number (``(3)`` right of it) becomes ``\\tag{3}``, and its glyphs leave the text.
2. :func:`image_only_formulas` — on a page without a text layer (a scan): the layout model's equation boxes (and a
   formula detector's) become display formulas with no LaTeX yet, all marked for the image recogniser.
3. The operator runs the image recogniser on crops of the page image and fills in the LaTeX.
4. :func:`place_formulas` — the page's spans with every inline formula that has LaTeX replaced by one span whose text
   is the LaTeX (``FontFlags.MATH``; the assembler writes it between the inline delimiters), and the glyphs of display
   formulas that have LaTeX taken out (the assembler makes them ``interline_equation`` blocks).

Spans and glyphs come from the same pdfium characters; a span is matched to its glyphs by font, size and position
(its non-blank characters, in order).  When they cannot be matched one to one, the span goes whole: dropped when most
of its glyphs are in formulas, kept otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from docray.datamodel import BBox, Formula, Span, bbox_union
from docray.operators.formula_text.detect import FormulaRegion, detect_formulas
from docray.operators.formula_text.detect_display import NUMBER as EQUATION_NUMBER
from docray.operators.formula_text.reconstruct import reconstruct_latex
from docray.operators.textlayer.pdf_glyphs import Glyph
from docray.operators.textlayer.regions import inside_share
from docray.schema import FontFlags, FormulaKind, FormulaSource

_SPAN_SLACK = 1.0  # points a glyph's centre may lie outside its span's box
_SIZE_SLACK = 0.15


@dataclass(frozen=True, slots=True)
class FormulaOptions:
    inline: bool = True  # find inline formulas in text lines
    display: bool = True  # find display formulas in the text layer (besides the layout model's equation boxes)
    min_confidence: float = 0.5  # a reconstruction below this goes to the image recogniser, when there is one
    image_inline: bool = False  # send unconfident inline formulas to the image recogniser too
    reread_all: bool = False  # send every display formula to the image recogniser, confident or not


@dataclass(slots=True)
class FoundFormula:
    """A formula of one page while the stage works on it."""

    formula: Formula
    glyphs: tuple[int, ...] = ()  # indices into the page's glyphs
    wants_image: bool = False  # the image recogniser should (re)read it
    tag: str | None = None  # the display formula's equation number, e.g. "3" for (3)

    def set_latex(self, latex: str, score: float, source: FormulaSource) -> None:
        """The formula's LaTeX, with its equation number as ``\\tag{..}`` when it has one."""
        if self.tag is not None and "\\tag" not in latex:
            latex = f"{latex} \\tag{{{self.tag}}}"
        self.formula.latex, self.formula.score, self.formula.source = latex, score, source


@dataclass(slots=True)
class PageFormulas:
    found: list[FoundFormula] = field(default_factory=list)
    glyphs: Sequence[Glyph] = ()  # the page's glyphs (text-layer pages), which ``found`` indexes

    @property
    def has_latex(self) -> bool:
        return any(f.formula.latex for f in self.found)

    @property
    def formulas(self) -> list[Formula]:
        return [f.formula for f in self.found]


def text_layer_formulas(
    glyphs: Sequence[Glyph],
    rules: Sequence[BBox],
    page_size: tuple[float, float],
    display_boxes: Sequence[BBox] = (),
    options: FormulaOptions = FormulaOptions(),
) -> PageFormulas:
    """The formulas of a born-digital page, each rebuilt from its glyphs (see the module docstring)."""
    regions = detect_formulas(glyphs, rules, page_width=page_size[0], page_height=page_size[1], display_boxes=display_boxes)
    free = set(range(len(glyphs))).difference(i for region in regions for i in region.glyphs)
    page = PageFormulas(glyphs=glyphs)
    for region in regions:
        if region.kind == FormulaKind.INLINE and not options.inline:
            continue
        seeded = any(inside_share(region.bbox, box) >= 0.5 for box in display_boxes)
        if region.kind == FormulaKind.DISPLAY and not options.display and not seeded:
            continue
        found = _rebuilt(region, glyphs, rules, options)
        if region.kind == FormulaKind.DISPLAY:
            _tag_number(found, glyphs, free)
        page.found.append(found)
    return page


def equation_number(glyphs: Sequence[Glyph], box: BBox, free: set[int]) -> tuple[list[int], str] | None:
    """The equation number right of a display formula: the first run of free glyphs on its band, e.g. ``(3)``.

    Returns the glyph indices and the label inside the parentheses, or None when that run is not a number (the
    next column's text, say).
    """
    top, bottom = box[1], box[3]
    right = [i for i in free if glyphs[i].bbox[0] >= box[2] - 0.5 and top <= (glyphs[i].bbox[1] + glyphs[i].bbox[3]) / 2 <= bottom]
    if not right:
        return None
    right.sort(key=lambda i: glyphs[i].bbox[0])
    run = [right[0]]
    for i in right[1:]:
        previous = glyphs[run[-1]]
        if glyphs[i].bbox[0] - previous.bbox[2] > previous.size:
            break
        run.append(i)
    text = "".join(glyphs[i].text for i in run)
    if not EQUATION_NUMBER.match(text):
        return None
    return run, text[1:-1]


def _tag_number(found: FoundFormula, glyphs: Sequence[Glyph], free: set[int]) -> None:
    """Give a display formula its equation number as ``\\tag{..}`` (its glyphs leave the text with the formula)."""
    formula = found.formula
    number = equation_number(glyphs, formula.bbox, free)
    if number is None or not formula.latex:
        return
    indices, found.tag = number
    found.set_latex(formula.latex, formula.score, formula.source)
    found.glyphs = found.glyphs + tuple(indices)
    free.difference_update(indices)


def image_only_formulas(display_boxes: Sequence[BBox]) -> PageFormulas:
    """Display formulas of a page without a text layer: boxes only, each marked for the image recogniser."""
    return PageFormulas(
        [FoundFormula(Formula(FormulaKind.DISPLAY, tuple(box)), wants_image=True) for box in display_boxes]  # type: ignore[arg-type]
    )


def _rebuilt(region: FormulaRegion, glyphs: Sequence[Glyph], rules: Sequence[BBox], options: FormulaOptions) -> FoundFormula:
    own = [glyphs[i] for i in region.glyphs]
    own_rules = [r for r in rules if inside_share(r, _grown(region.bbox, 1.0)) >= 0.5]
    formula = Formula(region.kind, tuple(region.bbox))  # type: ignore[arg-type]
    if own:
        rebuilt = reconstruct_latex(own, own_rules)
        if rebuilt.latex.strip():
            formula.latex, formula.score, formula.source = rebuilt.latex.strip(), rebuilt.confidence, FormulaSource.TEXT_LAYER
    unsure = formula.latex is None or formula.score < options.min_confidence or options.reread_all
    wants_image = unsure and (region.kind == FormulaKind.DISPLAY or options.image_inline)
    return FoundFormula(formula, tuple(region.glyphs), wants_image)


def place_formulas(spans: Sequence[Span], glyphs: Sequence[Glyph], found: Sequence[FoundFormula]) -> list[Span]:
    """The page's spans with its formulas in place (see the module docstring); spans of other text are kept."""
    owner: dict[int, int] = {}  # glyph index -> formula index, for formulas that have LaTeX
    for k, item in enumerate(found):
        if item.formula.latex:
            for g in item.glyphs:
                owner.setdefault(g, k)
    if not owner:
        return list(spans)
    by_font = _glyphs_by_font(glyphs)
    out: list[Span] = []
    kept_as_text: set[int] = set()  # formulas with glyphs in a span that had to stay whole
    for span in spans:
        matched = _span_glyphs(span, glyphs, by_font)
        parts = _split_span(span, glyphs, matched, owner)
        if parts and parts[0] is span:
            kept_as_text.update(owner[i] for i in matched if i in owner)
        out.extend(parts)
    for k, item in enumerate(found):
        formula = item.formula
        if formula.kind == FormulaKind.INLINE and formula.latex and item.glyphs and k not in kept_as_text:
            own = [glyphs[i] for i in item.glyphs if owner.get(i) == k]
            if own:
                out.append(_math_span(formula.latex, own))
    return out


def _glyphs_by_font(glyphs: Sequence[Glyph]) -> dict[str, list[int]]:
    by_font: dict[str, list[int]] = {}
    for i, glyph in enumerate(glyphs):
        by_font.setdefault(glyph.font, []).append(i)
    return by_font


def _span_glyphs(span: Span, glyphs: Sequence[Glyph], by_font: dict[str, list[int]]) -> list[int]:
    """Indices of the glyphs of the span's font and size that sit in it (centre across, baseline inside its box),
    in pdfium order."""
    x0, y0, x1, y1 = span.bbox
    x0, y0, x1, y1 = x0 - _SPAN_SLACK, y0 - _SPAN_SLACK, x1 + _SPAN_SLACK, y1 + _SPAN_SLACK
    found = []
    for i in by_font.get(span.font, ()):
        glyph = glyphs[i]
        cx, baseline = (glyph.bbox[0] + glyph.bbox[2]) / 2, glyph.origin[1]
        if x0 <= cx <= x1 and y0 <= baseline <= y1 and abs(glyph.size - span.size) <= _SIZE_SLACK:
            found.append(i)
    return found


def _split_span(span: Span, glyphs: Sequence[Glyph], matched: list[int], owner: dict[int, int]) -> list[Span]:
    """The parts of a span outside every placed formula (the span itself when none of it is in one)."""
    owned = [i for i in matched if i in owner]
    if not owned:
        return [span]
    chars = [c for c in span.text if not c.isspace()]
    if len(chars) != len(matched):  # cannot tell which character is which glyph: the span goes whole
        return [] if len(owned) * 2 >= len(matched) else [span]
    parts: list[Span] = []
    text: list[str] = []
    boxes: list[BBox] = []
    k = 0
    for char in span.text:
        if char.isspace():
            if text:
                text.append(char)
            continue
        index = matched[k]
        k += 1
        if index in owner:
            parts.extend(_part(span, text, boxes))
            text, boxes = [], []
            continue
        text.append(char)
        boxes.append(glyphs[index].bbox)
    parts.extend(_part(span, text, boxes))
    return parts


def _part(span: Span, text: list[str], boxes: list[BBox]) -> list[Span]:
    """A piece of ``span`` holding ``text``: the span's height, its glyphs' horizontal extent."""
    if not boxes:
        return []
    x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
    return [replace(span, text="".join(text), bbox=(x0, span.bbox[1], x1, span.bbox[3]))]


def _math_span(latex: str, glyphs: list[Glyph]) -> Span:
    sizes = sorted(g.size for g in glyphs)
    return Span(
        text=latex,
        bbox=bbox_union([g.bbox for g in glyphs]),
        font="",
        size=sizes[len(sizes) // 2],
        flags=FontFlags.MATH,
    )


def _grown(box: BBox, by: float) -> BBox:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)
