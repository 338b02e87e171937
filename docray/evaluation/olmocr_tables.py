"""olmOCR-bench's ``table`` test: find a cell and check its neighbours in the output's tables (pure functions).

Facts taken from the public olmOCR-bench scorer (allenai/olmocr, ``olmocr/bench/tests.py`` ``TableTest`` and
``olmocr/bench/table_parsing.py``); the code is ours:

* Tables are read from the output as Markdown pipe tables (unless the test sets ``ignore_markdown_tables``) and as
  HTML ``<table>`` elements; the test passes if **any** table has a matching cell whose neighbours all match.
* Markdown: a table is a run of at least two consecutive lines that contain ``|``. The first line made only of
  ``-``, ``:``, spaces and pipes is the separator and is dropped (so is any other such line); cells are the
  ``|``-separated pieces, stripped, without the empty piece before a leading / after a trailing pipe. Row 0 and
  column 0 are headings. No separator line is required, rows may be ragged, spans do not exist.
* HTML: every ``<table>`` (nested ones too) with its ``<tr>`` rows (all descendants) and each row's direct
  ``<td>``/``<th>`` cells; ``<br>`` is a line break in the cell's text. ``rowspan``/``colspan`` are expanded into
  the grid (``rowspan="0"`` runs to the last row); a cell is a heading if it is a ``<th>`` or its row is in a
  ``<thead>``. Parsed with :mod:`docray.evaluation.html_tree` (stdlib) instead of BeautifulSoup, which differs only
  on malformed markup.
* Cells are laid on a grid: each cell takes the first free column of its row. Its up/down/left/right neighbours are,
  for every row (column) it spans, the first other cell met walking away from it; empty grid positions are skipped.
  ``top_heading`` (``left_heading``) walks up (left) through those relations from the cell: the heading cells met on
  the way are its headings, or, if there are none, the cells where the walk ends (the column's top cell / the row's
  first cell).
* Matching: the test's strings and the cell texts are normalised like the text tests
  (:func:`docray.evaluation.text_match.normalise`); a cell matches when rapidfuzz ``ratio`` >=
  ``max(0.5, 1 - max_diffs / len(cell))``, a neighbour the same with its own length. Every given neighbour must
  have some matching cell in its relation set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from docray.evaluation.html_tree import Element, parse_html
from docray.evaluation.text_match import normalise

Position = tuple[int, int]  # (row, column) of a cell's top-left grid position
RELATIONS = ("up", "down", "left", "right", "top_heading", "left_heading")
# rapidfuzz's ratio is 1 - indel / (len_a + len_b); a score exactly on the threshold counts as a match, as in the text
# tests (olmocr_bench.TIE_TOLERANCE).
_TIE_TOLERANCE = 1e-9
_MIN_THRESHOLD = 0.5
_SEPARATOR_CHARS = frozenset("- :")
_FORMATTING_CHARS = frozenset("- :|")


@dataclass(frozen=True)
class CellSpec:
    """One source cell before it is laid on the grid."""

    text: str
    rowspan: int = 1
    colspan: int = 1
    heading: bool = False


@dataclass(frozen=True)
class TableGrid:
    """A table as cells on a grid, with each cell's neighbours in the four directions."""

    cells: dict[Position, str]
    headings: frozenset[Position]
    neighbours: dict[str, dict[Position, frozenset[Position]]] = field(default_factory=dict)  # "up" -> pos -> set

    def related(self, position: Position, relation: str) -> frozenset[Position]:
        """The cells in ``relation`` (one of :data:`RELATIONS`) to the cell at ``position``."""
        if relation == "top_heading":
            return self._heading_walk(position, "up")
        if relation == "left_heading":
            return self._heading_walk(position, "left")
        return self.neighbours[relation].get(position, frozenset())

    def _heading_walk(self, start: Position, direction: str) -> frozenset[Position]:
        step = self.neighbours[direction]
        headings, ends, seen, todo = set(), set(), set(), [start]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in self.headings:
                headings.add(current)
            if step.get(current):
                todo.extend(step[current])
            else:
                ends.add(current)
        headings.discard(start)
        ends.discard(start)
        return frozenset(headings or ends)


def build_grid(rows: list[list[CellSpec]]) -> TableGrid | None:
    """Lay rows of cells on a grid (spans expanded) and link neighbours; ``None`` for a table without cells."""
    owner: dict[Position, Position] = {}  # grid position -> the position of the cell covering it
    extent: dict[Position, tuple[int, int]] = {}  # cell position -> (rowspan, colspan)
    cells: dict[Position, str] = {}
    headings: set[Position] = set()
    for row, specs in enumerate(rows):
        column = 0
        for spec in specs:
            while (row, column) in owner:
                column += 1
            anchor = (row, column)
            cells[anchor] = spec.text
            extent[anchor] = (max(1, spec.rowspan), max(1, spec.colspan))
            if spec.heading:
                headings.add(anchor)
            for r in range(row, row + extent[anchor][0]):
                for c in range(column, column + extent[anchor][1]):
                    owner.setdefault((r, c), anchor)
            column += extent[anchor][1]
    if not cells:
        return None
    height = 1 + max(r for r, _ in owner)
    width = 1 + max(c for _, c in owner)
    neighbours: dict[str, dict[Position, frozenset[Position]]] = {}
    walks = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
    for name, (dr, dc) in walks.items():
        links: dict[Position, frozenset[Position]] = {}
        for anchor, (rowspan, colspan) in extent.items():
            row, column = anchor
            if dr:  # walk from every column the cell spans
                starts = [(row - 1 if dr < 0 else row + rowspan, c) for c in range(column, column + colspan)]
            else:  # walk from every row the cell spans
                starts = [(r, column - 1 if dc < 0 else column + colspan) for r in range(row, row + rowspan)]
            found = set()
            for r, c in starts:
                while 0 <= r < height and 0 <= c < width:
                    other = owner.get((r, c))
                    if other is not None and other != anchor:
                        found.add(other)
                        break
                    r, c = r + dr, c + dc
            links[anchor] = frozenset(found)
        neighbours[name] = links
    return TableGrid(cells, frozenset(headings), neighbours)


