"""String normalisation in the way OmniDocBench's end-to-end evaluation compares text and formulas.

Facts from the public OmniDocBench code (opendatalab/OmniDocBench, ``utils/data_preprocess.py``, at the commit that
produced the published demo results, 24e6428, 2025-04); the code is ours:

* text blocks (:func:`normalise_text`): inline formulas (``$...$`` or ``\\(...\\)``) whose body uses ``\\``, ``^``
  or ``_`` (after dropping the escapes ``\\\\ \\_ \\& \\% \\^``) are rendered to Unicode text (OmniDocBench uses
  pylatexenc's ``LatexNodes2Text``; :func:`latex_to_unicode` is our approximation, see below), then the literal
  ``\\t``/``\\n``/``/t``/``/n`` escapes and tabs/newlines are removed and only word characters (``\\w``: letters of
  any script, digits, underscore) and CJK ideographs are kept. Case is kept.
* display formulas (:func:`normalise_formula`): the body of ``\\[...\\]`` is taken, ``\\tag{}``, ``\\hspace{}``,
  ``\\begin{..}``/``\\end{..}`` and ``\\arraycolsep...}`` are removed, dots stripped from both ends, a list of
  font/spacing macros and all spaces deleted, then the string is lower-cased. (OmniDocBench v1.5 also strips
  ``$`` delimiters and deletes ``\\left``, ``\\right``, ``\\displaystyle``; the published demo results predate it,
  so this function does not.)

``latex_to_unicode`` is approximate: Greek letters and a few letter-like symbols become their Unicode characters,
``\\mathbf{A}`` the mathematical bold letters, function names (``\\sin``, ``\\log``...) their names,
``\\frac{a}{b}`` becomes ``a/b``, ``\\begin{..}``/``\\end{..}`` (with an array's column spec) vanish; other macros
are dropped while their braced arguments are kept. After :func:`normalise_text` keeps only word characters, what differs from
pylatexenc is rare (mostly symbols that pylatexenc spells with letters).
"""

from __future__ import annotations

import re

_INLINE_MATH = re.compile(r"\$(.*?)\$|\\\((.*?)\\\)")
_ESCAPED = re.compile(r"\\([\\_&%^])")
_NON_WORD = re.compile(r"[^\w\u4e00-\u9fff]")
# fmt: off
_GREEK = {
    name: chr(code)
    for name, code in [
        ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3F5),
        ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("vartheta", 0x3D1),
        ("iota", 0x3B9), ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE),
        ("pi", 0x3C0), ("varpi", 0x3D6), ("rho", 0x3C1), ("varrho", 0x3F1), ("sigma", 0x3C3),
        ("varsigma", 0x3C2), ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3D5), ("varphi", 0x3C6),
        ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9), ("Gamma", 0x393), ("Delta", 0x394),
        ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E), ("Pi", 0x3A0), ("Sigma", 0x3A3),
        ("Upsilon", 0x3A5), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9), ("ell", 0x2113),
        ("hbar", 0x210F), ("aleph", 0x2135), ("imath", 0x131), ("jmath", 0x237),
    ]
}
_FUNCTION_NAMES = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "coth",
    "log", "ln", "lg", "exp", "lim", "liminf", "limsup", "max", "min", "sup", "inf", "det", "dim", "ker",
    "deg", "gcd", "arg", "Pr", "hom",
}
# fmt: on
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_ENVIRONMENT = re.compile(r"\\begin\{(?:array|tabular)\}\s*\{[^{}]*\}|\\(?:begin|end)\{[^{}]*\}")
_MATHBF = re.compile(r"\\mathbf\s*\{([A-Za-z0-9]+)\}")
_MACRO = re.compile(r"\\([A-Za-z]+)\*?|\\(.)")
# fmt: off
_FORMULA_FILTERS = (
    "\\mathbf", "\\mathrm", "\\mathnormal", "\\mathit", "\\mathbb", "\\mathcal", "\\mathscr", "\\mathfrak",
    "\\mathsf", "\\mathtt", "\\textbf", "\\text", "\\boldmath", "\\boldsymbol", "\\operatorname", "\\bm",
    "\\symbfit", "\\mathbfcal", "\\symbf", "\\scriptscriptstyle", "\\notag", "\\setlength", "\\coloneqq",
    "\\space", "\\thickspace", "\\thinspace", "\\medspace", "\\nobreakspace", "\\negmedspace", "\\quad",
    "\\qquad", "\\enspace", "\\substackw", " ",
)
# fmt: on
_DISPLAY_BODY = re.compile(r"\\\[(.+?)(?<!\\)\\\]")
_FORMULA_REMOVALS = (
    re.compile(r"\\tag\{.*?\}"),
    re.compile(r"\\hspace\{.*?\}"),
    re.compile(r"\\begin\{.*?\}"),
    re.compile(r"\\end\{.*?\}"),
    re.compile(r"\\arraycolsep.*?\}"),
)


def keep_word_characters(text: str) -> str:
    """Drop ``\\t``/``\\n`` escapes, tabs and newlines, then every character that is not ``\\w`` or CJK."""
    for escape in ("\\t", "\\n", "\t", "\n", "/t", "/n"):
        text = text.replace(escape, "")
    return _NON_WORD.sub("", text)


def latex_to_unicode(latex: str) -> str:
    """Approximate plain-text rendering of a LaTeX math fragment (see the module docstring)."""
    latex = _ENVIRONMENT.sub("", latex)
    latex = _MATHBF.sub(lambda match: "".join(_bold(char) for char in match.group(1)), latex)
    previous = None
    while previous != latex:  # innermost fractions first
        previous, latex = latex, _FRAC.sub(r"\1/\2", latex)

    def render(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(2) if match.group(2) in "{}$%&#_ " else ""
        if name in _GREEK:
            return _GREEK[name]
        if name in _FUNCTION_NAMES:
            return name
        return ""

    text = _MACRO.sub(render, latex)
    return text.replace("{", "").replace("}", "")


def _bold(char: str) -> str:
    """The Unicode mathematical bold form of an ASCII letter or digit (pylatexenc renders ``\\mathbf`` so)."""
    if char.isdigit():
        return chr(0x1D7CE + int(char))
    if char.isupper():
        return chr(0x1D400 + ord(char) - ord("A"))
    return chr(0x1D41A + ord(char) - ord("a"))


def render_inline_math(text: str) -> str:
    """Replace each inline formula that uses ``\\``, ``^`` or ``_`` by its Unicode rendering; others stay as is."""
    pieces: list[str] = []
    last = 0
    for match in _INLINE_MATH.finditer(text):
        body = match.group(1) if match.group(1) is not None else match.group(2)
        cleaned = _ESCAPED.sub("", body)
        if not any(char in cleaned for char in "\\^_"):
            continue
        pieces.append(text[last : match.start()])
        pieces.append(latex_to_unicode(cleaned).strip())
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def normalise_text(text: str) -> str:
    """The form in which OmniDocBench compares text blocks: inline math rendered, then word characters only."""
    return keep_word_characters(render_inline_math(text))


def normalise_formula(latex: str) -> str:
    """The form in which OmniDocBench (demo-results version) compares display formulas."""
    match = _DISPLAY_BODY.search(latex)
    if match:
        latex = match.group(1).strip()
    for pattern in _FORMULA_REMOVALS:
        latex = pattern.sub("", latex)
    latex = latex.strip(".")
    for token in _FORMULA_FILTERS:
        latex = latex.replace(token, "")
    return latex.lower()
