"""Builders of synthetic text-layer pages for the assembler tests (no PDF involved).

Glyphs are 0.5 em wide and a line box is one font size high, so positions are easy to reason
about: a 10 pt line of 40 characters is 200 pt wide.
"""

from __future__ import annotations

from docray.datamodel import BBox, PageText, Span
from docray.schema import FontFlags, Route, RouteReason

GLYPH_EM = 0.5
LETTER = (612.0, 792.0)


def span(text: str, x: float, y: float, size: float = 10.0, flags: FontFlags = FontFlags.NONE) -> Span:
    """One span whose top-left corner is (x, y)."""
    width = len(text) * GLYPH_EM * size
    return Span(text=text, bbox=(x, y, x + width, y + size), font="Times-Bold" if flags & FontFlags.BOLD else "Times", size=size, flags=flags)


def wrap(text: str, width: float, size: float = 10.0, indent: float = 0.0) -> list[str]:
    """Greedy word wrap of text into lines no wider than ``width`` points."""
    per_line = int(width / (GLYPH_EM * size))
    lines: list[str] = []
    current = ""
    for word in text.split():
        limit = per_line - (int(indent / (GLYPH_EM * size)) if not lines else 0)
        candidate = f"{current} {word}" if current else word
        if len(candidate) > limit and current:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def paragraph(
    text: str, x: float, y: float, width: float, size: float = 10.0, leading: float = 12.0, indent: float = 0.0,
    flags: FontFlags = FontFlags.NONE,
) -> tuple[list[Span], float]:
    """Spans of a wrapped paragraph starting at (x, y), and the y below its last line."""
    spans = []
    for i, line in enumerate(wrap(text, width, size, indent)):
        spans.append(span(line, x + (indent if i == 0 else 0.0), y, size, flags))
        y += leading
    return spans, y


def lines_at(texts: list[str], x: float, y: float, size: float = 10.0, leading: float = 12.0) -> tuple[list[Span], float]:
    """One span per given line text, stacked from (x, y)."""
    spans = []
    for text in texts:
        spans.append(span(text, x, y, size))
        y += leading
    return spans, y


def page(idx: int, spans: list[Span], image_boxes: list[BBox] | None = None, route: Route = Route.TXT, size=LETTER) -> PageText:
    reason = RouteReason.TEXT_LAYER if route == Route.TXT else RouteReason.NO_TEXT_LAYER
    return PageText(page_idx=idx, width=size[0], height=size[1], spans=spans, image_boxes=image_boxes or [], route=route, route_reason=reason)


def words(n: int, seed: int = 0) -> str:
    """``n`` deterministic lowercase filler words ending with a period."""
    vocab = ["data", "flows", "through", "the", "pipeline", "while", "pages", "become", "blocks", "of", "text", "and", "figures"]
    out = [vocab[(seed * 7 + i * 5) % len(vocab)] for i in range(n)]
    return " ".join(out) + "."
