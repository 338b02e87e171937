"""PDFs that take pdfium a long time, for render timeouts and benchmarks (written byte by byte, no reportlab).

A heavy page holds many tiny text runs (pdfium's text extraction and docray's span grouping walk
every character) and many hair-line paths (pdfium's rasteriser draws every one); its content
stream repeats one block, so it compresses to a few kilobytes and is built in milliseconds.
"""

from __future__ import annotations

import zlib

from docray.testing.pdfs import serialize_pdf

LETTER = (612, 792)
_BLOCK_LINES = 100


def heavy_page_content(text_runs: int = 250_000, paths: int = 200_000) -> bytes:
    """A content stream of ``text_runs`` two-letter runs in 2 pt Helvetica and ``paths`` hair lines."""
    runs = b"".join(b"1 0 0 1 %d %d Tm (ab) Tj\n" % (i * 6 % 600, i * 7 % 780) for i in range(_BLOCK_LINES))
    lines = b"".join(
        b"%d %d m %d %d l S\n" % (i * 6 % 600, i * 7 % 780, i * 13 % 600, i * 3 % 780) for i in range(_BLOCK_LINES)
    )
    text = b"BT /F1 2 Tf\n" + runs * (text_runs // _BLOCK_LINES) + b"ET\n" if text_runs else b""
    drawing = b"0.1 w\n" + lines * (paths // _BLOCK_LINES) if paths else b""
    return text + drawing


def light_page_content(text: str) -> bytes:
    """A content stream with one line of 14 pt Helvetica text (ASCII)."""
    escaped = text.encode("ascii").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"BT /F1 14 Tf 72 720 Td (" + escaped + b") Tj ET\n"


def pdf_of_pages(contents: list[bytes], size: tuple[float, float] = LETTER) -> bytes:
    """A PDF with one page per content stream (Flate-compressed), Helvetica as /F1, a valid xref table."""
    n = len(contents)
    font_obj, first_page = 3, 4  # 1: catalog, 2: page tree, 3: font, then a page and its stream per page
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, content in enumerate(contents):
        stream = zlib.compress(content, 6)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>"
            % (size[0], size[1], first_page + 2 * i + 1, font_obj)
        )
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return serialize_pdf(objects)


def slow_pdf(text_runs: int = 250_000, paths: int = 200_000) -> bytes:
    """One heavy page: many seconds for pdfium with or without page images (see the module docstring)."""
    return pdf_of_pages([heavy_page_content(text_runs, paths)])


def pdf_with_slow_page(before: int = 2, after: int = 1, text_runs: int = 250_000, paths: int = 200_000) -> bytes:
    """``before`` light pages, one heavy page (index ``before``), ``after`` light pages."""
    light = [light_page_content(f"Light page {i}") for i in range(before + 1 + after)]
    light[before] = heavy_page_content(text_runs, paths)
    return pdf_of_pages(light)
