"""One-shot page answers: olmOCR's front matter, and a page's Markdown split into typed blocks.

olmOCR (v0.3+) answers a page with YAML front matter (``primary_language``, ``is_rotation_valid``,
``rotation_correction``, ``is_table``, ``is_diagram``) between ``---`` lines, then the page's text as
Markdown with ``\\( \\)`` / ``\\[ \\]`` math, HTML tables and ``![alt](...)`` figure labels.
:func:`markdown_blocks` turns any such Markdown page into :class:`VlmBlock` s without boxes.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from docray.operators.vlmparse.blocks import VlmBlock
from docray.operators.vlmparse.otsl import escape_cell, extract_html_table
from docray.schema import BlockType

FRONT_MATTER_KEYS = ("primary_language", "is_rotation_valid", "rotation_correction", "is_table", "is_diagram")
_BOOL_KEYS = frozenset({"is_rotation_valid", "is_table", "is_diagram"})
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NULL = frozenset({"", "null", "~", "none"})
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")

# inline math: \( .. \), \[ .. \] and $$ .. $$ inside running text all become $ .. $
_CITATION = re.compile(r"[\s,\-–]*\d[\d\s,\-–]*")  # \[12, 14-16\] is an escaped citation bracket, not math
_CITATION_START = re.compile(r"\\\[[\s,\-–]*\d[\d\s,\-–]*\\\]")  # a reference line "\[3\] A. Author ..."

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_ATX_CLOSE = re.compile(r"(?:^|[ \t]+)#+$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_INDENTED = re.compile(r"^(?: {2,}|\t)\S")
_IMAGE_LINE = re.compile(r"^\s*!\[([^\]]*)\]\(([^)]*)\)\s*$")
_PIPE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_PIPE_SPLIT = re.compile(r"(?<!\\)\|")


# ---------------------------------------------------------------- olmOCR front matter


def parse_olmocr(answer: str) -> tuple[dict[str, Any], str]:
    """olmOCR's answer as ``(front_matter, text)``.

    The front matter is the block between a first line ``---`` and the next ``---`` line, read as
    ``key: value`` lines (not full YAML: ``primary_language: no`` stays the string ``"no"``).  Known keys
    are typed (booleans, ``rotation_correction`` as 0/90/180/270, ``primary_language`` None for
    null); unknown keys keep their string; only keys present are returned.  Tolerant: no front matter
    gives ``({}, answer)``, a missing closing ``---`` ends the front matter at the first line that is
    not ``key: value``, and a JSON answer (olmOCR v0.1/v0.2 models) is read from its ``natural_text``.

    When ``is_rotation_valid`` is false, olmOCR's pipeline asks again with the page image turned by PIL's
    ``Transpose.ROTATE_<rotation_correction>`` (counter-clockwise), summing corrections over retries.
    """
    text = answer.lstrip("\ufeff").strip()
    if text.startswith("{"):
        from_json = _olmocr_json(text)
        if from_json is not None:
            return from_json
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, _null_text(text)
    raw: dict[str, str] = {}
    body_start = len(lines)
    for index in range(1, len(lines)):
        line = lines[index]
        if line.strip() == "---":
            body_start = index + 1
            break
        match = _KEY_VALUE.match(line)
        if match is None:
            if line.strip():  # no closing line: the front matter ends where key: value lines end
                body_start = index
                break
            continue
        raw[match.group(1)] = _unquote(match.group(2))
    front = {key: _typed(key, value) for key, value in raw.items()}
    return front, _null_text("\n".join(lines[body_start:]).strip())


def _olmocr_json(text: str) -> tuple[dict[str, Any], str] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "natural_text" not in data:
        return None
    front = {key: _typed(key, data[key]) for key in FRONT_MATTER_KEYS if key in data}
    natural = data.get("natural_text")
    return front, natural.strip() if isinstance(natural, str) else ""


def _null_text(text: str) -> str:
    return "" if text == "null" else text


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _typed(key: str, value: Any) -> Any:
    """A front-matter value as its key's type (strings from the YAML-ish lines, or JSON values)."""
    if key in _BOOL_KEYS:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        return True if word in _TRUE else False if word in _FALSE else value
    if key == "rotation_correction":
        try:
            degrees = int(float(str(value).strip())) % 360
        except ValueError:
            return 0
        return degrees if degrees in (0, 90, 180, 270) else 0
    if key == "primary_language":
        if value is None or isinstance(value, bool):
            return None
        word = str(value).strip()
        return None if word.lower() in _NULL else word
    return value


# ---------------------------------------------------------------- inline math


