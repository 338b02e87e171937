"""Grounded lines: a page transcribed line by line, each line with its box (the handwriting page prompts' output).

The prompts ask for a JSON array ``[{"text": ..., "bbox": [x0, y0, x1, y1]}, ...]`` with coordinates in
0..1000 of the image.  General VLMs answer that loosely, and :func:`parse_grounded_lines` takes what it can:

* the array inside a Markdown code fence, after prose, or objects one per line without the brackets;
* trailing commas, and raw newlines inside strings;
* a truncated answer (cut at ``max_tokens``): the complete objects are kept, the cut one dropped;
* Qwen2.5-VL's grounding keys: ``bbox_2d`` for the box and ``text_content``/``content``/``label`` for the text;
* boxes as four numbers or two ``[x, y]`` points; coordinates that are all within 0..1 (already fractions);
* a plain-text answer (no JSON objects at all): one line per non-empty text line, without boxes
  (a JSON array of strings gives one line per string).

Qwen2.5-VL's own grounding convention is *absolute* pixels of the image it was given, not 0..1000: pass
``scale=(width, height)`` of that image when a model answers that way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from docray.operators.vlmparse.blocks import FractionBox
from docray.operators.vlmparse.fields import closing_bracket, relax_json, strip_fences

TEXT_KEYS = ("text", "text_content", "content", "label")
BOX_KEYS = ("bbox", "bbox_2d", "box", "bounding_box")
_ITEM_START = re.compile(r"\{\s*\"(?:%s)\"\s*:" % "|".join(map(re.escape, TEXT_KEYS + BOX_KEYS)))


@dataclass(frozen=True, slots=True)
class GroundedLine:
    """One transcribed line: its text and its box in page fractions (0..1, top-left origin), or None."""

    text: str
    bbox: FractionBox | None = None


def _numbers(raw: Any) -> list[float] | None:
    """Four coordinates from ``[x0, y0, x1, y1]`` or ``[[x0, y0], [x1, y1]]``; None for anything else."""
    if isinstance(raw, (list, tuple)) and len(raw) == 2 and all(isinstance(p, (list, tuple)) for p in raw):
        raw = [*raw[0], *raw[1]]
    if not isinstance(raw, (list, tuple)) or len(raw) != 4:
        return None
    try:
        values = [float(v) for v in raw]
    except (TypeError, ValueError):
        return None
    return values if all(v == v for v in values) else None  # v != v: NaN


def fraction_box(coords: Sequence[float], scale: tuple[float, float]) -> FractionBox | None:
    """Coordinates in ``0..scale`` as a page-fraction box, corners ordered and clamped; None when it is empty."""
    sx, sy = scale
    x0, x1 = sorted((coords[0] / sx, coords[2] / sx))
    y0, y1 = sorted((coords[1] / sy, coords[3] / sy))
    x0, x1 = max(0.0, min(1.0, x0)), max(0.0, min(1.0, x1))
    y0, y1 = max(0.0, min(1.0, y0)), max(0.0, min(1.0, y1))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def _items(text: str) -> list[dict[str, Any]]:
    """The complete JSON objects that start like grounded lines, in order (a cut last one is dropped)."""
    items: list[dict[str, Any]] = []
    match = _ITEM_START.search(text)
    while match:
        end = closing_bracket(text, match.start())
        if end is None:
            break
        try:
            item = json.loads(relax_json(text[match.start() : end]), strict=False)
        except ValueError:
            item = None
        if isinstance(item, dict):
            items.append(item)
        match = _ITEM_START.search(text, end)
    return items


def _first(item: dict[str, Any], keys: Sequence[str]) -> Any:
    return next((item[key] for key in keys if key in item), None)


def _plain_lines(body: str) -> list[GroundedLine]:
    """Lines of an answer that holds no line objects: a JSON array of strings, or plain text."""
    stripped = body.strip()
    try:
        decoded = json.loads(relax_json(stripped), strict=False)
    except ValueError:
        decoded = None
    if isinstance(decoded, list):
        return [GroundedLine(text=s.strip()) for s in decoded if isinstance(s, str) and s.strip()]
    return [GroundedLine(text=line.strip()) for line in stripped.splitlines() if line.strip()]


def parse_grounded_lines(answer: str, scale: float | tuple[float, float] = 1000.0) -> list[GroundedLine]:
    """The lines of a grounded-lines answer, with boxes as page fractions (see the module docstring).

    ``scale`` is the coordinate range the model used: 1000 (the prompts' convention) or the
    ``(width, height)`` of the image it saw when it answers in absolute pixels.  When every coordinate
    of the answer lies within 0..1 the boxes are taken as fractions already.  Objects without text are
    skipped; a box that is missing, malformed or empty becomes None.  An answer whose first line object
    was cut off gives no line.
    """
    body = strip_fences(answer)
    items = _items(body)
    if not items:
        return [] if _ITEM_START.search(body) else _plain_lines(body)
    sx, sy = (scale, scale) if isinstance(scale, (int, float)) else scale
    boxes = [_numbers(_first(item, BOX_KEYS)) for item in items]
    given = [b for b in boxes if b is not None]
    if given and all(max(b) <= 1.0 for b in given):
        sx = sy = 1.0
    out: list[GroundedLine] = []
    for item, coords in zip(items, boxes):
        text = _first(item, TEXT_KEYS)
        if not isinstance(text, str) or not text.strip():
            continue
        out.append(GroundedLine(text=text, bbox=fraction_box(coords, (sx, sy)) if coords else None))
    return out
