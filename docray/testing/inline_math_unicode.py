r"""Non-TeX formula pages for :mod:`docray.testing.inline_math`, drawn with reportlab: DejaVu Sans (matplotlib's
copy) with Unicode math, or (:data:`SANS`) Helvetica text with Times-Italic variables, the way slides and web
pages set formulas.

Formulas are written in a small markup: single Latin letters are set in the style's variable font (DejaVu Sans
Oblique; Times-Italic), or upright where an inline entry says ``r``; known function names (sin, log, ...) upright, ``^{..}``/``_{..}`` (or one character) as 70 % glyphs shifted off the
baseline, ``\,`` a thin space, ``\F{num}{den}`` as a stacked fraction with a rule; everything else upright (Greek, operators, digits).
Each formula and distractor is filled in its marker colour (see :mod:`docray.testing.inline_math`).
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docray.testing.inline_math import DISPLAY_R, DISTRACTOR_R, INLINE_R

SIZE, LEADING, MARGIN = 11.0, 16.0, 72.0
REGULAR, OBLIQUE = "DejaVuSans", "DejaVuSans-Oblique"
FUNCTIONS = ("sin", "cos", "log", "exp", "lim", "max", "min")


@dataclass(frozen=True, slots=True)
class Style:
    """Fonts of a reportlab page: running text, its emphasis, and single-letter variables."""

    regular: str
    emphasis: str
    variable: str
    embedded: bool  # TrueType fonts registered from matplotlib's folder (else PDF base fonts)


DEJAVU = Style(REGULAR, OBLIQUE, OBLIQUE, True)
SANS = Style("Helvetica", "Helvetica-Oblique", "Times-Italic", False)

UNICODE_INLINE: tuple[tuple[str, str], ...] = (  # (LaTeX, markup)
    (r"x^2 + y^2 = z^2", "x^{2} + y^{2} = z^{2}"),
    (r"\alpha \leq \beta", "α ≤ β"),
    (r"f(x) = e^{-x}", "f(x) = e^{−x}"),
    (r"n \in \mathbb{N}", "n ∈ ℕ"),
    (r"\sum_{i=1}^{n} a_i", "∑_{i=1}^{n}a_{i}"),
    (r"\int_0^1 g(t)\,dt", r"∫_{0}^{1}g(t)\,dt"),
    (r"k", "k"),
    (r"\lambda", "λ"),
    (r"\forall \epsilon > 0", "∀ε > 0"),
    (r"x \to \infty", "x → ∞"),
    (r"A \cup B", "A ∪ B"),
    (r"\sqrt{2}", "√2"),
    (r"\mathbb{R}^n", "ℝ^{n}"),
    (r"a \neq b", "a ≠ b"),
    (r"\nabla f", "∇f"),
    (r"\partial_t u", "∂_{t}u"),
    (r"\pi r^2", "πr^{2}"),
    (r"2 \times 3", "2 × 3"),
    (r"x_1", "x_{1}"),
    (r"\pm 1", "±1"),
    (r"\theta_0", "θ_{0}"),
    (r"\log n", "log n"),
    (r"p \approx 0.5", "p ≈ 0.5"),
    (r"\Omega", "Ω"),
    (r"i", "i"),
    (r"\sigma^2", "σ^{2}"),
)
UNICODE_DISTRACTORS: tuple[tuple[str, str], ...] = (  # (text, font: r = regular, o = oblique)
    ("important", "o"),
    ("2024", "r"),
    ("Table 3", "r"),
    ("[12]", "r"),
    ("well-known", "r"),
    ("1990–2000", "r"),
    ("results—as shown", "r"),
    ("https://example.org/a-b", "r"),
    ("Section 2.1", "r"),
    ("e.g.", "r"),
    ("a priori", "o"),
    ("state-of-the-art", "r"),
    ("Figure 12", "r"),
    ("pp. 45–67", "r"),
)
UNICODE_DISPLAY: tuple[tuple[str, str, str | None], ...] = (  # (LaTeX, markup, number)
    (r"E = mc^2", "E = mc^{2}", "(1)"),
    (r"\frac{a+b}{2} \geq \sqrt{ab}", r"\F{a + b}{2} ≥ √ab", None),
    (r"\int_{-\infty}^{\infty} e^{-x^2} dx = \sqrt{\pi}", "∫_{−∞}^{∞} e^{−x²}dx = √π", "(2)"),
    (r"\nabla \cdot E = \rho / \varepsilon_0", "∇ · E = ρ/ε_{0}", "(3)"),
)


@dataclass(slots=True)
class _Piece:
    text: str
    font: str
    size: float
    dx: float
    dy: float  # up is positive


def _fonts() -> None:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name in (REGULAR, OBLIQUE):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(folder / f"{name}.ttf")))


def _width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def _group(markup: str, i: int) -> tuple[str, int]:
    if markup[i] != "{":
        return markup[i], i + 1
    end = markup.index("}", i)
    return markup[i + 1 : end], end + 1


def layout(
    markup: str, size: float = SIZE, regular: str = REGULAR, variable: str = OBLIQUE
) -> tuple[list[_Piece], float, list[tuple[float, float, float]]]:
    """Pieces of a formula, its advance width, and its rules (x0, x1, dy)."""
    pieces: list[_Piece] = []
    rules: list[tuple[float, float, float]] = []
    x, i = 0.0, 0
    while i < len(markup):
        c = markup[i]
        if markup.startswith(r"\F", i):
            num, i = _group(markup, i + 2)
            den, i = _group(markup, i)
            (pn, wn, _), (pd, wd, _) = layout(num, size, regular, variable), layout(den, size, regular, variable)
            width = max(wn, wd) + 2
            pieces += [
                _Piece(p.text, p.font, p.size, x + 1 + (width - 2 - wn) / 2 + p.dx, p.dy + 0.75 * size) for p in pn
            ]
            pieces += [
                _Piece(p.text, p.font, p.size, x + 1 + (width - 2 - wd) / 2 + p.dx, p.dy - 0.9 * size) for p in pd
            ]
            rules.append((x, x + width, 0.3 * size))
            x += width + 0.2 * size
            continue
        if c in "^_":
            sup_x = x
            while i < len(markup) and markup[i] in "^_":
                which = markup[i]
                script, i = _group(markup, i + 1)
                sub, sw, _ = layout(script, 0.7 * size, regular, variable)
                dy = 0.4 * size if which == "^" else -0.2 * size
                pieces += [_Piece(p.text, p.font, p.size, sup_x + p.dx, p.dy + dy) for p in sub]
                x = max(x, sup_x + sw)
            x += 0.05 * size
            continue
        if markup.startswith(r"\,", i):  # thin space
            x += SIZE / 6 * size / SIZE
            i += 2
            continue
        if c == " ":
            x += 0.22 * size
            i += 1
            continue
        word = next((f for f in FUNCTIONS if markup.startswith(f, i)), None)
        if word:
            pieces.append(_Piece(word, regular, size, x, 0.0))
            x += _width(word, regular, size)
            i += len(word)
            continue
        font = variable if c.isascii() and c.isalpha() else regular
        pieces.append(_Piece(c, font, size, x, 0.0))
        x += _width(c, font, size)
        i += 1
    return pieces, x, rules


def build_unicode_pdf(
    seed: int = 3,
    style: Style = DEJAVU,
    inline: Sequence[tuple[str, ...]] = UNICODE_INLINE,
    distractors: Sequence[tuple[str, str]] = UNICODE_DISTRACTORS,
    displays: Sequence[tuple[str, str, str | None]] = UNICODE_DISPLAY,
) -> tuple[bytes, dict[tuple[int, int], str], dict[int, str | None]]:
    """The PDF, a map (marker red, index) -> LaTeX or text, and display index -> equation number.

    ``inline``: (LaTeX, markup[, ``r`` to set its letters upright]); ``distractors``: (text, fonts) with fonts
    ``r`` (regular) or ``o`` (emphasis) for all words, or one such letter per word."""
    from reportlab.pdfgen import canvas

    if style.embedded:
        _fonts()
    rng = random.Random(seed)
    words = "we study how the model behaves when inputs vary and show that the bound is tight for all cases".split()
    items = [("i", k) for k in range(len(inline))] + [("d", k) for k in range(len(distractors))]
    rng.shuffle(items)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(612.0, 792.0))
    right = 612.0 - MARGIN
    state = {"x": MARGIN, "y": 792.0 - MARGIN}
    space = 0.28 * SIZE

    def newline(gap: float = LEADING) -> None:
        state["x"], state["y"] = MARGIN, state["y"] - gap

    def put(pieces: list[_Piece], width: float, rules, colour: tuple[int, int, int]) -> None:
        if state["x"] + width > right:
            newline()
        pdf.setFillColorRGB(*(c / 255 for c in colour))
        for p in pieces:
            pdf.setFont(p.font, p.size)
            pdf.drawString(state["x"] + p.dx, state["y"] + p.dy, p.text)
        for x0, x1, dy in rules:
            pdf.rect(state["x"] + x0, state["y"] + dy, x1 - x0, 0.5, stroke=0, fill=1)
        state["x"] += width + space

    def word(text: str, fonts: str = "r", colour=(0, 0, 0)) -> None:
        parts = text.split(" ")
        for n, part in enumerate(parts):
            font = style.emphasis if (fonts if len(fonts) == 1 else fonts[n]) == "o" else style.regular
            put([_Piece(part, font, SIZE, 0, 0)], _width(part, font, SIZE), [], colour)

    per_display = len(items) // (len(displays) + 1)
    display = 0
    for n, (what, k) in enumerate(items):
        for _ in range(rng.randint(3, 8)):
            word(rng.choice(words))
        if what == "i":
            upright = inline[k][2:] == ("r",)
            pieces, width, rules = layout(
                inline[k][1], SIZE, style.regular, style.regular if upright else style.variable
            )
            put(pieces, width, rules, (INLINE_R, k, 0))
        else:
            text, fonts = distractors[k]
            word(text, fonts, (DISTRACTOR_R, k, 0))
        if (n + 1) % per_display == 0 and display < len(displays):
            _, markup, number = displays[display]
            pieces, width, rules = layout(markup, SIZE, style.regular, style.variable)
            newline(2.2 * LEADING)
            state["x"] = (MARGIN + right - width) / 2
            put(pieces, width, rules, (DISPLAY_R, display, 0))
            if number:
                state["x"] = right - _width(number, style.regular, SIZE)
                word(number)
            newline(2.2 * LEADING)
            display += 1
    pdf.showPage()
    pdf.save()
    latex = {(INLINE_R, k): entry[0] for k, entry in enumerate(inline)}
    latex |= {(DISPLAY_R, k): s for k, (s, _, _) in enumerate(displays)}
    latex |= {(DISTRACTOR_R, k): s for k, (s, _) in enumerate(distractors)}
    return buffer.getvalue(), latex, {k: n for k, (_, _, n) in enumerate(displays)}
