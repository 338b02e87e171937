r"""Documents with inline and display formulas whose glyphs are known, for the formula detector's tests.

Ground truth is read back from the PDF itself: every formula is set in its own near-black fill colour
(red channel = what it is, green channel = its index: ``\textcolor[RGB]{11,k,0}{$...$}`` for inline formula ``k``,
``{22,k,0}`` for display formula ``k``, ``{33,k,0}`` for distractor ``k``), so after compiling, each glyph of
:func:`~docray.operators.textlayer.pdf_glyphs.page_glyphs` is attributed to its formula by its fill colour, with
no guessing from positions.  The detector never sees colours.  Equation numbers stay black (they are not part
of the formula).  Variants: Computer Modern (pdflatex), Times + Symbol (``mathptmx``), Palatino (``mathpazo``),
and non-TeX pages drawn with reportlab (:mod:`.inline_math_unicode`): DejaVu Sans with Greek and math Unicode,
sub/superscripts by baseline shift; Helvetica text with Times-Italic variables.  Operator names and function
terms with their distractors: :mod:`.inline_math_ops`.
"""

from __future__ import annotations

import ctypes
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from docray.datamodel import BBox, bbox_union
from docray.schema import FormulaKind

INLINE_R, DISPLAY_R, DISTRACTOR_R = 11, 22, 33

# (LaTeX) inline formulas: easy and hard ones, written the way papers write them
INLINE_LATEX: tuple[str, ...] = (
    r"x = 2",
    r"f(x)",
    r"x_i^2 + \alpha \leq f(x)",
    r"n \in \mathbb{N}",
    r"k",
    r"\alpha",
    r"a^2 + b^2 = c^2",
    r"\sum_{i=1}^n x_i",
    r"\int_0^1 f(t)\,dt",
    r"e^{i\pi} + 1 = 0",
    r"\lambda_{\max}",
    r"O(n \log n)",
    r"2n+1",
    r"x \to \infty",
    r"\sqrt{x}",
    r"\frac{1}{2}",
    r"p < 0.05",
    r"10^{-3}",
    r"A \subset B",
    r"\nabla \cdot u",
    r"\|x\|_2",
    r"\epsilon > 0",
    r"\theta",
    r"\Delta t",
    r"i",
    r"3 \times 4",
    r"\partial f / \partial x",
    r"y'",
    r"G = (V, E)",
    r"\mathcal{O}",
    r"\hat{x}",
    r"x_1, \dots, x_n",
    r"\ell_1",
    r"\sin x",
    r"\log_2 n",
    r"\pm 1",
    r"\mathbb{R}^d",
    r"\beta_0",
    r"j",
    r"\sigma^2",
)
# (LaTeX) text that must not be taken for math
DISTRACTORS: tuple[str, ...] = (
    r"\emph{important}",
    r"2024",
    r"Table~3",
    r"[12]",
    r"well-known",
    r"1990--2000",
    r"results---as shown",
    r"\texttt{https://example.org/a-b}",
    r"Section 2.1",
    r"\emph{et al.}",
    r"e.g.",
    r"pp.~45--67",
    r"(see above)",
    r"\emph{a priori}",
    r"state-of-the-art",
    r"Figure~12",
    r"C++",
    r"and/or",
    r"50\%",
    r"(i)",
    r"Eq.~(3)",
    r"\S 3",
    r"i.e.",
    r"k-means",
    r"x-ray",
    r"\emph{in situ}",
    r"3:00",
    r"v2.0",
    r"``quoted''",
    r"word\footnote{A note, 1999.}",
    r"\emph{I} did",
    r"\dag",
    r"A/B tests",
)
DISPLAY_LATEX: tuple[tuple[str, str | None], ...] = (  # (LaTeX, equation number or None)
    (r"\int_0^1 \frac{a+b}{c} \, dx = \sum_{i=1}^n x_i", None),
    (r"E = mc^2", "(1)"),
    (r"f(x) = \frac{1}{\sqrt{2\pi}\sigma} e^{-\frac{(x-\mu)^2}{2\sigma^2}}", "(2)"),
    (r"\lim_{n \to \infty} \left( 1 + \frac{1}{n} \right)^n = e", None),
    (r"\| u \|_2^2 \le \sum_{k} |u_k|^2", "(2.1a)"),
    (r"\mathbf{A} x = b, \quad x \in \mathbb{R}^n", "(3)"),
)
_WORDS = (
    "the method uses a simple model of each page and we report results on several data sets while the "
    "analysis below shows that this bound holds under mild conditions for every input we tried in practice "
    "so that our approach remains fast accurate and easy to implement on common hardware"
).split()


