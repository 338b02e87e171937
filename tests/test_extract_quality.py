"""Text quality and routing: pure functions, and pages whose text layer does not decode (real pdfium)."""

from __future__ import annotations

import pytest

from docray.datamodel import Span
from docray.operators.textlayer.extract import (
    open_pdf,
    page_spans,
    route_page,
    text_quality,
)
from docray.schema import ParseMethod, Route, RouteReason
from docray.testing.pdfs import serialize_pdf


def _spans_of(document, index: int) -> list[Span]:
    return page_spans(document[index])


def test_text_quality_counts_replacement_private_use_control_and_cid():
    spans = [
        Span("good text", (0, 0, 1, 1)),
        Span("\ufffd\ue000 x", (0, 0, 1, 1)),
        Span("(cid:12)", (0, 0, 1, 1)),
    ]
    num_chars, garbled = text_quality(spans)
    assert num_chars == 8 + 3 + 8
    assert garbled == pytest.approx((2 + 8) / 19)
    assert text_quality([]) == (0, 0.0)


def _raw_pdf(font: bytes, text: bytes) -> bytes:
    """A one-page PDF written by hand: ``text`` (a PDF string body) shown in ``font`` at 12 pt."""
    content = b"BT /F1 12 Tf 72 700 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        font,
    ]
    return serialize_pdf(objects)


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
# A Type3 font whose glyph names mean nothing: pdfium cannot map any of its codes to Unicode.
OPAQUE_TYPE3 = (
    b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0]"
    b" /CharProcs << >> /Encoding << /Type /Encoding /Differences [32 /g32 /g33 /g34 /g35] >>"
    b" /FirstChar 32 /LastChar 122 /Widths [" + b"500 " * 91 + b"] >>"
)


def test_unmappable_codes_become_replacement_characters():
    document = open_pdf(_raw_pdf(HELVETICA, b"ab\\001\\002cd"))
    spans = _spans_of(document, 0)
    document.close()
    assert [s.text for s in spans] == ["ab\ufffd\ufffdcd"]
    assert text_quality(spans) == (6, pytest.approx(2 / 6))


def test_page_in_an_unmappable_font_routes_to_ocr():
    document = open_pdf(_raw_pdf(OPAQUE_TYPE3, b"abcdefgh ijklmnop qrstuvwxyz abcdefgh"))
    spans = _spans_of(document, 0)
    chars, garbled = text_quality(spans)
    document.close()
    assert chars >= 30 and garbled > 0.9
    assert route_page(ParseMethod.AUTO, chars, garbled, 0.0) == (Route.OCR, RouteReason.GARBLED_TEXT)


@pytest.mark.parametrize(
    ("method", "chars", "garbled", "coverage", "expected"),
    [
        (ParseMethod.TXT, 0, 0.9, 1.0, (Route.TXT, RouteReason.FORCED)),
        (ParseMethod.OCR, 5000, 0.0, 0.0, (Route.OCR, RouteReason.FORCED)),
        (ParseMethod.AUTO, 0, 0.0, 0.0, (Route.OCR, RouteReason.NO_TEXT_LAYER)),
        (ParseMethod.AUTO, 0, 0.0, 0.95, (Route.OCR, RouteReason.IMAGE_ONLY)),
        (ParseMethod.AUTO, 20, 0.0, 0.95, (Route.OCR, RouteReason.IMAGE_ONLY)),
        (ParseMethod.AUTO, 800, 0.01, 0.95, (Route.TXT, RouteReason.TEXT_LAYER)),  # scan + OCR layer
        (ParseMethod.AUTO, 800, 0.5, 0.0, (Route.OCR, RouteReason.GARBLED_TEXT)),
        (ParseMethod.AUTO, 800, 0.05, 0.3, (Route.TXT, RouteReason.TEXT_LAYER)),
    ],
)
def test_route_page(method, chars, garbled, coverage, expected):
    assert route_page(method, chars, garbled, coverage) == expected
