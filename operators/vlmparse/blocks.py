"""The block a vision-language model's answer becomes, before it is placed on the page."""

from __future__ import annotations

from dataclasses import dataclass

from docray.schema import BlockType

FractionBox = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions (0..1) of the page's width/height


@dataclass(slots=True)
class VlmBlock:
    """One typed region of a page as a VLM read it.

    ``bbox`` is in page fractions (0..1, top-left origin) so that it does not depend on the image size
    the model saw; ``None`` when the model gave no box (one-shot Markdown).  ``angle`` is the
    clockwise rotation of the block's content (0, 90, 180, 270).  Content goes in ``text`` (Markdown
    text with ``$...$`` inline math), ``html`` (tables) or ``latex`` (display formulas, no
    delimiters); ``level`` is a title's level (1 = top) when the model says so, else 0.
    """

    type: BlockType
    bbox: FractionBox | None = None
    angle: int = 0
    text: str = ""
    html: str | None = None
    latex: str | None = None
    level: int = 0
    score: float | None = None  # mean token probability of the block's answer, when the engine gave log-probs
    label: str = ""  # the model's own type name (e.g. MinerU2.5's), when it differs from ``type``