@dataclass(frozen=True, slots=True)
class TruthFormula:
    latex: str
    kind: FormulaKind
    glyphs: tuple[int, ...]  # indices into page_glyphs(page)
    bbox: BBox
    number: str | None = None  # the equation number printed beside a display formula


@dataclass(slots=True)
class PageTruth:
    inline: list[TruthFormula] = field(default_factory=list)  # in reading (index) order
    display: list[TruthFormula] = field(default_factory=list)
    distractors: list[TruthFormula] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MathDocument:
    name: str
    pdf: bytes
    pages: list[PageTruth]


def glyph_colours(page) -> list[tuple[int, int, int]]:
    """Fill colour of each glyph of ``page_glyphs(page)`` (same filtering, same order)."""
    import pypdfium2.raw as pdfium_c

    from docray.operators.textlayer.pdf_chars import count_chars, get_unicode, has_map_error, is_generated
    from docray.operators.textlayer.pdf_glyphs import _BLANK

    textpage = page.get_textpage()
    try:
        handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
        box = [ctypes.c_double() for _ in range(4)]
        rgba = [ctypes.c_uint() for _ in range(4)]
        out: list[tuple[int, int, int]] = []
        for index in range(count_chars(handle)):
            code = get_unicode(handle, index)
            if is_generated(handle, index):
                continue
            mapped = not (has_map_error(handle, index) or code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF)
            if mapped and code in _BLANK:
                continue
            if not pdfium_c.FPDFText_GetCharBox(textpage.raw, index, *box):
                continue
            if not pdfium_c.FPDFText_GetFillColor(textpage.raw, index, *rgba):
                out.append((0, 0, 0))
                continue
            out.append((rgba[0].value, rgba[1].value, rgba[2].value))
        return out
    finally:
        textpage.close()


