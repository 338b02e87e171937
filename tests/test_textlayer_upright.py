"""Pages OCR read turned are assembled in their upright frame and come back in page coordinates."""

from __future__ import annotations

import pytest

from docray.datamodel import LayoutBox, OcrLine, PageText
from docray.operators.textlayer.document import assemble_document
from docray.operators.textlayer.upright import restore_page_frame, turn_box, upright_page
from docray.schema import BlockType, LayoutFallback, Route, RouteReason

WIDTH, HEIGHT = 600.0, 400.0  # the upright page
LINES = [  # upright reading order: a title, then two lines of one paragraph, then a second paragraph
    ("Annual report", (50.0, 40.0, 300.0, 70.0)),
    ("The first line of a paragraph that goes on", (50.0, 120.0, 550.0, 135.0)),
    ("and ends on the second line of the page.", (50.0, 138.0, 520.0, 153.0)),
    ("A second paragraph starts further down.", (50.0, 240.0, 500.0, 255.0)),
]


def stored_page(rotation: int) -> PageText:
    """The page as stored: the upright page turned back by ``rotation`` (OCR turns it clockwise by ``rotation``)."""
    back = (360 - rotation) % 360
    width, height = (HEIGHT, WIDTH) if rotation in (90, 270) else (WIDTH, HEIGHT)
    lines = [OcrLine(text, turn_box(box, back, WIDTH, HEIGHT), 0.99) for text, box in LINES]
    return PageText(
        page_idx=0, width=width, height=height, route=Route.OCR, route_reason=RouteReason.IMAGE_INPUT,
        ocr_lines=lines, ocr_rotation=rotation,
        layout=[LayoutBox(BlockType.IMAGE, (0.0, 0.0, width, height), 0.9)],  # found on the unturned page
    )  # fmt: skip


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_turn_box_round_trip(rotation):
    box = (10.0, 20.0, 110.0, 60.0)
    turned = turn_box(box, rotation, WIDTH, HEIGHT)
    size = (HEIGHT, WIDTH) if rotation != 180 else (WIDTH, HEIGHT)
    assert turn_box(turned, (360 - rotation) % 360, *size) == pytest.approx(box)
    assert turned != pytest.approx(box)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_upright_page_restores_reading_frame(rotation):
    page = upright_page(stored_page(rotation), rotation)
    assert (page.width, page.height) == (WIDTH, HEIGHT) and page.layout == []
    for line, (_, box) in zip(page.ocr_lines, LINES, strict=True):
        assert line.bbox == pytest.approx(box)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_turned_page_reads_like_upright(rotation):
    (layout,) = assemble_document([stored_page(rotation)])
    texts = [b.text for b in layout.blocks]
    assert texts[0] == "Annual report"
    assert any("goes on and ends on the second line" in t for t in texts), texts
    assert texts[-1] == "A second paragraph starts further down."
    stored = stored_page(rotation)
    assert (layout.width, layout.height) == (stored.width, stored.height)
    if rotation:  # blocks are back in the stored page's coordinates: the title's box is where its OCR line is
        assert layout.layout_fallback == LayoutFallback.ROTATED
        title = layout.blocks[0]
        assert title.bbox == pytest.approx(stored.ocr_lines[0].bbox)
        assert title.lines[0].spans[0].bbox == pytest.approx(stored.ocr_lines[0].bbox)


def test_restore_turns_shared_lines_once():
    page = upright_page(stored_page(90), 90)
    (layout,) = assemble_document([page])
    block = layout.blocks[0]
    layout.discarded.append(block)  # the same block (and its lines) reachable twice
    before = block.bbox
    restore_page_frame(layout, 90, HEIGHT, WIDTH)
    assert block.bbox == pytest.approx(turn_box(before, 270, WIDTH, HEIGHT))
