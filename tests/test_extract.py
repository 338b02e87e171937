"""Pure page functions of the render stage on real PDFs drawn with reportlab, read by real pdfium."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from docray.datamodel import Span
from docray.operators.textlayer.extract import (
    image_boxes,
    image_coverage,
    open_pdf,
    page_frame,
    page_spans,
    render_page_image,
    route_page,
    text_quality,
)
from docray.schema import FontFlags, ParseMethod, Route, RouteReason

W, H = 612.0, 792.0
LEFT_COLUMN = ["Left column line one", "left column has words", "and a third left line"]
RIGHT_COLUMN = ["Right column starts", "right column goes on", "final right line"]


# --------------------------------------------------------------------------- PDF builders


def _scan_image(text: str, size=(850, 1100)) -> Image.Image:
    """A scan-like picture of text (pixels only, no text layer)."""
    image = Image.new("L", size, 250)
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.text((60, 80 + 70 * i), f"{text} {i}", fill=20)
    return image


def _layout_pdf(path: Path) -> Path:
    """Page 0: title, two columns, italic word, Courier line, picture; page 1: /Rotate 90;
    page 2: a scan (image only); page 3: empty; page 4: a scan with a hidden OCR text layer."""
    c = canvas.Canvas(str(path), pagesize=(W, H))
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 720, "Docray Test Title")
    c.setFont("Times-Roman", 10)
    for i, (left, right) in enumerate(zip(LEFT_COLUMN, RIGHT_COLUMN)):  # interleaved: same baselines
        c.drawString(72, 680 - 14 * i, left)
        c.drawString(320, 680 - 14 * i, right)
    text = c.beginText(72, 620)
    text.setFont("Times-Roman", 10)
    text.textOut("plain words ")
    text.setFont("Times-Italic", 10)
    text.textOut("emphasis")
    text.setFont("Times-Roman", 10)
    text.textOut(" after")
    c.drawText(text)
    c.setFont("Courier", 10)
    c.drawString(72, 600, "x = compute(1)")
    c.drawImage(ImageReader(Image.new("RGB", (40, 30), (200, 30, 30))), 300, 100, width=200, height=150)
    c.saveState()
    c.translate(560, 300)
    c.rotate(90)
    c.setFont("Helvetica", 12)
    c.drawString(0, 0, "VERTICAL LABEL")
    c.restoreState()
    c.showPage()

    c.setPageSize((H, W))  # reportlab writes a /Rotate 90 page's media box swapped: this gives 612 x 792
    c.setPageRotation(90)
    c.setFont("Helvetica", 20)
    c.drawString(100, 700, "ROTATED PAGE")
    c.showPage()

    c.setPageSize((W, H))
    c.setPageRotation(0)
    c.drawImage(ImageReader(_scan_image("Scanned text line")), 0, 0, width=W, height=H)
    c.showPage()

    c.showPage()  # empty

    c.drawImage(ImageReader(_scan_image("Scanned text line")), 0, 0, width=W, height=H)
    hidden = c.beginText(60, 700)
    hidden.setTextRenderMode(3)  # invisible, as OCR tools write it
    hidden.setFont("Helvetica", 11)
    for i in range(12):
        hidden.textLine(f"Scanned text line {i} with an OCR layer underneath")
    c.drawText(hidden)
    c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def layout_doc(tmp_path_factory):
    path = _layout_pdf(tmp_path_factory.mktemp("pdf") / "layout.pdf")
    document = open_pdf(path.read_bytes())
    yield document
    document.close()


def _spans_of(document, index: int) -> list[Span]:
    return page_spans(document[index])


def _ink_box(page, dark: int = 128) -> tuple[float, float, float, float]:
    """Box (points, top-left) of the dark pixels of the page rendered at 72 dpi."""
    pixels = np.asarray(page.render(scale=1).to_pil().convert("L"))
    ys, xs = np.nonzero(pixels < dark)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def _one(spans: list[Span], text: str) -> Span:
    found = [s for s in spans if s.text == text]
    assert len(found) == 1, f"{text!r} in {[s.text for s in spans]}"
    return found[0]


def _pdf_bytes(draw) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(W, H))
    draw(c)
    c.showPage()
    c.save()
    return buffer.getvalue()


# --------------------------------------------------------------------------- spans


def test_title_span_font_size_flags_and_position(layout_doc):
    title = _one(_spans_of(layout_doc, 0), "Docray Test Title")
    assert title.font == "Helvetica-Bold"
    assert title.size == pytest.approx(14, abs=0.1)
    assert title.flags & FontFlags.BOLD and not title.flags & FontFlags.ITALIC
    x0, y0, x1, y1 = title.bbox
    baseline = H - 720  # top-left origin
    assert x0 == pytest.approx(72, abs=1.5)
    assert y0 < baseline < y1 and 8 < baseline - y0 < 15 and y1 - baseline < 5
    assert x1 - x0 == pytest.approx(pdfium_text_width("Docray Test Title", "Helvetica-Bold", 14), abs=3)


def pdfium_text_width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def test_two_columns_on_shared_baselines_never_share_a_span(layout_doc):
    spans = _spans_of(layout_doc, 0)
    texts = [s.text for s in spans]
    for left, right in zip(LEFT_COLUMN, RIGHT_COLUMN):
        assert left in texts and right in texts
        left_span, right_span = _one(spans, left), _one(spans, right)
        assert left_span.bbox[2] < 300 < right_span.bbox[0]
        assert left_span.bbox[1] == pytest.approx(right_span.bbox[1], abs=0.5)  # same line
    for span in spans:
        assert not (span.bbox[0] < 300 < span.bbox[2]), f"span crosses the column gap: {span.text!r}"


def test_font_changes_split_spans_and_keep_word_spaces(layout_doc):
    spans = _spans_of(layout_doc, 0)
    plain, italic, after = _one(spans, "plain words"), _one(spans, "emphasis"), _one(spans, "after")
    assert italic.font == "Times-Italic" and italic.flags & FontFlags.ITALIC
    assert plain.font == "Times-Roman" and not plain.flags & FontFlags.ITALIC
    assert plain.flags & FontFlags.SERIF
    assert plain.bbox[2] <= italic.bbox[0] + 0.5 and italic.bbox[2] <= after.bbox[0] + 0.5
    code = _one(spans, "x = compute(1)")
    assert code.font == "Courier" and code.flags & FontFlags.MONOSPACE
    assert code.size == pytest.approx(10, abs=0.1)


def test_vertical_text_is_one_tall_span(layout_doc):
    label = _one(_spans_of(layout_doc, 0), "VERTICAL LABEL")
    x0, y0, x1, y1 = label.bbox
    assert y1 - y0 > 3 * (x1 - x0)  # tall and narrow
    assert x0 < 560 < x1 + 3  # drawn upwards from (560, 300): the glyphs sit left of x = 560
    assert y1 == pytest.approx(H - 300, abs=2)


def test_rotated_page_boxes_match_the_rendered_ink(layout_doc):
    page = layout_doc[1]
    assert page.get_rotation() == 90 and page.get_mediabox() == (0, 0, W, H) and page.get_size() == (H, W)
    frame = page_frame(page)
    assert (frame.width, frame.height) == (H, W)
    span = _one(_spans_of(layout_doc, 1), "ROTATED PAGE")
    ink = _ink_box(page)
    x0, y0, x1, y1 = span.bbox
    assert x0 - 1 <= ink[0] and ink[2] <= x1 + 1 and y0 - 1 <= ink[1] and ink[3] <= y1 + 1
    assert ink[0] - x0 < 6 and x1 - ink[2] < 6 and ink[1] - y0 < 6 and y1 - ink[3] < 6
    assert y1 - y0 > x1 - x0  # upright text on a page turned a quarter is vertical on screen
    page.close()


def test_crop_box_offset_moves_boxes():
    def draw(c):
        c.setCropBox((50, 60, 562, 742))
        c.setFont("Helvetica", 20)
        c.drawString(150, 500, "CROPPED")

    document = open_pdf(_pdf_bytes(draw))
    page = document[0]
    assert page.get_size() == (512, 682)
    span = _one(_spans_of(document, 0), "CROPPED")
    ink = _ink_box(page)
    assert span.bbox[0] == pytest.approx(100, abs=1.5)
    assert span.bbox[0] - 1 <= ink[0] and ink[2] <= span.bbox[2] + 1 and span.bbox[1] - 1 <= ink[1] <= span.bbox[3]
    page.close()
    document.close()


def test_line_end_hyphen_is_kept_and_lines_are_separate_spans():
    def draw(c):
        c.setFont("Helvetica", 12)
        c.drawString(72, 700, "a long hyphen-")
        c.drawString(72, 686, "ated word")

    document = open_pdf(_pdf_bytes(draw))
    texts = [s.text for s in _spans_of(document, 0)]
    document.close()
    assert texts == ["a long hyphen-", "ated word"]


def test_no_text_pages_have_no_spans(layout_doc):
    assert _spans_of(layout_doc, 2) == []
    assert _spans_of(layout_doc, 3) == []


# --------------------------------------------------------------------------- images, quality, routes


def test_image_boxes_top_left_and_clipped(layout_doc):
    boxes = image_boxes(layout_doc[0])
    assert len(boxes) == 1
    assert boxes[0] == pytest.approx((300, H - 250, 500, H - 100), abs=1)
    scan_boxes = image_boxes(layout_doc[2])
    assert scan_boxes == [pytest.approx((0, 0, W, H), abs=1)]
    assert image_coverage(scan_boxes, W, H) > 0.99
    assert image_coverage(boxes, W, H) == pytest.approx(200 * 150 / (W * H), rel=0.05)


def test_image_inside_form_xobject_and_off_page_clipping():
    def draw(c):
        c.beginForm("logo")
        c.drawImage(ImageReader(Image.new("RGB", (10, 10), (0, 0, 255))), 0, 0, width=50, height=40)
        c.endForm()
        c.saveState()
        c.translate(200, 300)
        c.scale(2, 2)
        c.doForm("logo")
        c.restoreState()
        c.drawImage(ImageReader(Image.new("RGB", (10, 10), (0, 255, 0))), 500, 700, width=300, height=300)

    document = open_pdf(_pdf_bytes(draw))
    boxes = sorted(image_boxes(document[0]))
    document.close()
    assert boxes[0] == pytest.approx((200, H - 380, 300, H - 300), abs=1)  # form matrix applied
    assert boxes[1] == pytest.approx((500, 0, W, H - 700), abs=1)  # clipped to the page


def test_routes_of_real_pages(layout_doc):
    def route_of(index):
        page = layout_doc[index]
        boxes = image_boxes(page)
        chars, garbled = text_quality(_spans_of(layout_doc, index))
        return route_page(ParseMethod.AUTO, chars, garbled, image_coverage(boxes, *page.get_size()))

    assert route_of(0) == (Route.TXT, RouteReason.TEXT_LAYER)
    assert route_of(2) == (Route.OCR, RouteReason.IMAGE_ONLY)
    assert route_of(3) == (Route.OCR, RouteReason.NO_TEXT_LAYER)
    assert route_of(4) == (Route.TXT, RouteReason.TEXT_LAYER)  # hidden OCR layer is trusted


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(("dpi", "size"), [(72, (612, 792)), (144, (1224, 1584))])
def test_render_page_image_sizes(layout_doc, dpi, size):
    data, effective = render_page_image(layout_doc[0], dpi, "png", 90, 50_000_000)
    assert effective == dpi
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.size == size and image.mode == "RGB"


def test_render_rotated_page_and_jpeg_and_pixel_cap(layout_doc):
    data, _ = render_page_image(layout_doc[1], 72, "jpeg", 80, 50_000_000)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (792, 612)
    data, effective = render_page_image(layout_doc[0], 144, "png", 90, 100_000)
    with Image.open(io.BytesIO(data)) as image:
        assert image.width * image.height <= 100_000
        assert image.width == pytest.approx(612 * effective / 72, abs=1)
    assert effective == pytest.approx(72 * (100_000 / (612 * 792)) ** 0.5, abs=0.5)


def test_tex_style_doubled_single_quotes_become_double_quotes():
    def draw(c):
        c.setFont("Times-Roman", 10)
        c.drawString(72, 700, "The term \u2018\u2018corporate\u2019\u2019 is vague.")

    data = _pdf_bytes(draw)
    document = open_pdf(data)
    assert [s.text for s in _spans_of(document, 0)] == ["The term \u201ccorporate\u201d is vague."]
