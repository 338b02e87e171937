r"""Documents with operator names and function terms, for the formula detector's tests.

Papers write operator names upright, often with scripts (``\operatorname{Ann}_R(x_i)``, ``\max_i``) and between
math on both sides; slides and web pages set whole formulas in their text fonts (``F(b) - F(a)`` in Helvetica,
or Helvetica text with Times-Italic variables).  Distractors are the same words and parentheses in prose
(``the Ann Arbor campus``, ``see (a) and (b)``, an emphasised word before a parenthesis).  Scripts of scripts
(``\psi_{x_i}``) and products of variables in a text italic beside a relation (``Rs = I_i`` in Palatino) too.  Ground truth comes
from marker fill colours, as in :mod:`docray.testing.inline_math`.
"""

from __future__ import annotations

from docray.testing.inline_math import MathDocument, latex_document, read_truth

OPERATOR_LATEX: tuple[str, ...] = (
    r"\lambda_g = \sum_{i=1}^{k} c(g, R/\operatorname{Ann}_R(x_i))",
    r"u \in (R/\operatorname{Ann}_R(x_i))^\times",
    r"\operatorname{Hom}(A, B)",
    r"\operatorname{rank}(A) = n",
    r"\operatorname{Tr} X",
    r"\max_i x_i",
    r"\operatorname{span}\{v_1, v_2\}",
    r"\operatorname{End}(V)",
    r"\operatorname{sign}(x)",
    r"\operatorname{supp} f",
    r"\operatorname{diag}(a, b)",
    r"\operatorname{erf}(x)",
    r"\operatorname{Aut}(G)",
    r"f = \operatorname{Res}_{z=0} g",
    r"F(b) - F(a)",
    r"\min(a, b) \leq c",
    r"\mathrm{Gal}(K/\mathbb{Q})",
    r"\operatorname{Spec} A",
    r"\psi_{x_i}",
    r"Rs = \mathcal{I}_i",
    r"x_i",
    r"n",
)
OPERATOR_DISTRACTORS: tuple[str, ...] = (
    r"the Ann Arbor campus",
    r"see (a) and (b)",
    r"\emph{results} (b)",
    r"\emph{et al.} (2020)",
    r"rank of the model",
    r"span the space",
    r"End of the proof",
    r"sign (positive)",
    r"Smith(2019)",
    r"max pooling",
    r"part (a) -- (b)",
    r"Figure 3(b)",
    r"Vitamin C (or D)",
    r"A/B tests",
)
# (LaTeX, markup[, "r": letters upright]) for the reportlab page, see docray.testing.inline_math_unicode.layout
SANS_INLINE: tuple[tuple[str, ...], ...] = (
    ("F(b) - F(a)", "F(b) - F(a)"),
    ("F(b) - F(a)", "F(b) - F(a)", "r"),
    ("f(x) = 2x + 1", "f(x) = 2x + 1"),
    ("f(x) = 2x + 1", "f(x) = 2x + 1", "r"),
    ("g(t) + h(t)", "g(t) + h(t)", "r"),
    ("P(A) = 0.5", "P(A) = 0.5", "r"),
    ("F(x, y) = 0", "F(x, y) = 0", "r"),
    ("a^2 + b^2 = c^2", "a^{2} + b^{2} = c^{2}"),
    ("x", "x"),
    ("n + 1", "n + 1"),
    ("f(x)", "f(x)"),
    ("e^x", "e^{x}"),
    ("k", "k"),
    (r"\sin x", "sin x"),
    ("x_i", "x_{i}"),
    ("p(x, y)", "p(x, y)"),
)
SANS_DISTRACTORS: tuple[tuple[str, str], ...] = (  # (text, fonts: r regular, o emphasis; one for all or per word)
    ("see (a) and (b)", "r"),
    ("important (b)", "or"),
    ("results (see below)", "orr"),
    ("the Ann Arbor campus", "r"),
    ("Q&A (2024)", "r"),
    ("Figure 3(b) - 3(c)", "r"),
    ("part A (b)", "r"),
    ("a priori", "o"),
    ("well-known", "r"),
    ("pp. 45-67", "r"),
    ("Smith(2019)", "r"),
    ("version 2.0 (beta)", "r"),
    ("x-ray", "r"),
    ("A/B tests", "r"),
    ("Vitamin C (or D)", "r"),
)
SANS_DISPLAY: tuple[tuple[str, str, str | None], ...] = (
    ("E = mc^2", "E = mc^{2}", "(1)"),
    ("F(b) - F(a) = 0", "F(b) - F(a) = 0", None),
)


def operator_document(font: str = "cm", seed: int = 0, twocolumn: bool = False) -> MathDocument:
    """Operator names and function terms among distractors, in LaTeX (``font``: cm, times, pazo)."""
    return latex_document(
        seed=seed,
        twocolumn=twocolumn,
        font=font,
        inline=OPERATOR_LATEX,
        distractors=OPERATOR_DISTRACTORS,
        prefix="ops-",
    )


def sans_document(seed: int = 3) -> MathDocument:
    """A reportlab page in Helvetica with Times-Italic variables, some formulas all upright (slides, web pages)."""
    from docray.testing.inline_math_unicode import SANS, build_unicode_pdf

    pdf, latex, numbers = build_unicode_pdf(seed, SANS, SANS_INLINE, SANS_DISTRACTORS, SANS_DISPLAY)
    return MathDocument("sans" + (f"-s{seed}" if seed != 3 else ""), pdf, read_truth(pdf, latex, numbers))