def inline_math(text: str) -> str:
    """Running text with its math as ``$...$``: ``\\(..\\)``, ``\\[..\\]`` and ``$$..$$`` inside text.

    ``\\[12\\]`` / ``\\[3, 5-7\\]`` (digits, commas, dashes) are Markdown-escaped citation brackets and
    become ``[12]``; empty formulas are dropped.  ``$...$`` already in the text is kept.
    """

    def bracket(inner: str) -> str:
        if is_citation(inner):
            return f"[{inner.strip()}]"
        return _dollar(inner)

    text = replace_delimited(text, "$$", "$$", _dollar)
    text = replace_delimited(text, "\\[", "\\]", bracket)
    return replace_delimited(text, "\\(", "\\)", _dollar)


def replace_delimited(text: str, opening: str, closing: str, replace: Callable[[str], str]) -> str:
    """``text`` with each ``opening inner closing`` (the nearest closing) replaced by ``replace(inner)``.

    Linear in the text's length, also when delimiters are left open (a regex would rescan the rest of the
    text from every unclosed opening).
    """
    out: list[str] = []
    position = 0
    while True:
        start = text.find(opening, position)
        if start < 0:
            break
        end = text.find(closing, start + len(opening))
        if end < 0:
            break
        out.append(text[position:start])
        out.append(replace(text[start + len(opening) : end]))
        position = end + len(closing)
    out.append(text[position:])
    return "".join(out)


def is_citation(inner: str) -> bool:
    """Whether the inside of ``\\[..\\]`` is a citation (digits, commas, dashes), not a formula."""
    return _CITATION.fullmatch(inner) is not None


def _dollar(inner: str) -> str:
    inner = inner.strip()
    return f"${inner}$" if inner else ""


def strip_math_delimiters(latex: str) -> str:
    """A display formula without its outer ``$$``/``\\[ \\]``/``\\( \\)``/``$`` delimiters."""
    latex = latex.strip()
    for opening, closing in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if latex.startswith(opening) and latex.endswith(closing) and len(latex) >= len(opening) + len(closing):
            return latex[len(opening) : len(latex) - len(closing)].strip()
    return latex


# ---------------------------------------------------------------- pipe tables


def _pipe_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _PIPE_SPLIT.split(line)]


def is_pipe_table(lines: list[str]) -> bool:
    """Whether ``lines`` start with a GitHub pipe-table header row and its ``---`` delimiter row."""
    return len(lines) >= 2 and "|" in lines[0] and "|" in lines[1] and bool(_PIPE_DELIMITER.match(lines[1]))


def pipe_table_to_html(lines: list[str]) -> str:
    """A GitHub pipe table (header, delimiter, body rows) as an HTML table of ``<td>`` cells.

    The header row is the table's first row (``<td>`` like the rest, as in MinerU's HTML); short rows
    are padded with empty cells; cell text is HTML-escaped (simple inline tags kept).
    """
    rows = [_pipe_cells(line) for index, line in enumerate(lines) if index != 1 and line.strip()]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape_cell(cell)}</td>" for cell in row + [""] * (width - len(row))) + "</tr>"
        for row in rows
    )
    return f"<table>{body}</table>"


# ---------------------------------------------------------------- Markdown page to blocks


def markdown_blocks(markdown: str) -> list[VlmBlock]:
    """A page's Markdown as typed blocks without boxes, in reading order.

    ATX (``#``) and setext headings -> ``title`` with its level; display math (``$$..$$``, ``\\[..\\]``
    starting a line) -> ``interline_equation`` (``latex``, no delimiters); HTML ``<table>`` and pipe
    tables -> ``table`` (``html``); fenced code -> ``code`` (text without fences); runs of list items
    -> ``list`` (text keeps the Markdown); a line that is only ``![alt](src)`` -> ``image`` (text = alt);
    other paragraphs -> ``text`` with inline math as ``$..$``.  Horizontal rules are dropped.
    """
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[VlmBlock] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            text = inline_math("\n".join(paragraph)).strip()
            if text:
                blocks.append(VlmBlock(type=BlockType.TEXT, text=text))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
            continue
        if paragraph and _SETEXT.match(line):
            level = 1 if stripped.startswith("=") else 2
            title = inline_math(" ".join(paragraph)).strip()
            paragraph.clear()
            blocks.append(VlmBlock(type=BlockType.TITLE, text=title, level=level))
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            flush()
            i = _code_block(lines, i, fence.group(1), blocks)
            continue
        heading = _ATX.match(line)
        if heading:
            flush()
            title = _ATX_CLOSE.sub("", heading.group(2) or "").strip()
            blocks.append(VlmBlock(type=BlockType.TITLE, text=inline_math(title).strip(), level=len(heading.group(1))))
            i += 1
            continue
        if (stripped.startswith("$$") or stripped.startswith("\\[")) and not _CITATION_START.match(stripped):
            flush()
            i = _display_math(lines, i, blocks)
            continue
        if stripped.lower().startswith("<table"):
            flush()
            i = _html_table(lines, i, blocks)
            continue
        if is_pipe_table(lines[i : i + 2]):
            flush()
            end = i + 2
            while end < len(lines) and lines[end].strip() and "|" in lines[end]:
                end += 1
            blocks.append(VlmBlock(type=BlockType.TABLE, html=pipe_table_to_html(lines[i:end])))
            i = end
            continue
        if _RULE.match(line):
            flush()
            i += 1
            continue
        if _LIST_ITEM.match(line):
            flush()
            i = _list_run(lines, i, blocks)
            continue
        image = _IMAGE_LINE.match(line)
        if image:
            flush()
            blocks.append(VlmBlock(type=BlockType.IMAGE, text=image.group(1).strip()))
            i += 1
            continue
        paragraph.append(stripped)
        i += 1
    flush()
    return blocks


