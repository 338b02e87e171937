"""MinerU2.5's two-stage answers: stage-1 layout lines to :class:`LayoutItem` s, stage-2 answers to blocks.

Stage 1 answers the (downsampled) page with one line per region::

    <|box_start|>x0 y0 x1 y1<|box_end|><|ref_start|>type<|ref_end|><|rotate_up|>

coordinates on a 0..1000 grid of the image the model saw, a type name of MinerU's, and a rotation
token (``up``/``right``/``down``/``left`` = the content turned 0/90/180/270 degrees clockwise).
Stage 2 answers one crop per region: text with ``\\( \\)`` inline math, OTSL table tokens, or a
LaTeX formula between ``\\[ \\]``.  Everything here is pure; the operator crops and rotates images.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from docray.operators.textlayer.regions import inside_share
from docray.operators.vlmparse.blocks import FractionBox, VlmBlock
from docray.operators.vlmparse.grounded import fraction_box
from docray.operators.vlmparse.markdown_page import (
    inline_math,
    is_citation,
    is_pipe_table,
    pipe_table_to_html,
    replace_delimited,
    strip_math_delimiters,
)
from docray.operators.vlmparse.otsl import extract_html_table, has_otsl, otsl_to_html
from docray.operators.vlmparse.prompts import BlockOutput
from docray.schema import BlockType

COORDINATE_RANGE = 1000  # MinerU2.5 writes boxes on a 0..1000 grid of its layout image

# MinerU's type names (MinerU2.5-2509 and the later names mineru-vl-utils knows) -> docray's BlockType.
# A name not in this table becomes ``text`` (its raw name stays on the LayoutItem).
TYPE_MAP: dict[str, BlockType] = {
    "text": BlockType.TEXT,
    "title": BlockType.TITLE,
    "doc_title": BlockType.TITLE,
    "paragraph_title": BlockType.TITLE,
    "list": BlockType.LIST,
    "list_item": BlockType.TEXT,  # mineru-vl-utils turns list items into text blocks
    "index": BlockType.INDEX,
    "ref_text": BlockType.REF_TEXT,
    "phonetic": BlockType.PHONETIC,
    "image": BlockType.IMAGE,
    "chart": BlockType.IMAGE,
    "image_block": BlockType.IMAGE,
    "unknown": BlockType.IMAGE,  # mineru-vl-utils reads MinerU2.5's "unknown" regions as images
    "image_caption": BlockType.IMAGE_CAPTION,
    "image_footnote": BlockType.IMAGE_FOOTNOTE,
    "caption": BlockType.IMAGE_CAPTION,  # a caption of any visual block; the raw name says so
    "footnote": BlockType.IMAGE_FOOTNOTE,  # a footnote of any visual block; the raw name says so
    "table": BlockType.TABLE,
    "table_caption": BlockType.TABLE_CAPTION,
    "table_footnote": BlockType.TABLE_FOOTNOTE,
    "equation": BlockType.INTERLINE_EQUATION,
    "equation_block": BlockType.INTERLINE_EQUATION,  # a container of equation lines, see merge_equation_blocks
    "formula_number": BlockType.TEXT,
    "code": BlockType.CODE,
    "code_caption": BlockType.CODE_CAPTION,
    "algorithm": BlockType.ALGORITHM,
    "header": BlockType.HEADER,
    "footer": BlockType.FOOTER,
    "page_number": BlockType.PAGE_NUMBER,
    "page_footnote": BlockType.PAGE_FOOTNOTE,
    "aside_text": BlockType.ASIDE_TEXT,
}
CONTAINER_TYPES = frozenset({"equation_block"})  # regions whose content is the items inside them
DROPPED_TYPES = frozenset({"inline_formula"})  # regions MinerU does not keep as blocks
TITLE_LEVELS = {"doc_title": 1, "paragraph_title": 2}  # when the answer gives no Markdown '#'
ANGLES = {"up": 0, "right": 90, "down": 180, "left": 270}
NON_TEXT = "[Non-Text]"  # what later MinerU models answer for a region without text

# (items dropped, containers): items of the first types mostly inside one of the second are dropped
_COVERED_DROPS = (
    (frozenset({"text", "equation", "equation_block"}), frozenset({"table"})),
    (frozenset({"image_caption"}), frozenset({"image", "chart", "image_block"})),
)
_COVER_THRESHOLD = 0.9

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_LAYOUT = re.compile(
    r"<\|box_start\|>\s*" + r"[\s,]+".join([_NUMBER] * 4)
    + r"\s*<\|box_end\|>\s*<\|ref_start\|>\s*([A-Za-z_]+)\s*<\|ref_end\|>(.*?)(?=<\|box_start\|>|\Z)",
    re.DOTALL,
)
_ROTATE = re.compile(r"<\|rotate_(up|right|down|left)\|>")


@dataclass(frozen=True, slots=True)
class LayoutItem:
    """One region of MinerU2.5's stage-1 answer.

    ``bbox`` in page fractions (0..1, x0<x1, y0<y1); ``angle`` the clockwise rotation of the content
    (0/90/180/270); ``raw_type`` the model's own type name; ``merge_prev`` when the model marked a text
    region as the continuation of the previous one.
    """

    type: BlockType
    raw_type: str
    bbox: FractionBox
    angle: int = 0
    merge_prev: bool = False

    @property
    def container(self) -> bool:
        """A region that only groups other regions (``equation_block``): no stage-2 request of its own."""
        return self.raw_type in CONTAINER_TYPES

    @property
    def label(self) -> str:
        """The model's type name when it is not the BlockType's value (``VlmBlock.label``), else ``""``."""
        return "" if self.raw_type == self.type.value else self.raw_type

    def bare_block(self) -> VlmBlock:
        """The item as a block without content (skipped types, failed requests)."""
        return VlmBlock(type=self.type, bbox=self.bbox, angle=self.angle, label=self.label)


# ---------------------------------------------------------------- stage 1


def parse_layout(answer: str, drop_covered: bool = True) -> list[LayoutItem]:
    """MinerU2.5's layout answer as items, in the model's order; never raises.

    Coordinates are clamped to the 0..1000 grid and ordered; regions that are empty after that, lines
    that do not parse and ``inline_formula`` regions are skipped.  With ``drop_covered`` (as
    mineru-vl-utils does) text/equation regions at least 90% inside a table, and image captions at
    least 90% inside an image, are dropped.
    """
    items: list[LayoutItem] = []
    for match in _LAYOUT.finditer(answer):
        bbox = _fraction_box(match.group(1, 2, 3, 4))
        raw_type = match.group(5).lower()
        if bbox is None or raw_type in DROPPED_TYPES:
            continue
        tail = match.group(6)
        rotate = _ROTATE.search(tail)
        items.append(
            LayoutItem(
                type=TYPE_MAP.get(raw_type, BlockType.TEXT),
                raw_type=raw_type,
                bbox=bbox,
                angle=ANGLES[rotate.group(1)] if rotate else 0,
                merge_prev=raw_type == "text" and "txt_contd_tgt" in tail,
            )
        )
    return _drop_covered(items) if drop_covered else items


def _fraction_box(numbers: tuple[str, ...]) -> FractionBox | None:
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        return None
    return fraction_box(values, (COORDINATE_RANGE, COORDINATE_RANGE))


def _drop_covered(items: list[LayoutItem]) -> list[LayoutItem]:
    dropped: set[int] = set()
    for candidates, containers in _COVERED_DROPS:
        holders = [k for k, item in enumerate(items) if item.raw_type in containers]
        for index, item in enumerate(items):
            if item.raw_type in candidates and any(
                k != index and inside_share(item.bbox, items[k].bbox) >= _COVER_THRESHOLD for k in holders
            ):
                dropped.add(index)
    return [item for index, item in enumerate(items) if index not in dropped]


# ---------------------------------------------------------------- stage-2 geometry


def crop_box(bbox: FractionBox, width_px: int, height_px: int, pad: int = 0) -> tuple[int, int, int, int]:
    """The pixel box of a fraction box on a ``width_px`` x ``height_px`` page, padded by ``pad`` pixels.

    Rounded to the nearest pixel (MinerU crops at exactly the box, ``pad=0``), clipped to the image,
    and at least one pixel wide and high.
    """
    x0 = min(max(round(bbox[0] * width_px) - pad, 0), max(width_px - 1, 0))
    y0 = min(max(round(bbox[1] * height_px) - pad, 0), max(height_px - 1, 0))
    x1 = min(max(round(bbox[2] * width_px) + pad, x0 + 1), max(width_px, 1))
    y1 = min(max(round(bbox[3] * height_px) + pad, y0 + 1), max(height_px, 1))
    return x0, y0, x1, y1


def rotate_for_angle(angle: int) -> int:
    """Counter-clockwise quarter turns that make a block read upright (``angle`` is its clockwise turn).

    MinerU rotates a ``rotate_right`` (90) crop by 90 degrees counter-clockwise before recognition:
    PIL ``image.rotate(90 * k, expand=True)`` or ``numpy.rot90(array, k)``.  Unknown angles give 0.
    """
    return (angle // 90) % 4 if angle in (0, 90, 180, 270) else 0


def block_image_size(width: int, height: int, min_edge: int = 28, max_ratio: float = 50.0) -> tuple[tuple[int, int], tuple[int, int]]:
    """How MinerU sizes a stage-2 crop: ``(canvas, final)`` sizes.

    A crop longer than ``max_ratio`` times its width (or the reverse) is first centred on a white
    ``canvas`` of that ratio; a result whose short side is under ``min_edge`` pixels is then scaled up
    (bicubic) to ``final``.  Both equal the input size when nothing is needed.
    """
    width, height = max(width, 1), max(height, 1)
    if max(width, height) / min(width, height) > max_ratio:
        if width > height:
            height = math.ceil(width / max_ratio)
        else:
            width = math.ceil(height / max_ratio)
    canvas = (width, height)
    if min(width, height) < min_edge:
        scale = min_edge / min(width, height)
        width, height = math.ceil(width * scale), math.ceil(height * scale)
    return canvas, (width, height)


# ---------------------------------------------------------------- stage 2


def block_content(item: LayoutItem, answer: str, output: BlockOutput, score: float | None = None) -> VlmBlock:
    """The block of ``item`` with its stage-2 ``answer`` read by the parser ``output``.

    ``text``: whitespace cleaned, inline math as ``$..$``; a title's leading Markdown ``#`` s give its
    level; code/algorithm lose their Markdown fences.  ``otsl``/``html``: ``html`` holds a ``<table>``
    (OTSL converted, HTML kept, a pipe table converted; ``""`` when the answer holds no table).
    ``latex``: the formula without delimiters, with MinerU's LaTeX repairs (:func:`clean_latex`).
    The ``[Non-Text]`` placeholder of later MinerU models gives the block without content.
    """
    block = item.bare_block()
    block.score = score
    if answer.strip() == NON_TEXT:
        return block
    if output in ("otsl", "html"):
        block.html = table_html(answer)
    elif output == "latex":
        block.latex = clean_latex(answer)
    elif item.type in (BlockType.CODE, BlockType.ALGORITHM):
        block.type, block.text = code_text(answer, item.type)
        block.label = "" if block.type.value == item.raw_type else item.raw_type
    elif item.type == BlockType.TITLE:
        block.text, block.level = title_text(answer, TITLE_LEVELS.get(item.raw_type, 0))
    else:
        block.text = clean_text(answer)
    return block


def table_html(answer: str) -> str:
    """A table answer as HTML: OTSL tokens converted, a ``<table>`` kept, a pipe table converted, else ``""``."""
    if has_otsl(answer):
        return otsl_to_html(answer)
    table = extract_html_table(answer)
    if table is not None:
        return table
    lines = [line for line in answer.strip().split("\n") if line.strip()]
    return pipe_table_to_html(lines) if is_pipe_table(lines[:2]) else ""


_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_RUN = re.compile(r"\n{3,}")
_HEADING = re.compile(r"^\s*(#{1,6})[ \t]+")
_MACRO_GLUED = re.compile(r"\\(cong|to|times|subset|in)([A-Za-z])(?![A-Za-z])")
_KNOWN_MACROS = frozenset({"top", "int", "inf"})
_BLANKS = re.compile(r"(_{3,})")


def clean_text(answer: str) -> str:
    """A text answer: runs of spaces collapsed, lines right-trimmed, at most one blank line, math as ``$..$``.

    Before that, MinerU's fixes of its inline formulas: ``\\timesX`` -> ``\\times X`` (also ``\\cong``,
    ``\\to``, ``\\subset``, ``\\in``), and fill-in blanks (``___``) inside a formula moved out of it.
    """
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in answer.strip().split("\n"))
    text = _BLANK_RUN.sub("\n\n", text)
    text = replace_delimited(text, "\\[", "\\]", _display_to_inline)
    text = replace_delimited(text, "\\(", "\\)", _fix_inline_formula)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in inline_math(text).split("\n")).strip()


def _display_to_inline(inner: str) -> str:
    """A ``\\[..\\]`` inside text is an inline formula (MinerU), unless it is a citation like ``\\[12\\]``."""
    return f"\\[{inner}\\]" if is_citation(inner) else f"\\({inner}\\)"


def _fix_inline_formula(inner: str) -> str:
    """One ``\\(..\\)`` formula, macro spacing fixed and ``___`` blanks split out as plain text."""
    inner = _MACRO_GLUED.sub(
        lambda m: m.group(0) if m.group(1) + m.group(2) in _KNOWN_MACROS else f"\\{m.group(1)} {m.group(2)}", inner
    )
    parts = [part for part in _BLANKS.split(inner) if part.strip()]
    return " ".join(part if _BLANKS.fullmatch(part) else f"\\({part}\\)" for part in parts)


def title_text(answer: str, default_level: int = 0) -> tuple[str, int]:
    """A title answer as ``(text, level)``: a leading Markdown ``#`` run is the level and is removed;
    the title's lines are joined with spaces (as MinerU does)."""
    text = answer.strip()
    level = default_level
    heading = _HEADING.match(text)
    if heading:
        level = len(heading.group(1))
        text = text[heading.end() :]
    return " ".join(line for line in clean_text(text).split("\n") if line), level


