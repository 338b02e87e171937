r"""A book-like LaTeX document (chapters, theorems, figures, tables, captions, footnotes) for text-loss checks.

:func:`book_source` writes the body and preamble of a ``book``-class document of random English prose with
what layout models tend to mislabel: amsthm ``Theorem``/``Definition``/``Lemma`` headings and proofs, figures
drawn with the ``picture`` environment (labels inside, a caption below), ``booktabs`` tables with captions,
display equations, itemised lists, footnotes, running heads and page numbers, and names with TeX accents in the
default OT1 encoding (``Mina\v{c}``: the accent is a glyph of its own beside the letter).  Compile with
:func:`docray.testing.latex.compile_latex`.
"""

from __future__ import annotations

import random

PREAMBLE = r"""\documentclass[11pt]{book}
\usepackage{amsmath,amssymb,amsthm,booktabs}
\usepackage[margin=2.6cm]{geometry}
\newtheorem{theorem}{Theorem}[chapter]
\newtheorem{lemma}[theorem]{Lemma}
\theoremstyle{definition}
\newtheorem{definition}[theorem]{Definition}
\newtheorem{remark}[theorem]{Remark}
"""

_WORDS = (
    "analysis method result structure measure value system process general approach condition property example "
    "function element number series theory model paper reader argument section context problem question answer "
    "boundary interval sequence operator channel signal pattern surface volume sample evidence observation record "
    "history library archive travel harbour garden mountain village region border market teacher student lesson "
    "chapter figure column margin letter notice weather morning evening winter summer river forest island bridge"
).split()
_SMALL = "the of and to in is that for on with as by this from at which".split()
NAMES = (r"J\'an Min\'a\v{c}", r"Zo\"e M\"uller", r"Fran\c{c}ois Ch\^atelet", r"Ond\v{r}ej \v{S}im\r{u}nek")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS if rng.random() < 0.6 else _SMALL) for _ in range(rng.randint(8, 18))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random, sentences: int = 5) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _figure(rng: random.Random, k: int) -> str:
    labels = [rng.choice(_WORDS) for _ in range(3)]
    return (
        "\\begin{figure}[ht]\\centering\n\\setlength{\\unitlength}{1mm}\n\\begin{picture}(90,40)\n"
        "\\put(0,0){\\framebox(90,40){}}\\put(10,5){\\line(2,1){60}}\\put(10,5){\\vector(1,0){75}}\n"
        f"\\put(12,30){{{labels[0]}}}\\put(55,12){{{labels[1]}}}\\put(40,34){{{labels[2]}}}\n"
        f"\\end{{picture}}\n\\caption{{{_sentence(rng)} {_sentence(rng)}}}\\label{{fig:{k}}}\n\\end{{figure}}\n"
    )


def _table(rng: random.Random) -> str:
    rows = "\n".join(
        f"{rng.choice(_WORDS)} & {rng.randint(1, 99)} & {rng.randint(100, 999)} & {rng.choice(_WORDS)} \\\\" for _ in range(4)
    )
    return (
        "\\begin{table}[ht]\\centering\n"
        f"\\caption{{{_sentence(rng)}}}\n"
        "\\begin{tabular}{lrrl}\\toprule\nName & Count & Total & Kind \\\\\\midrule\n"
        f"{rows}\n\\bottomrule\\end{{tabular}}\n\\end{{table}}\n"
    )


def book_body(chapters: int = 3, sections: int = 3, seed: int = 0) -> str:
    """The body of the book: per section prose, a definition, a theorem with proof, a figure or a table."""
    rng = random.Random(seed)
    authors = " \\and ".join(NAMES[:2])
    parts = [f"\\title{{{_sentence(rng)[:-1]}}}\\author{{{authors}}}\\maketitle"]
    figure = 0
    for c in range(chapters):
        parts.append(f"\\chapter{{{rng.choice(_WORDS).capitalize()} and {rng.choice(_WORDS)}}}")
        parts.append(_paragraph(rng, 6))
        for s in range(sections):
            parts.append(f"\\section{{The {rng.choice(_WORDS)} of {rng.choice(_WORDS)}s}}")
            parts.append(_paragraph(rng) + f"\\footnote{{{_sentence(rng)}}}")
            parts.append(f"\\begin{{definition}}[{rng.choice(_WORDS).capitalize()}] {_sentence(rng)} {_sentence(rng)}\\end{{definition}}")
            parts.append(f"As {NAMES[(c + s) % len(NAMES)]} observed, {_paragraph(rng, 3).lower()}")
            parts.append(
                f"\\begin{{theorem}} {_sentence(rng)} Then\n\\begin{{equation}}\\sum_{{i=1}}^{{n}} x_i^{2} \\le "
                f"\\frac{{{s + 2}}}{{n}}\\int_0^1 f(t)\\,dt.\\end{{equation}}\n\\end{{theorem}}"
            )
            parts.append(f"\\begin{{proof}} {_paragraph(rng, 3)}\\end{{proof}}")
            parts.append(f"\\begin{{lemma}} {_sentence(rng)}\\end{{lemma}}")
            parts.append("\\begin{itemize}" + "".join(f"\\item {_sentence(rng)}" for _ in range(3)) + "\\end{itemize}")
            figure += 1
            parts.append(_figure(rng, figure) if (c + s) % 2 == 0 else _table(rng))
            parts.append(f"The {rng.choice(_WORDS)} above shows the {rng.choice(_WORDS)}. " + _paragraph(rng, 4))
            parts.append(f"\\begin{{remark}} {_sentence(rng)}\\end{{remark}}")
    return "\n\n".join(parts)


def book_source(chapters: int = 3, sections: int = 3, seed: int = 0) -> tuple[str, str]:
    """``(body, preamble)`` of the book, for :func:`~docray.testing.latex.compile_latex`."""
    return book_body(chapters, sections, seed), PREAMBLE