def _code_block(lines: list[str], start: int, fence: str, blocks: list[VlmBlock]) -> int:
    """Adds the fenced code block opening at ``start``; returns the index after its closing fence."""
    closing = re.compile(r"^\s{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    end = start + 1
    while end < len(lines) and not closing.match(lines[end]):
        end += 1
    code = "\n".join(lines[start + 1 : end]).strip("\n")
    blocks.append(VlmBlock(type=BlockType.CODE, text=code))
    return end + 1


def _display_math(lines: list[str], start: int, blocks: list[VlmBlock]) -> int:
    """Adds the display formula opening at ``start``; text after its closing delimiter is put back."""
    first = lines[start].strip()
    opening, closing = ("$$", "$$") if first.startswith("$$") else ("\\[", "\\]")
    rest = "\n".join([first[len(opening) :], *lines[start + 1 :]])
    end = rest.find(closing)
    if end < 0:  # never closed: the formula runs to the next blank line
        blank = next((k for k in range(start + 1, len(lines)) if not lines[k].strip()), len(lines))
        latex = "\n".join([first[len(opening) :], *lines[start + 1 : blank]]).strip()
        if latex:
            blocks.append(VlmBlock(type=BlockType.INTERLINE_EQUATION, latex=latex))
        return blank
    latex = rest[:end].strip()
    if latex:
        blocks.append(VlmBlock(type=BlockType.INTERLINE_EQUATION, latex=latex))
    last = start + rest[:end].count("\n")  # the line holding the closing delimiter
    tail = rest[end + len(closing) :].split("\n", 1)[0]
    if tail.strip():
        lines[last] = tail
        return last
    return last + 1


def _html_table(lines: list[str], start: int, blocks: list[VlmBlock]) -> int:
    """Adds the HTML table opening at ``start`` (up to its balancing ``</table>``)."""
    depth = 0
    for end in range(start, len(lines)):
        lowered = lines[end].lower()
        depth += len(re.findall(r"<table\b", lowered)) - len(re.findall(r"</table\s*>", lowered))
        if depth <= 0:
            break
    chunk = "\n".join(lines[start : end + 1])
    closing = [m.end() for m in re.finditer(r"</table\s*>", chunk, re.IGNORECASE)]
    table = extract_html_table(chunk) or chunk.strip()
    blocks.append(VlmBlock(type=BlockType.TABLE, html=table))
    tail = chunk[closing[-1] :] if closing else ""
    if tail.strip():
        lines[end] = tail.strip()
        return end
    return end + 1


def _list_run(lines: list[str], start: int, blocks: list[VlmBlock]) -> int:
    """Adds the run of list items starting at ``start`` (continuation lines and blank gaps included)."""
    run = [lines[start].rstrip()]
    indent, kind = _item_kind(lines[start])
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            following = next((k for k in range(i + 1, len(lines)) if lines[k].strip()), None)
            if following is None or not (_LIST_ITEM.match(lines[following]) or _INDENTED.match(lines[following])):
                break
            i = following
            continue
        if _LIST_ITEM.match(line):
            item_indent, item_kind = _item_kind(line)
            if item_indent <= indent and item_kind != kind:  # bullets after numbers (or back): a new list
                break
            run.append(line.rstrip())
        elif _INDENTED.match(line):
            run.append(line.rstrip())
        elif _starts_block(line):
            break
        else:  # a lazy continuation of the item above
            run.append(line.rstrip())
        i += 1
    blocks.append(VlmBlock(type=BlockType.LIST, text=inline_math("\n".join(run))))
    return i


def _item_kind(line: str) -> tuple[int, str]:
    """A list item line's indentation and marker kind (``bullet`` or ``ordered``)."""
    stripped = line.lstrip()
    return len(line) - len(stripped), "bullet" if stripped[:1] in "-*+" else "ordered"


def _starts_block(line: str) -> bool:
    stripped = line.strip()
    return bool(
        _FENCE.match(line)
        or _ATX.match(line)
        or _RULE.match(line)
        or _IMAGE_LINE.match(line)
        or stripped.startswith(("$$", "\\[", "|"))
        or stripped.lower().startswith("<table")
    )