def code_text(answer: str, block_type: BlockType = BlockType.CODE) -> tuple[BlockType, str]:
    """A code answer without its Markdown fence lines; code whose text holds ``\\(..\\)`` formulas is an
    algorithm (as MinerU switches it), with the formulas as ``$..$``."""
    lines = answer.strip("\n").split("\n")
    if lines and lines[0].lstrip().startswith("```"):
        lines = lines[1:]
    if lines and lines[-1].strip() == "```":
        lines = lines[:-1]
    code = "\n".join(line.rstrip() for line in lines).strip("\n")
    if code.count("\\(") > 0 and code.count("\\(") == code.count("\\)"):
        return BlockType.ALGORITHM, inline_math(code)
    return block_type, code


# ---------------------------------------------------------------- formulas


def clean_latex(answer: str) -> str:
    """A formula answer as LaTeX without delimiters, with the repairs MinerU applies to its formulas.

    In MinerU's order: outer ``\\[ \\]`` (or ``$$``) removed; unmatched ``\\left``/``\\right`` closed
    with ``\\right.``/``\\left.``; a double subscript ``_{a}_{b}`` removed; ``\\coloneqq``/``\\eqqcolon``
    as ``:=``/``=:``; ``\\big{)}``-style braced delimiters unbraced and ``\\bigtimes`` as ``\\times``; a
    space after ``<``; unmatched braces removed.
    """
    latex = strip_math_delimiters(answer)
    latex = balance_left_right(latex)
    latex = _DOUBLE_SUBSCRIPT.sub("", latex)
    latex = latex.replace("\\eqqcolon", "=:").replace("\\coloneqq", ":=")
    latex = _BIG_BRACED.sub(_unbrace_big, latex).replace("\\bigtimes", "\\times")
    latex = re.sub(r"<(?! )", "< ", latex)
    return remove_unmatched_braces(latex).strip()


