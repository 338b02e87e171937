"""LaTeX rebuilt from a formula's text-layer glyphs: hand-built glyph layouts (any font, no pdflatex) and the
project's LaTeX formula set compiled with pdflatex, compared with its source by KaTeX-rendered structure."""

from __future__ import annotations

import unicodedata

import pytest

from docray.evaluation.katex_math import KatexRenderer, missing_katex
from docray.operators.formula_text import Reconstruction, reconstruct_latex
from docray.operators.formula_text.symbols import UNICODE, symbol_of
from docray.operators.textlayer.pdf_glyphs import Glyph
from docray.testing.formula_set import FONT_VARIANTS, build_formula_set, font_preamble, formula_regions
from docray.testing.latex import compile_latex, pdflatex

needs_katex = pytest.mark.skipif(missing_katex() is not None, reason=f"KaTeX unavailable: {missing_katex()}")
needs_pdflatex = pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed (texlive)")


def glyph(text: str, x: float, base: float, size: float = 10.0, font: str = "CambriaMath", *, width: float | None = None,
          top: float | None = None, bottom: float | None = None, code: int = 0) -> Glyph:  # fmt: skip
    """A glyph at origin (x, base): by default x-height-ish box of a letter, ``width`` 0.5 em."""
    width = 0.5 * size if width is None else width
    top = base - 0.65 * size if top is None else top
    bottom = base if bottom is None else bottom
    return Glyph(text, font, size, (x, top, x + width, bottom), (x, base), code)


def line(text: str, x: float, base: float, size: float = 10.0, font: str = "CambriaMath") -> list[Glyph]:
    out = []
    for char in text:
        out.append(glyph(char, x, base, size, font))
        x += 0.6 * size
    return out


# --------------------------------------------------------------------------- symbols


def test_unicode_math_symbols_in_non_tex_fonts():
    glyphs = line("α+β≤γ", 100, 100)
    assert reconstruct_latex(glyphs) == Reconstruction("\\alpha+\\beta\\leq\\gamma", 1.0)
    assert reconstruct_latex(line("x∈ℝ", 100, 100)).latex == "x\\in\\mathbb{R}"


def test_math_alphanumerics_and_fonts_give_alphabets():
    assert symbol_of("\U0001d411", "STIXTwoMath", 0, True).style == "mathbf"  # MATHEMATICAL BOLD CAPITAL R
    assert symbol_of("\U0001d49c", "STIXTwoMath", 0, True).style == "mathcal"  # MATHEMATICAL SCRIPT CAPITAL A
    assert symbol_of("\U0001d465", "CambriaMath", 0, True).tex == "x"  # math italic x is plain x
    assert symbol_of("R", "MSBM10", 0, True).style == "mathbb"
    assert symbol_of("F", "CMSY10", 0, True).style == "mathcal"
    assert symbol_of("g", "EUFM10", 0, True).style == "mathfrak"
    assert symbol_of("ℓ", "CMMI10", 0, True).tex == "\\ell"


def test_cmex_codes_are_big_operators_and_delimiters():
    cmex = [symbol_of("\ufffd", "CMEX10", code, True) for code in (0x58, 0x5A, 0x12, 0x13, 0x70, 0x28)]
    assert [(s.tex, s.kind) for s in cmex] == [("\\sum", "bigop"), ("\\int", "bigop"), ("(", "delim"), (")", "delim"),
                                               ("\\sqrt", "radical"), ("{", "delim")]  # fmt: skip


@needs_katex
def test_symbol_table_renders_the_same_symbols_in_katex():
    renderer = KatexRenderer.find()
    # spellings KaTeX draws with another, equivalent code point
    alike = {
        "°": "∘",
        "-": "−",
        "·": "⋅",
        "*": "∗",
        "◦": "∘",
        "•": "∙",
        "‖": "∥",
        "|": "∣",
        "'": "′",
        "∆": "Δ",
        "≔": ":=",
        "〈": "⟨",
        "〉": "⟩",
    }
    items = [(char, tex) for char, (tex, kind) in UNICODE.items() if kind not in ("accent", "not", "radical")]
    renderer.render_many([tex for _, tex in items])
    wrong = []
    for char, tex in items:
        rendered = renderer.symbols(tex)
        text = "".join(symbol for symbol, _ in rendered) if not isinstance(rendered, str) else rendered
        expected = alike.get(char, char)
        if char in "ΑΒΕΖΗΙΚΜΝΟΡΤΧο":  # Greek drawn like Latin letters
            continue
        if unicodedata.normalize("NFKC", text) != unicodedata.normalize("NFKC", expected):
            wrong.append((char, tex, text))
    assert not wrong


# --------------------------------------------------------------------------- layout


