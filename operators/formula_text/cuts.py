"""Signs of a formula cut short, read from its LaTeX: it starts with a relation or a binary operator that cannot be
unary, or ends with a binary operator or a relation."""

from __future__ import annotations

import re

from docray.operators.formula_text.merges import NEGATED
from docray.operators.formula_text.symbols import UNICODE

RELATIONS = frozenset(tex for tex, kind in UNICODE.values() if kind == "rel") | frozenset(NEGATED.values())
BINARY = frozenset(tex for tex, kind in UNICODE.values() if kind == "bin")
UNARY = frozenset({"-", "\\pm", "\\mp"})  # binary operators that may start a formula
_TOKEN = re.compile(r"\\[A-Za-z]+|\S")


def dangling(latex: str) -> bool:
    """True when ``latex`` starts with a relation or a binary operator that cannot be unary, or ends with a
    binary operator or a relation (a formula cut short)."""
    tokens = _TOKEN.findall(latex)
    if not tokens:
        return False
    first, last = tokens[0], tokens[-1]
    return first in RELATIONS or (first in BINARY and first not in UNARY) or last in RELATIONS or last in BINARY
