"""olmOCR-bench's ``math`` test, APPROXIMATED by comparing normalised LaTeX tokens (pure functions).

**This is not the official check.** olmOCR-bench (allenai/olmocr, ``olmocr/bench/tests.py`` ``MathTest`` and
``olmocr/bench/katex/render.py``) renders the ground-truth LaTeX and each candidate formula with KaTeX in headless
Chromium; a candidate passes if it is the same string, if the reference's MathML is contained in the candidate's,
or if every rendered symbol of the reference can be matched to a candidate symbol with the same text and the same
up/down/left/right neighbours. That needs a browser, so here a formula passes when, after normalisation, its token
sequence is within a small edit distance of the ground truth's. Results are labelled "approximate" wherever they
are reported; they will differ from the official check in both directions (a formula that renders the same from a
very different source fails here, a one-symbol slip in a long formula passes here).

What is the same as the official check: the candidates are the output's ``\\(...\\)``, ``\\[...\\]``, ``$$...$$`` and
``$...$`` spans, taken in that order, each kind removed before the next is searched (``ignore_dollar_delimited``
skips the dollar kinds), and a candidate identical to the ground truth passes at once.

Normalisation (:func:`latex_tokens`), chosen so that spellings which render alike compare equal:

* tokens are control words (``\\frac``), control symbols (``\\{``) and single characters; whitespace is dropped;
* dropped: ``\\left``/``\\right``/``\\middle`` and the ``\\big`` family (with a ``.`` null delimiter after them),
  ``\\displaystyle`` and the other style switches, ``\\limits``/``\\nolimits``, spacing (``\\,``, ``\\quad``, ``~``
  ...), ``\\label{...}``/``\\tag{...}``, ``\\nonumber``;
* font and text commands (``\\mathrm``, ``\\mathbf``, ``\\mathcal``, ``\\mathbb``, ``\\text``, ``\\operatorname``
  ...) are removed with their braces, keeping the argument, since KaTeX layout comparison ignores fonts too;
* equivalent spellings are unified (``\\dfrac``/``\\tfrac`` -> ``\\frac``, ``\\le`` -> ``\\leq``, ``\\to`` ->
  ``\\rightarrow``, ``'`` -> ``^\\prime`` ...), and Unicode symbols become their commands (``π`` -> ``\\pi``,
  ``×`` -> ``\\times``, ``−`` -> ``-`` ...);
* braces around a single token are removed (``x^{2}`` = ``x^2``, ``\\frac{1}{2}`` = ``\\frac12``), empty ones too.

Match: the ground truth's tokens are aligned with the best-matching stretch of a candidate's tokens (so, like the
official MathML containment, a candidate may hold more than the ground truth); the test passes if the Levenshtein
distance is at most ``max_edit_ratio`` (default :data:`DEFAULT_MAX_EDIT_RATIO`) times the ground truth's token
count, rounded down: formulas under 20 tokens must match exactly after normalisation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_MAX_EDIT_RATIO = 0.05
_DELIMITERS = (
    re.compile(r"\\\((.+?)\\\)", re.DOTALL),
    re.compile(r"\\\[(.+?)\\\]", re.DOTALL),
    re.compile(r"\$\$(.+?)\$\$", re.DOTALL),
    re.compile(r"\$(.+?)\$", re.DOTALL),
)
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\S", re.DOTALL)
_DELIMITER_SIZES = {"\\left", "\\right", "\\middle"} | {
    f"\\{size}{side}" for size in ("big", "Big", "bigg", "Bigg") for side in ("", "l", "r", "m")
}
_DROPPED = {
    "\\displaystyle", "\\textstyle", "\\scriptstyle", "\\scriptscriptstyle", "\\limits", "\\nolimits",
    "\\nonumber", "\\notag", "\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquad", "~", "\\enspace",
    "\\thinspace", "\\medspace", "\\thickspace", "\\negthinspace", "\\rm", "\\bf", "\\it", "\\sf", "\\tt", "\\cal",
}  # fmt: skip
_DROPPED_WITH_ARGUMENT = {"\\label", "\\tag", "\\hspace", "\\vspace", "\\phantom"}
_FONTS = {
    "\\mathrm", "\\mathbf", "\\mathit", "\\mathsf", "\\mathtt", "\\mathcal", "\\mathbb", "\\mathfrak", "\\mathscr",
    "\\mathnormal", "\\boldsymbol", "\\bm", "\\pmb", "\\text", "\\textrm", "\\textbf", "\\textit", "\\textsf",
    "\\texttt", "\\textnormal", "\\mbox", "\\operatorname", "\\mathop",
}  # fmt: skip
_SYNONYMS = {
    "\\dfrac": "\\frac", "\\tfrac": "\\frac", "\\cfrac": "\\frac", "\\dbinom": "\\binom", "\\tbinom": "\\binom",
    "\\le": "\\leq", "\\ge": "\\geq", "\\ne": "\\neq", "\\leqslant": "\\leq", "\\geqslant": "\\geq",
    "\\to": "\\rightarrow", "\\gets": "\\leftarrow", "\\implies": "\\Longrightarrow", "\\iff": "\\Longleftrightarrow",
    "\\lbrace": "\\{", "\\rbrace": "\\}", "\\lbrack": "[", "\\rbrack": "]", "\\vert": "|", "\\lvert": "|",
    "\\rvert": "|", "\\mid": "|", "\\Vert": "\\|", "\\lVert": "\\|", "\\rVert": "\\|", "\\land": "\\wedge",
    "\\lor": "\\vee", "\\lnot": "\\neg", "\\dots": "\\ldots", "\\dotsc": "\\ldots", "\\dotsb": "\\cdots",
    "\\colon": ":", "\\cdotp": "\\cdot", "\\centerdot": "\\cdot", "\\ast": "*", "\\setminus": "\\backslash",
    "\\owns": "\\ni", "\\bigtriangleup": "\\triangle",
}  # fmt: skip
_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "\\times", "\u00b7": "\\cdot", "\u22c5": "\\cdot", "\u2026": "\\ldots",
    "\u22ef": "\\cdots", "\u221e": "\\infty", "\u2264": "\\leq", "\u2265": "\\geq", "\u2260": "\\neq",
    "\u2248": "\\approx", "\u2261": "\\equiv", "\u223c": "\\sim", "\u2208": "\\in", "\u2209": "\\notin",
    "\u2282": "\\subset", "\u2286": "\\subseteq", "\u222a": "\\cup", "\u2229": "\\cap", "\u2205": "\\emptyset",
    "\u2211": "\\sum", "\u220f": "\\prod", "\u222b": "\\int", "\u2202": "\\partial", "\u2207": "\\nabla",
    "\u2192": "\\rightarrow", "\u2190": "\\leftarrow", "\u21d2": "\\Rightarrow", "\u21d4": "\\Leftrightarrow",
    "\u00b1": "\\pm", "\u2213": "\\mp", "\u221a": "\\sqrt", "\u2200": "\\forall", "\u2203": "\\exists",
    "\u00ac": "\\neg", "\u2227": "\\wedge", "\u2228": "\\vee", "\u2218": "\\circ", "\u2032": "'",
    "\u03f5": "\\epsilon", "\u03b5": "\\varepsilon", "\u03d5": "\\phi", "\u03c6": "\\varphi", "\u03c2": "\\varsigma",
    "\u03bf": "o", "\u00b5": "\\mu",
}  # fmt: skip


def _greek_commands() -> dict[str, str]:
    """Greek letters as LaTeX: small ones by their Unicode names, capitals that look Latin as Latin letters."""
    table = {chr(code): "\\" + unicodedata.name(chr(code)).split()[-1].lower() for code in range(0x3B1, 0x3CA)}
    table["\u03bb"] = "\\lambda"  # Unicode spells it LAMDA
    commands = ("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega")
    table.update(
        zip("\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3\u03a5\u03a6\u03a8\u03a9", ["\\" + c for c in commands])
    )
    table.update(zip("\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7", "ABEZHIKMNOPTX"))
    return table


_UNICODE = {**_greek_commands(), **_UNICODE}


def extract_formulas(content: str, *, ignore_dollar_delimited: bool = False) -> list[str]:
    """The output's formulas: ``\\(..\\)``, ``\\[..\\]``, then ``$$..$$`` and ``$..$`` spans, stripped."""
    formulas = []
    for pattern in _DELIMITERS[:2] if ignore_dollar_delimited else _DELIMITERS:
        formulas += [match.strip() for match in pattern.findall(content)]
        content = pattern.sub("", content)
    return formulas