def test_scripts_from_baseline_offsets_and_sizes():
    glyphs = [glyph("x", 100, 100), glyph("2", 105.5, 96, 7.0), glyph("i", 105.5, 102, 7.0), glyph("+", 112, 100),
              glyph("y", 119, 100), glyph("′", 124, 96, 7.0)]  # fmt: skip
    assert reconstruct_latex(glyphs).latex == "x_{i}^{2}+y'"
    nested = [glyph("e", 100, 100), glyph("x", 105.5, 96, 7.0), glyph("2", 109.5, 93, 5.0)]
    assert reconstruct_latex(nested).latex == "e^{x^{2}}"


def test_limits_above_and_below_a_big_operator():
    glyphs = [glyph("∑", 100, 100, width=12, top=88, bottom=104),
              *line("i=1", 101, 111, 7.0), glyph("n", 104, 84, 7.0), glyph("x", 116, 100), glyph("i", 121, 102, 7.0)]  # fmt: skip
    assert reconstruct_latex(glyphs).latex == "\\sum_{i=1}^{n}x_{i}"


def test_fractions_from_rules_nested_and_side_by_side():
    glyphs = [glyph("a", 102, 94), glyph("b", 102, 110), glyph("=", 112, 102),
              glyph("1", 124, 94), glyph("x", 121, 110), glyph("y", 127, 110)]  # fmt: skip
    rules = [(100, 98.8, 108, 99.2), (120, 98.8, 133, 99.2)]
    assert reconstruct_latex(glyphs, rules).latex == "\\frac{a}{b}=\\frac{1}{xy}"
    nested = [glyph("1", 102, 90), glyph("x", 102, 99), glyph("2", 102, 110)]
    rules = [(101, 91.5, 107, 91.9), (99, 101.8, 109, 102.2)]  # 1 over x, all over 2
    assert reconstruct_latex(nested, rules).latex == "\\frac{\\frac{1}{x}}{2}"


def test_radical_with_vinculum_and_index():
    glyphs = [glyph("√", 100, 100, width=8, top=90, bottom=102), glyph("3", 101, 94, 5.0), glyph("x", 109, 100)]
    assert reconstruct_latex(glyphs, [(108, 89.8, 116, 90.2)]).latex == "\\sqrt[3]{x}"


def test_operator_names_words_and_accents():
    glyphs = [*line("sin", 100, 100, font="CMR10"), glyph("x", 120, 100, font="CMMI10")]
    assert reconstruct_latex(glyphs).latex == "\\sin x"
    hat = [glyph("x", 100, 100, font="CMMI10"), glyph("ˆ", 101, 93.5, font="CMR10", top=92, bottom=93.5)]
    assert reconstruct_latex(hat).latex == "\\hat{x}"


def test_sizes_of_mixed_fonts_snap_to_levels():
    # Palatino-like: "=" borrowed from another font at 1.04 times the size, a display sum drawn from a text-size
    # font at 1.4 times the size with its origin near its bottom (not on the axis), a prime in a subscript
    glyphs = [glyph("λ", 100, 100, font="PazoMath-Italic"), glyph("g", 105.5, 102.5, 7.3, font="URWPalladioL-Ital"),
              glyph("′", 109.5, 99.8, 5.5, font="CMSY10", top=96.5, bottom=99.8),
              glyph("=", 113, 100, 10.4, font="CMR10", top=96, bottom=98),
              glyph("∑", 122, 101.8, 14.0, font="PazoMath", width=11, top=90.5, bottom=104.5),
              glyph("x", 135, 100, font="URWPalladioL-Ital")]  # fmt: skip
    assert reconstruct_latex(glyphs).latex == "\\lambda_{g'}=\\sum x"


def test_struck_and_overlaid_glyphs_of_other_fonts():
    hbar = [
        glyph("h", 100, 100, font="URWPalladioL-Ital", top=92),
        glyph("¯", 100.5, 100, font="URWPalladioL-Roma", top=93.5, bottom=94.1),
    ]
    assert reconstruct_latex(hbar).latex == "\\hbar"
    empty = [
        glyph("/", 100, 100, font="NimbusRomNo9L-Regu", top=92.5),
        glyph("0", 99.5, 100, font="NimbusRomNo9L-Regu", top=92.5),
    ]
    assert reconstruct_latex(empty).latex == "\\emptyset"
    assert symbol_of("\ufffd", "txsyc", 0x2C, True).tex == "\\neq"  # txfonts' companion symbols
    assert symbol_of("\ufffd", "Pxexa", 0x22, True).tex == "\\iint"