_GROUP = r"\{(?:[^{}]|\{[^{}]*\})*\}"
_DOUBLE_SUBSCRIPT = re.compile(r"_\s*" + _GROUP + r"\s*_\s*" + _GROUP)
_BIG_BRACED = re.compile(r"\\([Bb]igg?[lrm]?)\s*\{\s*(\\[{}|]|[()\[\]|]|\\langle|\\rangle)\s*\}(\s*)")


def _unbrace_big(match: re.Match[str]) -> str:
    delimiter, space = match.group(2), match.group(3)
    return f"\\{match.group(1)}{delimiter}" + (" " if space or delimiter[-1].isalpha() else "")


_CONTROL = re.compile(r"\\(?:[A-Za-z]+|.)", re.DOTALL)
_DELIMITER = re.compile(r"\s*(?:\\[A-Za-z]+|\\.|[^\s\\])", re.DOTALL)
_ENV_NAME = re.compile(r"\s*\{([A-Za-z*]+)\}")
_ENV_ARGS = re.compile(r"(?:\s*\{[^{}]*\}|\s*\[[^\[\]]*\])*")
_ARG_ENVS = frozenset({"array", "tabular", "subarray"})


def balance_left_right(latex: str) -> str:
    """``latex`` with each ``\\left`` that has no ``\\right`` in its group closed by ``\\right.`` at the
    group's end, and each lone ``\\right`` opened by ``\\left.`` at the group's start.

    A group is a brace group, an environment, or one cell of an array (``&`` and ``\\\\`` end cells),
    since ``\\left``/``\\right`` pairs cannot cross those.  Well-formed input is returned unchanged.
    """
    inserts: list[tuple[int, str]] = []
    frames: list[list] = [["root", 0, 0]]  # kind, start of the group's content, open \left count

    def close(frame: list, position: int) -> None:
        inserts.extend((position, _spaced(latex, position, "\\right.")) for _ in range(frame[2]))

    i = 0
    while i < len(latex):
        char = latex[i]
        if char == "\\":
            token = _CONTROL.match(latex, i)
            if token is None:  # a lone backslash at the very end
                break
            word, i = token.group(0), token.end()
            if word in ("\\left", "\\right"):
                delimiter = _DELIMITER.match(latex, i)
                i = delimiter.end() if delimiter else i
                if word == "\\left":
                    frames[-1][2] += 1
                elif frames[-1][2]:
                    frames[-1][2] -= 1
                else:
                    inserts.append((frames[-1][1], _spaced(latex, frames[-1][1], "\\left.")))
            elif word == "\\\\":
                close(frames[-1], token.start())
                frames[-1][1:] = [i, 0]
            elif word == "\\begin":
                name = _ENV_NAME.match(latex, i)
                if name:
                    i = name.end()
                    if name.group(1) in _ARG_ENVS:
                        i = _ENV_ARGS.match(latex, i).end()
                frames.append(["env", i, 0])
            elif word == "\\end" and frames[-1][0] == "env":
                close(frames.pop(), token.start())
            continue
        if char == "{":
            frames.append(["brace", i + 1, 0])
        elif char == "}" and frames[-1][0] == "brace":
            close(frames.pop(), i)
        elif char == "&":
            close(frames[-1], i)
            frames[-1][1:] = [i + 1, 0]
        i += 1
    while frames:
        close(frames.pop(), len(latex))
    for position, text in sorted(inserts, key=lambda insert: insert[0], reverse=True):
        latex = latex[:position] + text + latex[position:]
    return latex


