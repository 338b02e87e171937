"""layout_pdf / span_pdf on PDFs made by reportlab: rendered pixels checked box by box against the original."""

from __future__ import annotations

import io
import re
from collections import Counter

import numpy as np
import pypdfium2 as pdfium
import pytest
from reportlab.pdfgen import canvas

from docray.datamodel import PageText
from docray.formats.debug_pdf import (
    BLOCK_COLOURS,
    FILL_ALPHA,
    GREY,
    SPAN_COLOURS,
    layout_marks,
    layout_pdf,
    span_pdf,
    to_user,
)
from docray.formats.mineru import to_middle_json
from docray.operators.textlayer.document import assemble_document
from docray.operators.textlayer.extract import image_boxes, page_spans
from docray.operators.textlayer.pdf_geometry import PageFrame, page_frame

SCALE = 1.0  # render at 72 dpi: one pixel per point
WORDS = "layout boxes are drawn over the original page content in translucent colours".split()


def _line_text(seed: int, i: int, lines: int) -> str:
    """Line ``i`` of a paragraph: capitalised first line, full stop on the last (no continuations)."""
    text = " ".join(WORDS[(seed + i + k) % len(WORDS)] for k in range(7))
    return (text.capitalize() if i == 0 else text) + ("." if i == lines - 1 else "")


def _paragraph(c: canvas.Canvas, x: float, y: float, lines: int, seed: int) -> None:
    for i in range(lines):
        c.drawString(x, y - 13 * i, _line_text(seed, i, lines))


