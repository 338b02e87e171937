"""Opening PDFs (error classification) and image documents as pages: real files, real pdfium and PIL."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from docray.operators.base import DocrayError
from docray.operators.textlayer.extract import extract_spans, image_pages, open_pdf
from docray.schema import ErrorCode


def _pdf_bytes(draw, encrypt: str | None = None) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(612, 792), encrypt=encrypt)
    draw(c)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _texts(document, index: int = 0) -> list[str]:
    page = document[index]
    textpage = page.get_textpage()
    try:
        return [span.text for span in extract_spans(page, textpage)]
    finally:
        textpage.close()
        page.close()


# --------------------------------------------------------------------------- opening


def _plain_pdf() -> bytes:
    return _pdf_bytes(lambda c: c.drawString(72, 700, "hello world"))


def test_good_pdf_opens():
    document = open_pdf(_plain_pdf())
    assert len(document) == 1 and _texts(document) == ["hello world"]
    document.close()


def _error_code(data: bytes, password: str | None = None) -> tuple[ErrorCode, str]:
    with pytest.raises(DocrayError) as caught:
        open_pdf(data, password)
    return caught.value.code, str(caught.value)


def test_encrypted_pdf_needs_the_right_password():
    data = _pdf_bytes(lambda c: c.drawString(72, 700, "secret"), encrypt="pw")
    code, message = _error_code(data)
    assert code == ErrorCode.ENCRYPTED and "password" in message
    code, message = _error_code(data, "wrong")
    assert code == ErrorCode.ENCRYPTED and "wrong" in message
    document = open_pdf(data, "pw")
    assert _texts(document) == ["secret"]
    document.close()


def test_corrupt_inputs_are_classified():
    data = _plain_pdf()
    code, message = _error_code(data[: len(data) // 2])
    assert code == ErrorCode.CORRUPT and "truncated" in message
    code, message = _error_code(b"%PDF-1.7\n" + np.random.default_rng(1).bytes(4000))
    assert code == ErrorCode.CORRUPT
    code, message = _error_code(b"hello, this is not a pdf at all")
    assert code == ErrorCode.CORRUPT and "not a PDF" in message


def test_zero_page_pdf():
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    assert len(PdfReader(io.BytesIO(buffer.getvalue())).pages) == 0
    code, message = _error_code(buffer.getvalue())
    assert code == ErrorCode.ZERO_PAGES


# --------------------------------------------------------------------------- image documents


def _encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def test_image_page_size_from_dpi_metadata():
    page = image_pages(_encoded(Image.new("RGB", (600, 300), "white"), "PNG", dpi=(300, 300)))[0]
    assert (page.width, page.height) == pytest.approx((144, 72), abs=0.1)
    assert page.image_dpi == pytest.approx(300, abs=0.1)
    assert (page.page_idx, page.num_pages) == (0, 1)
    with Image.open(io.BytesIO(page.image)) as image:
        assert image.format == "PNG" and image.size == (600, 300)


def test_image_without_dpi_is_one_point_per_pixel_and_rgba_is_flattened():
    rgba = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    page = image_pages(_encoded(rgba, "PNG"), "jpeg")[0]
    assert (page.width, page.height, page.image_dpi) == (120, 80, 72)
    with Image.open(io.BytesIO(page.image)) as image:
        assert image.format == "JPEG" and image.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=3)


def test_multi_frame_tiff_pages_and_selection_and_downscale():
    frames = [Image.new("L", (200, 100), shade) for shade in (0, 128, 255)]
    data = _encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(144, 144))
    pages = image_pages(data)
    assert [p.page_idx for p in pages] == [0, 1, 2] and all(p.num_pages == 3 for p in pages)
    assert pages[0].width == pytest.approx(100)
    picked = image_pages(data, select=lambda n: range(1, 2), max_pixels=5000)
    assert [p.page_idx for p in picked] == [1]
    with Image.open(io.BytesIO(picked[0].image)) as image:
        assert image.width * image.height <= 5000 and image.getpixel((3, 3)) == pytest.approx(128, abs=2)
    assert picked[0].width == pytest.approx(100) and picked[0].image_dpi < 144


def test_corrupt_image_raises_corrupt():
    data = _encoded(Image.new("RGB", (50, 50)), "PNG")
    with pytest.raises(DocrayError) as caught:
        image_pages(data[:40])
    assert caught.value.code == ErrorCode.CORRUPT