def test_confidence_drops_for_regions_that_are_not_one_formula():
    formula = [
        glyph("a", 100, 100, font="CMMI10"),
        glyph("=", 106, 100, font="CMR10"),
        glyph("b", 113, 100, font="CMMI10"),
    ]
    assert reconstruct_latex(formula).confidence == 1.0
    assert reconstruct_latex(formula[:2]).confidence < 0.5  # cut after the relation
    assert reconstruct_latex([*formula, *line("where", 120, 100, font="CMR10")]).confidence >= 0.5  # a word beside
    above = [*line("where", 100, 86, font="CMR10"), *line("this", 135, 86, font="CMR10")]
    assert reconstruct_latex([*formula, *above]).confidence < 0.5  # words of the line above
    assert (
        reconstruct_latex([*line("the", 100, 100, font="CMR10"), *line("word", 122, 100, font="CMR10")]).confidence
        < 0.5
    )
    paren = [
        glyph("f", 100, 100, font="CMMI10"),
        glyph("(", 106, 100, font="CMR10"),
        glyph("x", 110, 100, font="CMMI10"),
    ]
    assert reconstruct_latex(paren).confidence < 0.5


def test_confidence_drops_for_unidentified_glyphs():
    clean = reconstruct_latex(line("a+b", 100, 100))
    unknown = reconstruct_latex([*line("a+b", 100, 100), glyph("\ufffd", 120, 100, font="SomeFont", code=0x99)])
    assert clean.confidence == 1.0 and unknown.confidence < clean.confidence
    assert reconstruct_latex([]) == Reconstruction("", 0.0)


# --------------------------------------------------------------------------- the compiled formula sets


def equal_rate(formulas: list[str], reconstructions: list[Reconstruction]) -> tuple[float, list[str]]:
    renderer = KatexRenderer.find()
    renderer.render_many(formulas + [r.latex for r in reconstructions])
    failures = [f"{truth!r} -> {rec.latex!r}" for truth, rec in zip(formulas, reconstructions, strict=True)
                if renderer.symbols(truth) != renderer.symbols(rec.latex)]  # fmt: skip
    return 1 - len(failures) / len(formulas), failures


@needs_pdflatex
@needs_katex
@pytest.mark.parametrize("fonts", FONT_VARIANTS)
def test_display_formula_set_renders_equal_to_its_source(fonts):
    """The same formulas set in Computer Modern, Palatino (mathpazo), Times (mathptmx), txfonts and pxfonts."""
    formula_set = build_formula_set(fonts=fonts)
    regions = formula_regions(formula_set.pdf)
    assert len(regions) == len(formula_set.formulas)
    reconstructions = [reconstruct_latex(glyphs, rules) for glyphs, rules in regions]
    rate, failures = equal_rate([latex for _, latex in formula_set.formulas], reconstructions)
    assert rate >= (0.98 if fonts == "cm" else 0.9), failures
    assert sum(r.confidence >= 0.5 for r in reconstructions) >= 0.9 * len(reconstructions)


@needs_pdflatex
@pytest.mark.parametrize("fonts", ["cm", "pazo", "tx"])
def test_confidence_separates_formulas_from_bad_regions(fonts):
    """Regions built from compiled glyphs: the formula alone is confident; with words of the line above or below,
    cut in half, merged with the next formula half a line lower, or a stretch of a paragraph, mostly not."""
    from docray.testing.formula_bad_set import context_regions

    low: dict[str, list[bool]] = {}
    for region in context_regions(fonts):
        low.setdefault(region.kind, []).append(reconstruct_latex(region.glyphs, region.rules).confidence < 0.5)
    rates = {kind: sum(flags) / len(flags) for kind, flags in low.items()}
    assert rates["good"] <= 0.05, rates
    assert rates["neighbour"] >= 0.9 and rates["merged"] >= 0.7 and rates["paragraph"] >= 0.9, rates
    assert rates["cut"] >= 0.3, rates  # many halves of a formula are formulas themselves (a = b | + c)


INLINE = [r"x_i^2", r"\alpha+\beta", r"\frac{1}{2}", r"\sum_{k=1}^n x_k", r"\sqrt{x+1}", r"e^{i\pi}", r"\binom{n}{k}",
          r"\int_0^1 f(x)\,dx", r"\lim_{n\to\infty} a_n", r"\left(\frac{a}{b}\right)^2", r"f'(x)", r"\mathbb{R}^n",
          r"\hat{x}_t", r"\|x\|_2", r"\max_i x_i", r"x^{-1/2}"]  # fmt: skip


@needs_pdflatex
@needs_katex
@pytest.mark.parametrize("fonts", ["cm", "pazo", "times"])
def test_inline_formulas_render_equal(fonts):
    pdf = compile_latex("\n\\newpage\n".join(f"Text ${latex}$" for latex in INLINE), font_preamble(fonts))
    reconstructions = []
    for glyphs, rules in formula_regions(pdf):
        assert "".join(g.text for g in glyphs[:4]) == "Text"
        reconstructions.append(reconstruct_latex(glyphs[4:], rules))
    rate, failures = equal_rate(INLINE, reconstructions)
    assert rate >= 0.9, failures