def _document() -> bytes:
    """Page 0: portrait letter; page 1: landscape media box shown with /Rotate 90 (text drawn upright
    as displayed); page 2: portrait with a crop box offset from the media box."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(612, 792), invariant=1)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, 700, "Debug Rendering Title")
    c.setFont("Times-Roman", 11)
    _paragraph(c, 72, 660, 4, 0)
    _paragraph(c, 72, 580, 5, 3)
    c.setFont("Times-Roman", 9)
    c.drawString(290, 40, "Page 1")
    c.showPage()

    c.setPageRotation(90)  # reportlab then writes a landscape media box (792 x 612)
    c.setFont("Times-Roman", 11)
    for block, top in enumerate((80.0, 200.0)):  # displayed (X, Y) is user (Y, X) on this page
        for i in range(4):
            c.saveState()
            c.translate(top + 13 * i, 72)
            c.rotate(90)
            c.drawString(0, 0, _line_text(block, i, 4))
            c.restoreState()
    c.showPage()

    c.setPageSize((612, 792))
    c.setPageRotation(0)
    c.setFont("Times-Roman", 11)
    _paragraph(c, 100, 650, 4, 5)
    _paragraph(c, 100, 560, 3, 1)
    c.showPage()
    c.save()
    pdf = pdfium.PdfDocument(buffer.getvalue())
    pdf[2].set_cropbox(50, 40, 560, 760)
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


@pytest.fixture(scope="module")
def document() -> bytes:
    return _document()


@pytest.fixture(scope="module")
def middle(document) -> dict:
    pdf = pdfium.PdfDocument(document)
    pages = []
    for i in range(len(pdf)):
        page = pdf[i]
        frame = page_frame(page)
        pages.append(PageText(i, frame.width, frame.height, spans=page_spans(page), image_boxes=image_boxes(page)))
    pdf.close()
    layouts = assemble_document(pages)
    return to_middle_json(layouts, parse_method="txt", version="test")


def _render(pdf_bytes: bytes, scale: float = SCALE) -> list[np.ndarray]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return [np.asarray(pdf[i].render(scale=scale).to_pil().convert("RGB")).astype(int) for i in range(len(pdf))]
    finally:
        pdf.close()


def _blend(colour: tuple[int, int, int]) -> np.ndarray:
    alpha = FILL_ALPHA / 255
    return np.array([(1 - alpha) * 255 + alpha * c for c in colour])


def _pixels(box, inset: float, shape) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (v * SCALE for v in box)
    rows = slice(max(0, int(np.ceil(y0 + inset))), min(shape[0], int(np.floor(y1 - inset))))
    cols = slice(max(0, int(np.ceil(x0 + inset))), min(shape[1], int(np.floor(x1 - inset))))
    return rows, cols


def _check_fills(
    original: np.ndarray, marked: np.ndarray, filled: list[tuple[list[float], tuple]], labels: list
) -> None:
    """Inside each filled box (away from its edges and other boxes) white pixels carry that box's
    translucent colour; away from every box and label the page is unchanged."""
    cover = np.zeros(original.shape[:2], int)
    near = np.zeros(original.shape[:2], bool)
    for box, _ in filled:
        cover[_pixels(box, 0, cover.shape)] += 1
        near[_pixels(box, -3, cover.shape)] = True
    for x0, y0, x1, y1 in labels:
        near[_pixels((x1 - 30, y0 - 3, x1 + 30, y0 + 12), 0, near.shape)] = True
    white = (original >= 250).all(axis=2)
    for box, colour in filled:
        rows, cols = _pixels(box, 2, cover.shape)
        inside = np.zeros_like(white)
        inside[rows, cols] = True
        sample = inside & white & (cover == 1)
        assert sample.sum() > 10, f"box {box} has white pixels to check"
        mean = marked[sample].mean(axis=0)
        assert np.abs(mean - _blend(colour)).max() < 8, (box, colour, mean)
    outside = ~near
    assert outside.sum() > 0.3 * outside.size
    assert np.abs(marked[outside] - original[outside]).max() <= 8, "nothing drawn far outside the boxes"


def _numbers(text: str) -> Counter:
    return Counter(re.findall(r"\b\d+\b", text))


def _texts(pdf_bytes: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def _filled(page: dict) -> list[tuple[list[float], tuple]]:
    out = [(d["bbox"], GREY) for d in page["discarded_blocks"]]
    for block in page["para_blocks"]:
        for part in block.get("blocks") or [block]:
            out.append((part["bbox"], BLOCK_COLOURS[part["type"]]))
    return out


def test_layout_pdf_of_an_assembled_document_marks_every_block(document, middle):
    marked_pdf = layout_pdf(document, middle)
    originals, marked = _render(document), _render(marked_pdf)
    assert len(marked) == len(originals) == 3
    assert all(p["para_blocks"] for p in middle["pdf_info"]), "every page has blocks to draw"
    for page in middle["pdf_info"]:
        i = page["page_idx"]
        assert marked[i].shape == originals[i].shape
        assert (marked[i].shape[1], marked[i].shape[0]) == tuple(round(v * SCALE) for v in page["page_size"])
        labels = [b["bbox"] for b in page["para_blocks"]]
        _check_fills(originals[i], marked[i], _filled(page), labels)

    # the reading-order numbers are text: each block's index appears once more than in the original
    for page, before, after in zip(middle["pdf_info"], _texts(document), _texts(marked_pdf)):
        added = _numbers(after) - _numbers(before)
        assert added == Counter(str(b["index"]) for b in page["para_blocks"])


def test_rotated_and_cropped_pages_are_marked_where_the_text_is(document, middle):
    pdf = pdfium.PdfDocument(document)
    assert pdf[1].get_rotation() == 90 and page_frame(pdf[2]).left == 50
    pdf.close()
    rotated = middle["pdf_info"][1]
    assert rotated["page_size"] == [612, 792]
    boxes = [b["bbox"] for b in rotated["para_blocks"]]
    assert boxes and all(b[2] - b[0] > b[3] - b[1] for b in boxes), "text reads left to right as displayed"
    # exact placement on these pages is checked by the fill test above; here: the page stays rotated
    marked = pdfium.PdfDocument(layout_pdf(document, middle))
    assert marked[1].get_rotation() == 90 and marked[2].get_cropbox() == (50, 40, 560, 760)
    marked.close()


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_to_user_inverts_the_displayed_frame(rotation):
    frame = PageFrame(left=30.0, top=700.0, box_width=500.0, box_height=650.0, rotation=rotation)
    for x, y in [(40.0, 650.0), (529.0, 51.0), (300.0, 300.0)]:
        shown = frame.point(x, y)
        assert to_user(frame, *shown) == pytest.approx((x, y))


def _blank_pdf(pages: int = 3) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(612, 792), invariant=1)
    for i in range(pages):
        c.setFont("Helvetica", 10)
        c.drawString(72, 760, f"blank page {i}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def _span(bbox, kind, **extra):
    return {"bbox": bbox, "type": kind, "content": "x", "score": 1.0, **extra}


def _line(bbox, *spans):
    return {"bbox": bbox, "spans": list(spans)}


def _hand_page(page_idx: int) -> dict:
    """One page of every block type, on blank parts of the page."""
    text = {"type": "text", "bbox": [72, 100, 300, 140], "index": 0, "lines": [
        _line([72, 100, 300, 118], _span([72, 100, 200, 118], "text"), _span([205, 100, 300, 118], "inline_equation")),
    ]}  # fmt: skip
    image = {"type": "image", "bbox": [72, 160, 300, 330], "index": 1, "blocks": [
        {"type": "image_body", "bbox": [72, 160, 300, 300], "lines": [_line([72, 160, 300, 300], _span([72, 160, 300, 300], "image"))]},
        {"type": "image_caption", "bbox": [72, 305, 300, 330], "lines": [_line([72, 305, 300, 330], _span([72, 305, 300, 330], "text"))]},
    ]}  # fmt: skip
    table = {"type": "table", "bbox": [330, 160, 540, 330], "index": 2, "blocks": [
        {"type": "table_body", "bbox": [330, 160, 540, 330], "lines": [_line([330, 160, 540, 330], _span([330, 160, 540, 330], "table"))]},
    ]}  # fmt: skip
    equation = {"type": "interline_equation", "bbox": [150, 360, 460, 400], "index": 3,
                "lines": [_line([150, 360, 460, 400], _span([150, 360, 460, 400], "interline_equation"))]}  # fmt: skip
    footer = {
        "type": "footer",
        "bbox": [250, 740, 360, 752],
        "lines": [_line([250, 740, 360, 752], _span([250, 740, 360, 752], "text"))],
    }
    blocks = [text, image, table, equation]
    return {
        "page_idx": page_idx,
        "page_size": [612, 792],
        "preproc_blocks": blocks,
        "para_blocks": blocks,
        "images": [image],
        "tables": [table],
        "interline_equations": [equation],
        "discarded_blocks": [footer],
    }


def test_hand_built_middle_json_colours_each_block_type_and_only_listed_pages():
    pdf = _blank_pdf(3)
    page = _hand_page(1)  # a page range: only the second page is in middle.json
    marked_pdf = layout_pdf(pdf, {"pdf_info": [page]})
    originals, marked = _render(pdf), _render(marked_pdf)
    assert np.array_equal(originals[0], marked[0]) and np.array_equal(originals[2], marked[2])
    filled = _filled(page)
    assert [c for _, c in filled] == [GREY] + [
        BLOCK_COLOURS[t] for t in ("text", "image_body", "image_caption", "table_body", "interline_equation")
    ]
    _check_fills(originals[1], marked[1], filled, [b["bbox"] for b in page["para_blocks"]])
    assert len(layout_marks(page)) == len(filled) + 4, "equation, image and table listed twice are drawn once"
    added = _numbers(_texts(marked_pdf)[1]) - _numbers(_texts(pdf)[1])
    assert added == Counter({"0": 1, "1": 1, "2": 1, "3": 1})


SPAN_SCALE = 4.0  # outlines are thin: render finer so some pixels are fully covered


def _edge_colour(image: np.ndarray, box, side: str) -> np.ndarray:
    """The pixels across a box edge's midpoint (a 5-pixel window)."""
    x0, y0, x1, y1 = (v * SPAN_SCALE for v in box)
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    if side == "left":
        return image[cy, int(x0) - 2 : int(x0) + 3]
    return image[int(y0) - 2 : int(y0) + 3, cx]