def _spaced(latex: str, position: int, word: str) -> str:
    """``word`` to insert at ``position``, with a space on each side that has no whitespace or brace."""
    before = " " if position > 0 and not latex[position - 1].isspace() and latex[position - 1] != "{" else ""
    after = " " if position < len(latex) and not latex[position].isspace() and latex[position] != "}" else ""
    return before + word + after


def remove_unmatched_braces(latex: str) -> str:
    """``latex`` without the ``{`` and ``}`` that have no partner (escaped ``\\{`` ``\\}`` are not braces)."""
    opened: list[int] = []
    unmatched: set[int] = set()
    escaped = False
    for index, char in enumerate(latex):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif char == "{":
            opened.append(index)
        elif char == "}":
            if opened:
                opened.pop()
            else:
                unmatched.add(index)
    unmatched.update(opened)
    return "".join(char for index, char in enumerate(latex) if index not in unmatched)


# ---------------------------------------------------------------- equation blocks


def merge_equation_blocks(items: list[LayoutItem], blocks: list[VlmBlock | None]) -> list[VlmBlock]:
    """Blocks of a page with MinerU's equation-block handling applied.

    ``blocks[k]`` is the block made for ``items[k]`` (None when there is none; a container's own block is
    never kept).
    An ``equation_block`` container that holds (>90% of their area) more than one equation becomes one
    ``interline_equation`` at its place and box, its LaTeX ``\\begin{array}{l} a \\\\ b \\\\ \\end{array}``
    (``\\tag{n}`` written ``(n)`` when there is more than one tag); those equations are dropped.
    Other containers are dropped.
    """
    members: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        if not item.container:
            continue
        inside = [
            k
            for k, other in enumerate(items)
            if other.raw_type == "equation"
            and blocks[k] is not None
            and inside_share(other.bbox, item.bbox) > _COVER_THRESHOLD
        ]
        if len(inside) > 1:
            members[index] = inside
    merged = {k for inside in members.values() for k in inside}
    out: list[VlmBlock] = []
    for index, (item, block) in enumerate(zip(items, blocks)):
        if index in members:
            parts = [blocks[k].latex or "" for k in members[index]]  # type: ignore[union-attr]
            out.append(
                VlmBlock(
                    type=BlockType.INTERLINE_EQUATION,
                    bbox=item.bbox,
                    angle=item.angle,
                    latex=_array_of(parts),
                    label=item.raw_type,
                    score=_mean([blocks[k].score for k in members[index]]),  # type: ignore[union-attr]
                )
            )
        elif index not in merged and block is not None and not item.container:
            out.append(block)
    return out


_TAG = re.compile(r"\\tag\s*\{([^}]*)\}")


def _array_of(parts: list[str]) -> str:
    if sum(len(_TAG.findall(part)) for part in parts) > 1:
        parts = [_TAG.sub(r"(\1)", part) for part in parts]
    return "\\begin{array}{l} " + "".join(f"{part} \\\\ " for part in parts) + "\\end{array}"


def _mean(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else None