def latex_tokens(latex: str) -> list[str]:
    """``latex`` as a normalised token list (see the module docstring), e.g. ``\\dfrac{a}{b}`` -> ``\\frac a b``."""
    tokens: list[str] = []
    for token in _TOKEN.findall(latex):
        token = _UNICODE.get(token, token)
        token = _SYNONYMS.get(token, token)
        tokens += ["^", "\\prime"] if token == "'" else [token]
    closing = _matching_braces(tokens)
    skip: set[int] = set()
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token in _DELIMITER_SIZES:
            skip.add(index)
            if following == ".":
                skip.add(index + 1)
        elif token in _DROPPED:
            skip.add(index)
        elif token in _DROPPED_WITH_ARGUMENT:
            end = closing.get(index + 1, index + 1) if following is not None else index
            skip.update(range(index, end + 1))
        elif token in _FONTS:
            skip.add(index)
            if index + 1 in closing:  # keep the argument, drop its braces
                skip.update((index + 1, closing[index + 1]))
    return _unwrap_single_tokens([token for index, token in enumerate(tokens) if index not in skip])


def _matching_braces(tokens: list[str]) -> dict[int, int]:
    """Index of each ``{`` -> index of its ``}`` (unbalanced ones are left out)."""
    pairs, opened = {}, []
    for index, token in enumerate(tokens):
        if token == "{":
            opened.append(index)
        elif token == "}" and opened:
            pairs[opened.pop()] = index
    return pairs