def _has(window: np.ndarray, colour) -> bool:
    return bool((np.abs(window - np.array(colour)).max(axis=1) < 40).any())


def test_span_pdf_outlines_spans_by_type():
    pdf = _blank_pdf(2)
    page = _hand_page(0)
    carried = _span([100, 500, 300, 520], "text", cross_page=True)  # continues on the next page
    page["para_blocks"][0]["lines"].append(_line([100, 500, 300, 520], carried))
    marked = _render(span_pdf(pdf, {"pdf_info": [page, {**_hand_page(1), "para_blocks": [], "images": [], "tables": [],
                                                          "interline_equations": [], "discarded_blocks": []}]}), SPAN_SCALE)  # fmt: skip
    original = _render(pdf, SPAN_SCALE)[0]
    expected = [
        ([72, 100, 200, 118], SPAN_COLOURS["text"]),
        ([205, 100, 300, 118], SPAN_COLOURS["inline_equation"]),
        ([72, 160, 300, 300], SPAN_COLOURS["image"]),
        ([330, 160, 540, 330], SPAN_COLOURS["table"]),
        ([150, 360, 460, 400], SPAN_COLOURS["interline_equation"]),
        ([250, 740, 360, 752], GREY),
    ]
    for box, colour in expected:
        assert _has(_edge_colour(marked[0], box, "left"), colour), (box, colour)
        assert _has(_edge_colour(marked[0], box, "top"), colour), (box, colour)
        centre = (int((box[1] + box[3]) / 2 * SPAN_SCALE), int((box[0] + box[2]) / 2 * SPAN_SCALE))
        assert np.array_equal(marked[0][centre], original[centre]), "span boxes are outlines only"
    cross = [100, 500, 300, 520]
    assert not _has(_edge_colour(marked[0], cross, "left"), SPAN_COLOURS["text"]), "not on the page that lists it"
    assert _has(_edge_colour(marked[1], cross, "left"), SPAN_COLOURS["text"]), "drawn on the next page"


def test_bad_boxes_are_ignored_and_a_middle_without_pages_is_an_error():
    pdf = _blank_pdf(1)
    page = {"page_idx": 0, "page_size": [612, 792], "para_blocks": [
        {"type": "text", "bbox": None, "index": 0, "lines": [{"bbox": [1, 2, 3], "spans": [{"bbox": ["a", 0, 1, 1]}]}]},
        {"type": "mystery", "bbox": [100, 100, 200, float("nan")], "index": 1},
        {"type": "text", "bbox": [100, 100, 200, 150], "index": 2, "lines": []},
    ], "discarded_blocks": []}  # fmt: skip
    for draw in (layout_pdf, span_pdf):
        out = pdfium.PdfDocument(draw(pdf, {"pdf_info": [page, {"page_idx": 7, "para_blocks": []}]}))
        assert len(out) == 1
        out.close()
    with pytest.raises(ValueError):
        layout_pdf(pdf, {"nothing": []})