def read_truth(
    pdf: bytes, latex: dict[tuple[int, int], str], numbers: dict[int, str | None] | None = None
) -> list[PageTruth]:
    """Ground truth of every page, from glyph fill colours; ``latex`` maps (red, index) to the formula source."""
    import pypdfium2 as pdfium

    from docray.operators.textlayer.pdf_glyphs import page_glyphs

    kinds = {INLINE_R: FormulaKind.INLINE, DISPLAY_R: FormulaKind.DISPLAY, DISTRACTOR_R: FormulaKind.INLINE}
    doc = pdfium.PdfDocument(pdf)
    pages: list[PageTruth] = []
    try:
        for page in doc:
            glyphs, colours = page_glyphs(page), glyph_colours(page)
            if len(glyphs) != len(colours):
                raise RuntimeError("glyph colours out of step with page_glyphs")
            groups: dict[tuple[int, int], list[int]] = {}
            for i, (r, g, b) in enumerate(colours):
                if r in kinds and b == 0:
                    groups.setdefault((r, g), []).append(i)
            truth = PageTruth()
            for (r, g), members in sorted(groups.items(), key=lambda kv: kv[1][0]):
                item = TruthFormula(
                    latex[(r, g)],
                    kinds[r],
                    tuple(members),
                    bbox_union([glyphs[i].bbox for i in members]),
                    (numbers or {}).get(g) if r == DISPLAY_R else None,
                )
                {INLINE_R: truth.inline, DISPLAY_R: truth.display, DISTRACTOR_R: truth.distractors}[r].append(item)
            pages.append(truth)
    finally:
        doc.close()
    return pages


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def latex_body(
    seed: int = 0, inline: Sequence[str] = INLINE_LATEX, displays=DISPLAY_LATEX, distractors=DISTRACTORS
) -> str:
    """Paragraphs mixing filler words, coloured inline formulas and distractors, with coloured displays between them."""
    rng = random.Random(seed)
    items = [("i", k) for k in range(len(inline))] + [("d", k) for k in range(len(distractors))]
    rng.shuffle(items)
    per_display = max(1, len(items) // (len(displays) + 1))
    parts: list[str] = []
    display = 0
    for n, (what, k) in enumerate(items):
        words = _sentence(rng, rng.randint(3, 9))
        if rng.random() < 0.25:  # an emphasised word right before the snippet
            head, _, last = words.rpartition(" ")
            words = rf"{head} \emph{{{last}}}"
        if what == "i":
            snippet = rf"\textcolor[RGB]{{{INLINE_R},{k},0}}{{${inline[k]}$}}"
        else:
            snippet = rf"\textcolor[RGB]{{{DISTRACTOR_R},{k},0}}{{{distractors[k]}}}"
        parts.append(f"{words} {snippet}{rng.choice([' ', ', ', '. The ', ' and '])}")
        if (n + 1) % per_display == 0 and display < len(displays):
            tex, number = displays[display]
            coloured = rf"{{\color[RGB]{{{DISPLAY_R},{display},0}} {tex}}}"  # a group: the number stays black
            if number is None:
                parts.append(rf"\[ {coloured} \]" + "\n")
            else:
                tag = "" if number.strip("()").isdigit() else rf"\tag{{{number.strip('()')}}}"
                parts.append(rf"\begin{{equation}} {coloured} {tag} \end{{equation}}" + "\n")
            display += 1
        if rng.random() < 0.15:
            parts.append("\n\n")
        if n == len(items) // 2:
            parts.append(rf"\begin{{itemize}}\item {_sentence(rng, 6)}\item {_sentence(rng, 5)}\end{{itemize}}")
    return "".join(parts) + _sentence(rng, 12) + "."


def _latex_keys(inline=INLINE_LATEX, displays=DISPLAY_LATEX, distractors=DISTRACTORS):
    latex = {(INLINE_R, k): s for k, s in enumerate(inline)}
    latex |= {(DISPLAY_R, k): s for k, (s, _) in enumerate(displays)}
    latex |= {(DISTRACTOR_R, k): s for k, s in enumerate(distractors)}
    return latex, {k: number for k, (_, number) in enumerate(displays)}


_FONT_PACKAGES = {"cm": "", "times": r"\usepackage{mathptmx}", "pazo": r"\usepackage{mathpazo}"}


def latex_document(
    times: bool = False,
    seed: int = 0,
    twocolumn: bool = False,
    *,
    font: str | None = None,
    inline: Sequence[str] = INLINE_LATEX,
    distractors: Sequence[str] = DISTRACTORS,
    prefix: str = "",
) -> MathDocument:
    """The LaTeX document in Computer Modern, or Times + Symbol (``mathptmx``) with ``times=True``; ``font``
    (``cm``, ``times``, ``pazo``: Palatino with ``mathpazo``) overrides ``times``.  ``inline`` and
    ``distractors`` replace the formula and distractor lists; ``prefix`` starts the document's name."""
    from docray.testing.latex import DEFAULT_PREAMBLE, compile_latex

    font = font or ("times" if times else "cm")
    extra = r"\usepackage{xcolor}" + _FONT_PACKAGES[font]
    preamble = DEFAULT_PREAMBLE.replace(r"\usepackage{amsmath,amssymb}", r"\usepackage{amsmath,amssymb}" + extra)
    if twocolumn:
        preamble = preamble.replace(r"\documentclass[11pt]{article}", r"\documentclass[10pt,twocolumn]{article}")
    pdf = compile_latex(latex_body(seed, inline, DISPLAY_LATEX, distractors), preamble)
    latex, numbers = _latex_keys(inline, DISPLAY_LATEX, distractors)
    name = prefix + font + ("-2col" if twocolumn else "") + (f"-s{seed}" if seed else "")
    return MathDocument(name, pdf, read_truth(pdf, latex, numbers))


def plain_latex_document() -> bytes:
    """A page of prose with numbers, dashes, emphasis and citations but no math at all."""
    from docray.testing.latex import compile_latex

    rng = random.Random(5)
    body = " ".join(f"{_sentence(rng, 8)} {d}" for d in DISTRACTORS) + "."
    return compile_latex(body)


def unicode_document() -> MathDocument:
    """A non-TeX page (reportlab, DejaVu Sans): Unicode math with baseline-shifted scripts."""
    from docray.testing.inline_math_unicode import build_unicode_pdf

    pdf, latex, numbers = build_unicode_pdf()
    return MathDocument("unicode", pdf, read_truth(pdf, latex, numbers))
