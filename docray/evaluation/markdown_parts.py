"""Split one page's predicted Markdown into the pieces OmniDocBench matches: text, formulas and tables.

Facts from OmniDocBench's ``md_tex_filter`` (``utils/extract.py``, commit 24e6428 that produced the published demo
results); the code is ours. In order:

1. images ``![..](..)`` are removed, Markdown code fences (```` ```markdown ````, ```` ```html ````, ```` ```latex ````
   openers and ```` ``` ```` closers at line ends) are stripped, runs of more than 4 underscores or spaces become 4,
   any other non-alphanumeric character repeated more than 10 times becomes 4 copies, ``<html>``/``<body>`` tags go;
2. LaTeX tables (``\\begin{table}..\\end{table}``, outermost ``tabular``) and HTML tables (outermost ``<table>``,
   nesting respected) are cut out (replaced by spaces, so offsets stay valid);
3. formulas: ``$$..$$`` and ``\\[..\\]`` are display formulas (cut out); ``$..$`` and ``\\(..\\)`` are *also* offered
   as formula candidates (kind ``FORMULA``, ``inline=True``) but stay in the text. Formula contents lose all
   whitespace and are rewritten as ``\\[..\\]``;
4. Markdown pipe tables (two or more ``|..|`` lines) become HTML tables. OmniDocBench converts every ``|..|`` line
   to a one-row table and merges adjacent ones line by line; here each run of consecutive ``|..|`` lines is one table,
   its first row, like the rest, a row of ``<td>`` cells, separator rows (``|---|:-:|``) skipped;
5. fenced code blocks with a language tag are text;
6. ``\\title{..}``, ``\\text{..}``, ``\\section{..}`` wrappers are unwrapped, and the rest is split into paragraphs at
   blank lines (at single newlines when there is no blank line). A paragraph that is a whole HTML table is a table,
   one wrapped in ``$`` is a formula, anything else is text (its lines stripped, empty lines dropped).

Pieces are returned in order of their offset in the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import Enum


class PartKind(str, Enum):
    TEXT = "text"
    FORMULA = "formula"
    HTML_TABLE = "html_table"
    LATEX_TABLE = "latex_table"


@dataclass(frozen=True)
class MarkdownPart:
    kind: PartKind
    content: str
    start: int  # offset in the cleaned page text; orders the parts
    inline: bool = False  # a $..$ / \(..\) formula that also stays inside its text paragraph
    source: str = ""  # "md_table" for converted pipe tables, "code" for code blocks


_IMAGE = re.compile(r"!\[.*?\]\(.*?\)")
_FENCE_OPEN = re.compile(r"^```(?:markdown|html|latex)\n?", re.MULTILINE)
_FENCE_CLOSE = re.compile(r"```\n?$", re.MULTILINE)
_LATEX_TABLE = re.compile(r"\\begin{table}(.*?)\\end{table}", re.DOTALL)
_TABULAR_TAG = re.compile(r"\\begin{tabular}|\\end{tabular}")
_HTML_TABLE_TAG = re.compile(r"<table(?:[^>]*)>|</table>")
_FORMULA = re.compile(r"\$\$(.*?)\$\$|\\\[(.*?)\\\]|\$(.*?)\$|\\\((.*?)\\\)", re.DOTALL)
_PIPE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_CODE_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
_UNWRAP = (
    (re.compile(r"\\title\{(.*?)\}"), r"\1"),
    (re.compile(r"\\title\s*\{\s*(.*?)\s*\}", re.DOTALL), r"\1"),
    (re.compile(r"\\text\s*\{\s*(.*?)\s*\}", re.DOTALL), r"\1"),
    (re.compile(r"\\section\*?\{(.*?)\}"), r"\1"),
    (re.compile(r"\\section\*?\{\s*(.*?)\s*\}", re.DOTALL), r"\1"),
)


def clean_markdown(markdown: str) -> str:
    """Step 1 of the module docstring: images, fences, long character runs, ``<html>``/``<body>`` tags."""
    text = _IMAGE.sub("", markdown)
    text = _FENCE_OPEN.sub("", text)
    text = _FENCE_CLOSE.sub("", text)
    text = re.sub(r"_{4,}", "____", text)
    text = re.sub(r" {4,}", "    ", text)
    text = re.sub(r"([^a-zA-Z0-9])\1{10,}", r"\1\1\1\1", text)
    for tag in ("<html>", "</html>", "<body>", "</body>"):
        text = text.replace(tag, "")
    return text


def outermost_spans(text: str, tags: re.Pattern[str], closer: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost opener..closer region; an unclosed opener is skipped."""
    spans: list[tuple[int, int]] = []
    depth_starts: list[int] = []
    for match in tags.finditer(text):
        if match.group(0) != closer:
            depth_starts.append(match.start())
        elif depth_starts:
            start = depth_starts.pop()
            if not depth_starts:
                spans.append((start, match.end()))
    return spans


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def pipe_table_to_html(lines: list[str]) -> str:
    """HTML for a Markdown pipe table: one ``<tr>`` per row, separator rows skipped; cells are written
    ``<td colspan="1" rowspan="1">`` as OmniDocBench writes them (this counts in the table edit distance)."""
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(_SEPARATOR_CELL.match(cell) for cell in cells if cell) and any(cells):
            continue
        cells_html = "".join(f'<td colspan="1" rowspan="1">{html.escape(cell, quote=False)}</td>' for cell in cells)
        rows.append("<tr>" + cells_html + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _pipe_tables(text: str) -> list[tuple[int, int, str]]:
    """(start, end, html) of each run of two or more consecutive ``|..|`` lines."""
    found = []
    offset = 0
    run: list[tuple[int, str]] = []
    for line in text.split("\n") + [""]:
        if _PIPE_ROW.match(line):
            run.append((offset, line))
        else:
            if len(run) >= 2:
                start = run[0][0]
                end = run[-1][0] + len(run[-1][1])
                found.append((start, end, pipe_table_to_html([row for _, row in run])))
            run = []
        offset += len(line) + 1
    return found


def split_markdown(markdown: str) -> list[MarkdownPart]:
    """The text, formula and table pieces of one page's Markdown, in page order (see the module docstring)."""
    text = clean_markdown(markdown)
    parts: list[MarkdownPart] = []

    latex_spans = [m.span() for m in _LATEX_TABLE.finditer(text)]
    for start, end in latex_spans:
        text = _blank(text, start, end)
    latex_spans += outermost_spans(text, _TABULAR_TAG, "\\end{tabular}")
    for start, end in sorted(latex_spans):
        parts.append(MarkdownPart(PartKind.LATEX_TABLE, text[start:end], start))
        text = _blank(text, start, end)

    for start, end in outermost_spans(text, _HTML_TABLE_TAG, "</table>"):
        parts.append(MarkdownPart(PartKind.HTML_TABLE, text[start:end], start))
        text = _blank(text, start, end)

    for match in list(_FORMULA.finditer(text)):
        dollar_display, bracket_display, dollar_inline, paren_inline = match.groups()
        inline = dollar_display is None and bracket_display is None
        body = next(group for group in match.groups() if group is not None)
        if not body.strip():
            continue
        parts.append(MarkdownPart(PartKind.FORMULA, "\\[" + "".join(body.split()) + "\\]", match.start(), inline))
        if not inline:
            text = _blank(text, *match.span())

    for start, end, table_html in _pipe_tables(text):
        parts.append(MarkdownPart(PartKind.HTML_TABLE, table_html, start, source="md_table"))
        text = _blank(text, start, end)

    for match in list(_CODE_BLOCK.finditer(text)):
        parts.append(MarkdownPart(PartKind.TEXT, match.group(2).strip(), match.start(), source="code"))
        text = _blank(text, *match.span())

    for pattern, replacement in _UNWRAP:
        text = pattern.sub(replacement, text)
    parts.extend(_paragraphs(text))
    return sorted(parts, key=lambda part: part.start)


def _paragraphs(text: str) -> list[MarkdownPart]:
    separator = "\n\n" if "\n\n" in text else "\n"
    parts = []
    offset = 0
    for raw in text.split(separator):
        start = offset
        offset += len(raw) + len(separator)
        lines = [line.strip() for line in raw.strip().split("\n") if line.strip()]
        paragraph = "\n".join(lines)
        if not paragraph:
            continue
        if paragraph.startswith("<table") and paragraph.endswith("</table>"):
            parts.append(MarkdownPart(PartKind.HTML_TABLE, paragraph, start))
        elif paragraph.startswith("$") and paragraph.endswith("$"):
            if paragraph.replace("$", "").strip():
                parts.append(MarkdownPart(PartKind.FORMULA, paragraph, start))
        else:
            parts.append(MarkdownPart(PartKind.TEXT, paragraph, start))
    return parts


_TABULAR_BODY = re.compile(
    r"\\begin\{tabular\}\s*(?:\[[^\]]*\])?\s*\{(?:[^{}]|\{[^{}]*\})*\}(.*?)\\end\{tabular\}", re.DOTALL
)
_MULTICOLUMN = re.compile(r"^\\multicolumn\{(\d+)\}\{[^}]*\}\{(.*)\}$", re.DOTALL)
_MULTIROW = re.compile(r"^\\multirow\{(\d+)\}\{[^}]*\}\{(.*)\}$", re.DOTALL)
_RULES = re.compile(r"\\(?:hline|toprule|midrule|bottomrule|cline\{[^}]*\}|cmidrule(?:\([^)]*\))?\{[^}]*\})")


def latex_tabular_to_html(latex: str) -> str:
    """A rough HTML rendering of the first ``tabular`` (rows at ``\\\\``, cells at ``&``, ``\\multicolumn`` and
    ``\\multirow`` as spans). OmniDocBench converts LaTeX tables with LaTeXML; this approximation is ours."""
    match = _TABULAR_BODY.search(latex)
    if not match:
        return ""
    rows = []
    for raw_row in re.split(r"\\\\", _RULES.sub("", match.group(1))):
        if not raw_row.strip():
            continue
        cells = []
        for raw_cell in raw_row.split("&"):
            cell, attributes = raw_cell.strip(), ""
            for pattern, name in ((_MULTICOLUMN, "colspan"), (_MULTIROW, "rowspan")):
                spanned = pattern.match(cell)
                if spanned:
                    attributes += f' {name}="{spanned.group(1)}"'
                    cell = spanned.group(2).strip()
            cells.append(f"<td{attributes}>{html.escape(cell, quote=False)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"
