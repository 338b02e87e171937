r"""Scanned paper pages with display formulas whose ground truth is known: for end-to-end formula benchmarks.

Formulas of the project's set (:data:`docray.testing.formula_set.FORMULAS`) are set with pdflatex as ``\[ ... \]``
between paragraphs of plain text, a few per page; each page is then rasterised (pypdfium2) and, optionally, given the
look of a scan (grey levels, a small rotation, blur and noise) and saved as a PNG with its resolution in the metadata,
so the page has no text layer.

The ground truth of each formula is its source and its box on the page: the document is compiled a second time with
every formula replaced by ``\phantom{...}`` (same layout, no ink); the glyphs and rules of the first compilation that
the second lacks are the formulas', and a formula is told from the next by the text lines between them.
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from dataclasses import dataclass

from docray.testing.formula_set import FORMULAS
from docray.testing.latex import compile_latex

BBox = tuple[float, float, float, float]

_WORDS = (
    "model data method results error parameter estimate sample function space operator energy field state network "
    "layer training loss gradient distribution variance term order bound value system solution equation condition "
    "approximation limit series matrix vector signal process theory analysis experiment measurement"
).split()
_OPENERS = (
    "We now consider", "In this section we study", "It is well known that", "Recall that", "As shown above,",
    "Following the standard approach,", "For completeness we state", "The main difficulty lies in",
    "Note that", "In practice,", "We observe that", "It follows that",
)  # fmt: skip


@dataclass(frozen=True)
class ScanFormula:
    """One display formula of a scanned page: its set category, source and box on the page (points, top-left)."""

    category: str
    latex: str
    bbox: BBox


@dataclass(frozen=True)
class ScanPage:
    """One page: its image (PNG, with its dpi in the metadata) and its display formulas, top to bottom."""

    png: bytes
    dpi: float
    formulas: tuple[ScanFormula, ...]


def pick_formulas(count: int, formulas: tuple[tuple[str, str], ...] = FORMULAS) -> tuple[tuple[str, str], ...]:
    """``count`` formulas, every category represented: one from each category in turn, each category's own taken
    evenly over its list, in the set's order."""
    by_category: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in formulas:
        by_category[item[0]].append(item)
    queues = {c: _evenly(items, max(1, -(-count // len(by_category)))) for c, items in by_category.items()}
    chosen: list[tuple[str, str]] = []
    while len(chosen) < count and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    order = {item: i for i, item in enumerate(formulas)}
    return tuple(sorted(chosen, key=order.__getitem__))


def _evenly(items: list, count: int) -> list:
    if count >= len(items):
        return list(items)
    if count == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def paragraph(rng: random.Random, sentences: int = 4) -> str:
    """Plain text of a few sentences (no math), deterministic for ``rng``."""
    out = []
    for _ in range(sentences):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(10, 18)))
        out.append(f"{rng.choice(_OPENERS)} the {words}.")
    return " ".join(out)


def paper_body(pages: list[tuple[tuple[str, str], ...]], seed: int = 0, phantom: bool = False) -> str:
    r"""The LaTeX body: per page, paragraphs with the page's formulas between them (``\phantom`` when ``phantom``)."""
    rng = random.Random(seed)
    out = []
    for formulas in pages:
        parts = [paragraph(rng, 4)]
        for _, latex in formulas:
            shown = f"\\phantom{{{latex}}}" if phantom else latex
            parts += [f"\\[ {shown} \\]", paragraph(rng, 3)]
        out.append("\n\n".join(parts))
    return "\n\\newpage\n".join(out)


def _page_marks(pdf: bytes) -> list[tuple[list, list]]:
    """Per page: (glyphs, rules) as :mod:`docray.operators.textlayer.pdf_glyphs` reads them."""
    from docray.testing.formula_set import formula_regions

    return formula_regions(pdf)


def _same(a: BBox, b: BBox, slack: float = 0.3) -> bool:
    return all(abs(x - y) <= slack for x, y in zip(a, b))


def formula_boxes(inked: tuple[list, list], blank: tuple[list, list], count: int) -> list[BBox]:
    """Boxes of the ``count`` display formulas of one page, top to bottom: what ``inked`` has and ``blank`` (the
    same page with phantom formulas) lacks, grouped by how many text glyphs lie above."""
    glyphs, rules = inked
    text = [g for g in blank[0] if g.text.strip()]
    cells: dict[tuple[str, int], list[BBox]] = defaultdict(list)
    for t in text:
        cells[(t.text, int(t.bbox[1]))].append(t.bbox)
    marks = [
        g.bbox
        for g in glyphs
        if not any(_same(g.bbox, box) for row in (-1, 0, 1) for box in cells.get((g.text, int(g.bbox[1]) + row), ()))
    ]
    marks += [r for r in rules if not any(_same(r, other) for other in blank[1])]
    centres = sorted((t.bbox[1] + t.bbox[3]) / 2 for t in text)
    groups: dict[int, list[BBox]] = defaultdict(list)
    for box in marks:
        middle = (box[1] + box[3]) / 2
        groups[sum(c < middle for c in centres)].append(box)
    if len(groups) != count:
        raise ValueError(f"found {len(groups)} formula bands on a page with {count} formulas")
    return [
        (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        for _, boxes in sorted(groups.items())
    ]


def build_paper(
    formulas: tuple[tuple[str, str], ...], per_page: int = 4, seed: int = 0
) -> tuple[bytes, list[tuple[ScanFormula, ...]]]:
    """The compiled paper (PDF) and the ground truth of each page; raises when a page overflowed onto two."""
    pages = [formulas[i : i + per_page] for i in range(0, len(formulas), per_page)]
    pdf = compile_latex(paper_body(pages, seed))
    blank = compile_latex(paper_body(pages, seed, phantom=True))
    inked, empty = _page_marks(pdf), _page_marks(blank)
    if len(inked) != len(pages) or len(empty) != len(pages):
        raise ValueError(f"{len(pages)} pages of formulas came out as {len(inked)} PDF pages")
    truth = []
    for page, a, b in zip(pages, inked, empty):
        boxes = formula_boxes(a, b, len(page))
        truth.append(tuple(ScanFormula(c, latex, box) for (c, latex), box in zip(page, boxes)))
    return pdf, truth


def scan_image(pdf: bytes, index: int, dpi: float, scanned: bool = True, seed: int = 0) -> bytes:
    """Page ``index`` of ``pdf`` as a PNG at ``dpi`` (dpi in its metadata); ``scanned``: grey, rotated by less
    than 0.4 degrees, slightly blurred, with sensor noise."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[index].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()
    if scanned:
        rng = random.Random(seed * 1000 + index)
        image = image.rotate(rng.uniform(-0.4, 0.4), resample=Image.Resampling.BICUBIC, fillcolor=255)
        image = image.filter(ImageFilter.GaussianBlur(0.35 * dpi / 200))
        noise = np.random.default_rng(seed * 1000 + index).normal(0.0, 6.0, (image.height, image.width))
        image = Image.fromarray(np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def build_scans(
    count: int = 40, per_page: int = 4, dpi: float = 200.0, scanned: bool = True, seed: int = 0
) -> list[ScanPage]:
    """``count`` formulas of every category on pages of ``per_page``, scanned at ``dpi``."""
    pdf, truth = build_paper(pick_formulas(count), per_page, seed)
    return [ScanPage(scan_image(pdf, i, dpi, scanned, seed), dpi, formulas) for i, formulas in enumerate(truth)]