def parse_markdown_tables(text: str) -> list[TableGrid]:
    """Every pipe table of ``text`` (see the module docstring for what counts as one)."""
    tables, block = [], []
    for line in [*text.strip().split("\n"), ""]:  # the empty line closes a table at the end
        if "|" in line:
            block.append(line)
            continue
        if len(block) >= 2:
            grid = build_grid(_markdown_rows(block))
            if grid is not None:
                tables.append(grid)
        block = []
    return tables


def _markdown_rows(lines: list[str]) -> list[list[CellSpec]]:
    separator = next((i for i, line in enumerate(lines) if _is_separator(line)), None)
    rows: list[list[str]] = []
    for index, line in enumerate(lines):
        if index == separator or (line.strip() and set(line) <= _FORMATTING_CHARS):
            continue
        cells = [cell.strip() for cell in line.split("|")]
        if cells and cells[0] == "":
            cells = cells[1:]
        if cells and cells[-1] == "":
            cells = cells[:-1]
        if cells:
            rows.append(cells)
    return [[CellSpec(cell, heading=r == 0 or c == 0) for c, cell in enumerate(row)] for r, row in enumerate(rows)]


def _is_separator(line: str) -> bool:
    content = line.replace("|", "").strip()
    return bool(content) and set(content) <= _SEPARATOR_CHARS


def parse_html_tables(text: str) -> list[TableGrid]:
    """Every ``<table>`` of ``text``, nested ones included, in document order."""
    tables = []
    for table, _ in _walk(parse_html(text), ()):
        if table.tag != "table":
            continue
        rows = [(row, "thead" in ancestors) for row, ancestors in _walk(table, ()) if row.tag == "tr"]
        specs = [
            [_html_cell(cell, in_thead, len(rows) - index) for cell in row.children if cell.tag in ("td", "th")]
            for index, (row, in_thead) in enumerate(rows)
        ]
        grid = build_grid(specs)
        if grid is not None:
            tables.append(grid)
    return tables


def _walk(element: Element, ancestors: tuple[str, ...]) -> Iterator[tuple[Element, tuple[str, ...]]]:
    """Every element under ``element`` (itself excluded) with the tags of its ancestors, in document order."""
    for child in element.children:
        yield child, ancestors
        yield from _walk(child, (*ancestors, child.tag))


def _html_cell(cell: Element, in_thead: bool, rows_left: int) -> CellSpec:
    raw_rowspan = cell.attrs.get("rowspan", "").strip()
    rowspan = rows_left if raw_rowspan == "0" else _span(raw_rowspan)
    return CellSpec(_text(cell).strip(), rowspan, _span(cell.attrs.get("colspan")), cell.tag == "th" or in_thead)


def _span(value: str | None) -> int:
    try:
        return max(1, int(str(value).strip()))
    except ValueError:
        return 1


def _text(element: Element) -> str:
    parts = ["\n" if element.tag == "br" else "", element.text]
    for child in element.children:
        parts += [_text(child), child.tail]
    return "".join(parts)


def _similar(expected: str, found: str, max_diffs: int) -> bool:
    from rapidfuzz import fuzz

    threshold = max(_MIN_THRESHOLD, 1.0 - max_diffs / max(1, len(expected)))
    return fuzz.ratio(expected, normalise(found)) / 100.0 >= threshold - _TIE_TOLERANCE


def check_table_cell(
    content: str, cell: str, *, max_diffs: int = 0, ignore_markdown_tables: bool = False, **relations: str
) -> tuple[bool, str]:
    """Whether some table of ``content`` has a cell like ``cell`` whose ``relations`` all hold; and why not.

    ``relations`` maps names of :data:`RELATIONS` to the expected text; empty strings are not checked.
    """
    unknown = set(relations) - set(RELATIONS)
    if unknown:
        raise ValueError(f"unknown table relations {sorted(unknown)}")
    wanted = {name: normalise(text) for name, text in relations.items() if text}
    cell = normalise(cell)
    tables = [] if ignore_markdown_tables else parse_markdown_tables(content)
    tables += parse_html_tables(content)
    if not tables:
        return False, "no tables found in the output"
    misses: list[str] = []
    for table in tables:
        for position, text in table.cells.items():
            if not _similar(cell, text, max_diffs):
                continue
            failed = [
                name
                for name, expected in wanted.items()
                if not any(_similar(expected, table.cells[p], max_diffs) for p in table.related(position, name))
            ]
            if not failed:
                return True, ""
            misses.append(f"{'/'.join(failed)} of the cell at {position}")
    if not misses:
        return False, f"no cell matching {cell[:40]!r} in {len(tables)} table(s)"
    return False, f"cells match {cell[:40]!r} but not their neighbours: {'; '.join(misses[:5])}"
