"""OTSL table tokens (as MinerU2.5 answers a table crop) to an HTML table.

OTSL writes a table as a grid, row by row: each position is one token, ``<nl>`` ends a row.
``<fcel>`` opens a cell whose text follows the token, ``<ecel>`` is an empty cell, and the merged
positions of a spanning cell say where their content is: ``<lcel>`` (same cell as the position to
the left), ``<ucel>`` (as the position above) and ``<xcel>`` (both: inside a 2-D span).  Docling's
OTSL also has ``<ched>``/``<rhed>``/``<srow>`` (column header, row header, section row); they are
read as filled cells.

The converter is total: ragged rows are padded with empty cells, merge tokens that point at nothing
become cells of their own, text written after a merge token joins its spanning cell, spans never
overlap, and an answer that already is an HTML table is returned as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL_TOKENS = ("fcel", "ecel", "lcel", "ucel", "xcel", "ched", "rhed", "srow")
_ORIGINS = frozenset({"fcel", "ecel", "ched", "rhed", "srow"})  # positions that start a cell
_LEFT = frozenset({"lcel", "xcel"})  # positions that extend the cell on their left
_UP = frozenset({"ucel", "xcel"})  # positions that extend the cell above
_TOKEN = re.compile(r"<(" + "|".join(_CELL_TOKENS) + r"|nl)>")
_NOISE = re.compile(r"</?otsl>|<loc_\d+>")  # wrappers and location tokens of docling-style OTSL
_TABLE = re.compile(r"<table\b.*</table\s*>", re.IGNORECASE | re.DOTALL)

# Inline markup left as it is inside a cell (everything else is escaped): line breaks, super/subscripts,
# emphasis, and ``<eq>`` which mineru-vl-utils can wrap around formulas in table cells.
_KEPT_TAGS = re.compile(r"</?(?:br|sup|sub|b|i|u|em|strong|eq)\s*/?>", re.IGNORECASE)
_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")


@dataclass(frozen=True, slots=True)
class _Slot:
    kind: str  # one of _CELL_TOKENS
    text: str


def has_otsl(answer: str) -> bool:
    """Whether ``answer`` contains at least one OTSL cell or row token."""
    return _TOKEN.search(answer) is not None


def extract_html_table(answer: str) -> str | None:
    """The ``<table>...</table>`` in ``answer`` (first opening to last closing tag), or None."""
    match = _TABLE.search(answer)
    return match.group(0).strip() if match else None


def escape_cell(text: str) -> str:
    """Cell text as HTML: ``<``, ``>`` and bare ``&`` escaped; simple inline tags and entities kept."""
    out: list[str] = []
    last = 0
    for match in _KEPT_TAGS.finditer(text):
        out.append(_escape_plain(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def _rows(answer: str) -> list[list[_Slot]]:
    """The answer's tokens as rows of slots; text after a cell token is that cell's text."""
    text = _NOISE.sub("", answer)
    rows: list[list[_Slot]] = [[]]
    parts = _TOKEN.split(text)  # [before, token, after, token, after, ...]
    for index in range(1, len(parts), 2):
        token, after = parts[index], parts[index + 1]
        if token == "nl":
            rows.append([])
        else:
            rows[-1].append(_Slot(token, after.strip()))
    return [row for row in rows if row]


def otsl_grid(answer: str) -> list[list[tuple[str, int, int]]]:
    """Cells of an OTSL answer as rows of ``(text, rowspan, colspan)``, in reading order.

    Rows keep their place even when every position in them is covered by a span from above (the row is
    then empty), so the row count is the OTSL row count.
    """
    rows = _rows(answer)
    if not rows:
        return []
    width = max(len(row) for row in rows)
    grid = [row + [_Slot("ecel", "")] * (width - len(row)) for row in rows]
    covered = [[False] * width for _ in grid]
    out: list[list[tuple[str, int, int]]] = []
    for r, row in enumerate(grid):
        cells: list[tuple[str, int, int]] = []
        for c, slot in enumerate(row):
            if covered[r][c]:
                continue
            if slot.kind not in _ORIGINS:  # a merge token that extends nothing: a cell of its own
                covered[r][c] = True
                cells.append((slot.text, 1, 1))
                continue
            colspan = 1
            while c + colspan < width and grid[r][c + colspan].kind in _LEFT and not covered[r][c + colspan]:
                colspan += 1
            rowspan = 1
            while r + rowspan < len(grid) and _extends_down(grid[r + rowspan], covered[r + rowspan], c, colspan):
                rowspan += 1
            texts = [slot.text]
            for rr in range(r, r + rowspan):
                for cc in range(c, c + colspan):
                    covered[rr][cc] = True
                    if (rr, cc) != (r, c):
                        texts.append(grid[rr][cc].text)  # text the model wrote after a merge token
            cells.append((" ".join(text for text in texts if text), rowspan, colspan))
        out.append(cells)
    return out


def _extends_down(row: list[_Slot], covered: list[bool], c: int, colspan: int) -> bool:
    """Whether ``row`` continues the cell spanning columns ``c..c+colspan-1`` from the row above."""
    if row[c].kind not in _UP:
        return False
    return all(row[cc].kind not in _ORIGINS and not covered[cc] for cc in range(c, c + colspan))


def otsl_to_html(answer: str) -> str:
    """An OTSL answer as ``<table><tr><td rowspan=".." colspan="..">..</td>..</tr>..</table>``.

    An answer that contains an HTML table and no OTSL token is that table (passed through); an answer
    with neither gives ``""``.  Span attributes are written only when above 1, ``rowspan`` first.
    """
    if not has_otsl(answer):
        return extract_html_table(answer) or ""
    grid = otsl_grid(answer)
    if not grid:
        return ""
    parts = ["<table>"]
    for cells in grid:
        parts.append("<tr>")
        for text, rowspan, colspan in cells:
            attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
            parts.append(f"<td{attrs}>{escape_cell(text)}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts)
