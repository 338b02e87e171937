"""Assemble a page that OCR read turned (a scan at 90, 180 or 270 degrees) in its upright frame.

The OCR stage turns a sideways or upside-down scan upright before reading it and writes its lines in
the page's own coordinates (``ocr_rotation`` says how far it turned the page).  Reading order,
rows, paragraphs and titles are geometry in the *reading* frame: a page turned 270 degrees has its
lines stacked left to right in page coordinates.  So such a page is assembled in the upright frame
(:func:`upright_page`: the page's size swapped for a quarter turn, its OCR lines turned with it) and
its blocks are turned back into page coordinates afterwards (:func:`restore_page_frame`), so every
output (``middle.json``, ``content_list.json``, the debug PDFs) keeps the page's own coordinates.

The layout model ran on the page as stored, before OCR knew its orientation, so its regions (and the
tables, crops and formulas found in them) do not describe the upright page: the page is read from its
lines alone (``layout_fallback`` = ``rotated``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from docray.datamodel import BBox, Block, Line, PageLayout, PageText, Span
from docray.models.page_orientation import turn_points


def quarter_turned(rotation: int) -> bool:
    return (rotation // 90) % 2 == 1


def turn_box(box: BBox, rotation: int, width: float, height: float) -> BBox:
    """``box`` of a ``width`` x ``height`` page, where it lies after turning the page clockwise by ``rotation``."""
    x0, y0, x1, y1 = box
    points = turn_points(np.array([[x0, y0], [x1, y1]], dtype=np.float64), rotation, width, height)
    xs, ys = points[:, 0].tolist(), points[:, 1].tolist()
    return (min(xs), min(ys), max(xs), max(ys))


def upright_size(rotation: int, width: float, height: float) -> tuple[float, float]:
    return (height, width) if quarter_turned(rotation) else (width, height)


def upright_page(page: PageText, rotation: int) -> PageText:
    """``page`` as read upright: size and OCR lines turned clockwise by ``rotation``, no layout regions."""
    width, height = upright_size(rotation, page.width, page.height)
    turned = [turn_box(o.bbox, rotation, page.width, page.height) for o in page.ocr_lines or []]
    lines = [replace(o, bbox=box, poly=None) for o, box in zip(page.ocr_lines or [], turned)]  # quads not turned
    return replace(
        page, width=width, height=height, ocr_lines=lines, layout=[], tables=[], crops=[], formulas=[], image_boxes=[]
    )


def restore_page_frame(layout: PageLayout, rotation: int, page_width: float, page_height: float) -> None:
    """Turn ``layout`` (assembled upright) back into the page's own coordinates, in place.

    Blocks, their children, lines and spans are each turned once, also where two blocks share a line.
    """
    back = (360 - rotation) % 360
    width, height = layout.width, layout.height  # the upright frame's size
    turned: set[int] = set()

    def turn(item: Block | Line | Span) -> None:
        if id(item) not in turned:
            turned.add(id(item))
            item.bbox = turn_box(item.bbox, back, width, height)

    blocks = [*layout.blocks, *layout.discarded]
    while blocks:
        block = blocks.pop()
        turn(block)
        blocks.extend(block.children)
        for line in block.lines:
            turn(line)
            for span in line.spans:
                turn(span)
    layout.width, layout.height = page_width, page_height

