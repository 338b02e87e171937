"""How sure a reconstruction is: 1 minus penalties for what went wrong or looks unlike one formula.

Besides glyphs that could not be identified or placed and close layout calls (counted in :class:`.layout2d.Issues`
while laying out), a region that is not one whole formula shows in its layout: text words over or under it (a text
row, or a script set at the main size: glyphs of another line), a formula cut short (it or one of its fractions or
radicals starts with a relation or ends with a binary operator or relation, it ends with a big operator or an
operator name, its small delimiters do not pair up, or it starts with scripts), or mostly words (a paragraph).
A caller falls back to an image recogniser below about 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

from docray.operators.formula_text.atoms import text_width_share
from docray.operators.formula_text.boxes import Box
from docray.operators.formula_text.cuts import dangling
from docray.operators.formula_text.layout2d import Issues

PENALTY_UNKNOWN = 0.35  # per glyph that could not be identified
PENALTY_UNPLACED = 0.2  # per glyph or rule that could not be placed
PENALTY_AMBIGUOUS = 0.08  # per layout decision close to its threshold
PENALTY_UNMATCHED = 0.1  # per big delimiter without partner
PENALTY_OFFLINE = 0.55  # per script set at the main size (glyphs of a neighbouring line)
PENALTY_TEXT_ROW = 0.55  # per line of text words over or under the formula
PENALTY_DANGLING = 0.55  # per formula or part (fraction, radical...) cut short (see .cuts), or ending in an operator
PENALTY_UNBALANCED = 0.55  # per small opening or closing delimiter without partner
PENALTY_LEAD = 0.3  # scripts before any base (cut from theirs; also isotopes, {}^{14}_{6}C)
TEXT_SHARE_FREE = 0.55  # words may make up this share of a formula's width (\text{if} ... \text{otherwise})
TEXT_SHARE_SLOPE = 2.5  # penalty per unit of text share above that


def unbalanced(boxes: Sequence[Box]) -> int:
    """How many small opening delimiters lack a closing one, or the other way round."""
    return abs(sum(b.kind == "open" for b in boxes) - sum(b.kind == "close" for b in boxes))


def confidence(issues: Issues, atoms: Sequence[Box], latex: str) -> float:
    """1 minus the penalties of the issues met (see the PENALTY_* constants), clipped to 0..1."""
    lost = (PENALTY_UNKNOWN * issues.unknown + PENALTY_UNPLACED * issues.unplaced
            + PENALTY_AMBIGUOUS * issues.ambiguous + PENALTY_UNMATCHED * issues.unmatched
            + PENALTY_OFFLINE * issues.offline + PENALTY_TEXT_ROW * issues.text_rows
            + PENALTY_DANGLING * (issues.dangling + dangling(latex)) + PENALTY_UNBALANCED * unbalanced(atoms)
            + PENALTY_LEAD * issues.lead
            + TEXT_SHARE_SLOPE * max(0.0, text_width_share(atoms) - TEXT_SHARE_FREE))  # fmt: skip
    return round(max(0.0, min(1.0, 1.0 - lost)), 3)
