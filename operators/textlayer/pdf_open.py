"""Opening PDF bytes with pdfium, with every failure classified as a :class:`DocrayError`.

pdfium reports why a document does not load through ``FPDF_GetLastError`` (pypdfium2 puts it on
``PdfiumError.err_code``):

* ``FPDF_ERR_PASSWORD`` -> :attr:`ErrorCode.ENCRYPTED` (a password is needed, or the one given is wrong)
* ``FPDF_ERR_SECURITY`` -> :attr:`ErrorCode.ENCRYPTED` (an unsupported security handler)
* ``FPDF_ERR_FORMAT`` / ``FPDF_ERR_FILE`` / ``FPDF_ERR_UNKNOWN`` -> :attr:`ErrorCode.CORRUPT`, with a
  hint when the bytes show why (no ``%PDF-`` header; no ``%%EOF`` marker, i.e. truncated)
* a document with no pages: pdfium refuses to load a page tree with ``/Count 0`` (it fails with
  ``FPDF_ERR_SUCCESS`` or ``FPDF_ERR_FORMAT``), so a failed load whose bytes hold a page tree and
  no page object is :attr:`ErrorCode.ZERO_PAGES`; so is a document that loads with 0 pages.
"""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docray.operators.base import DocrayError
from docray.schema import ErrorCode

PASSWORD_HINT = "give it with --password PASSWORD, or per document with --password-file FILE or a manifest's password column"
_HEADER_WINDOW = 1024  # the PDF spec lets a header start after some leading junk
_EOF_WINDOW = 2048  # "%%EOF" sits at the end, maybe followed by a little junk
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_EMPTY_PAGE_TREE = re.compile(rb"/Type\s*/Pages(?![A-Za-z])")
_ZERO_COUNT = re.compile(rb"/Count\s+0(?![0-9])")


def open_pdf(data: bytes, password: str | None = None) -> pdfium.PdfDocument:
    """Open PDF bytes; raise :class:`DocrayError` (ENCRYPTED, CORRUPT or ZERO_PAGES) if they do not load.

    The caller owns the returned document and must ``close()`` it.
    """
    try:
        document = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        raise _classify_load_error(data, exc, password) from None
    if len(document) == 0:
        document.close()
        raise DocrayError(ErrorCode.ZERO_PAGES, "the PDF has no pages")
    return document


def _classify_load_error(data: bytes, exc: pdfium.PdfiumError, password: str | None) -> DocrayError:
    code = exc.err_code
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        if password:
            return DocrayError(ErrorCode.ENCRYPTED, f"the PDF is encrypted and the password given is wrong; {PASSWORD_HINT}")
        return DocrayError(ErrorCode.ENCRYPTED, f"the PDF is encrypted and needs a password; {PASSWORD_HINT}")
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return DocrayError(ErrorCode.ENCRYPTED, "the PDF uses an unsupported security handler")
    if _looks_like_zero_pages(data):
        return DocrayError(ErrorCode.ZERO_PAGES, "the PDF has no pages (its page tree is empty)")
    return DocrayError(ErrorCode.CORRUPT, f"not a valid PDF: {_corruption_hint(data, code)}")


def _looks_like_zero_pages(data: bytes) -> bool:
    """A page tree node with ``/Count 0`` and no ``/Type /Page`` object anywhere in the bytes."""
    return (
        _EMPTY_PAGE_TREE.search(data) is not None
        and _ZERO_COUNT.search(data) is not None
        and _PAGE_OBJECT.search(data) is None
    )


def _corruption_hint(data: bytes, code: int | None) -> str:
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        return "no %PDF- header (the file is not a PDF)"
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        return "no %%EOF marker at the end (the file looks truncated) and pdfium cannot repair it"
    if code == pdfium_c.FPDF_ERR_FILE:
        return "pdfium could not read the file"
    if code == pdfium_c.FPDF_ERR_FORMAT:
        return "pdfium reports a format error (damaged cross-reference table or objects)"
    return f"pdfium could not load it (error code {code})"