def _unwrap_single_tokens(tokens: list[str]) -> list[str]:
    """Remove ``{}`` and the braces of ``{x}`` (one token), repeatedly, so ``{{x}}`` becomes ``x``."""
    changed = True
    while changed:
        changed, out, index = False, [], 0
        while index < len(tokens):
            if tokens[index] == "{" and index + 1 < len(tokens) and tokens[index + 1] == "}":
                index, changed = index + 2, True
            elif tokens[index] == "{" and index + 2 < len(tokens) and tokens[index + 2] == "}" \
                    and tokens[index + 1] not in ("{", "}"):  # fmt: skip
                out.append(tokens[index + 1])
                index, changed = index + 3, True
            else:
                out.append(tokens[index])
                index += 1
        tokens = out
    return tokens


def window_edit_distance(pattern: list[str], text: list[str]) -> int:
    """Levenshtein distance of ``pattern`` to its best-matching stretch of ``text`` (free start and end in ``text``)."""
    previous = [0] * (len(text) + 1)
    for row, wanted in enumerate(pattern, start=1):
        current = [row] + [0] * len(text)
        for column, found in enumerate(text, start=1):
            current[column] = min(
                previous[column - 1] + (wanted != found), previous[column] + 1, current[column - 1] + 1
            )
        previous = current
    return min(previous)


def check_math(
    content: str, latex: str, *, ignore_dollar_delimited: bool = False, max_edit_ratio: float = DEFAULT_MAX_EDIT_RATIO
) -> tuple[bool, str]:
    """APPROXIMATE olmOCR math test: whether some formula of ``content`` matches ``latex``; and why not."""
    formulas = extract_formulas(content, ignore_dollar_delimited=ignore_dollar_delimited)
    if any(formula == latex for formula in formulas):
        return True, ""
    if not formulas:
        return False, "no formulas ($..$, $$..$$, \\(..\\), \\[..\\]) in the output"
    wanted = latex_tokens(latex)
    if not wanted:
        return False, f"ground truth {latex[:40]!r} has no tokens after normalisation"
    allowed = int(max_edit_ratio * len(wanted))
    best, closest = len(wanted) + 1, ""  # any formula is at most len(wanted) edits away
    for formula in formulas:
        distance = window_edit_distance(wanted, latex_tokens(formula))
        if distance <= allowed:
            return True, ""
        if distance < best:
            best, closest = distance, formula
    return False, (f"approximate check: closest of {len(formulas)} formulas {closest[:40]!r} is {best} token edits "
                   f"from {latex[:40]!r}, {allowed} allowed")  # fmt: skip


APPROXIMATE_METHOD_LABEL = "approx."


@dataclass
class ApproximateMathChecker:
    """:func:`check_math` as a math checker (the fallback when KaTeX is not installed); ``method`` labels reports."""

    max_edit_ratio: float = DEFAULT_MAX_EDIT_RATIO
    method: str = APPROXIMATE_METHOD_LABEL

    def prepare(self, pairs: Iterable[tuple[str, str, bool]]) -> None:
        """Nothing to prepare (the KaTeX checker renders its formulas here)."""

    def check(self, content: str, latex: str, *, ignore_dollar_delimited: bool = False) -> tuple[bool, str]:
        return check_math(content, latex, ignore_dollar_delimited=ignore_dollar_delimited,
                          max_edit_ratio=self.max_edit_ratio)  # fmt: skip
