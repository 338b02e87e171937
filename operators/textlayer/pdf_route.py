"""Per-page routing: use the PDF's text layer, or OCR the rendered page image."""

from __future__ import annotations

from docray.schema import ParseMethod, Route, RouteReason

DEFAULT_MIN_CHARS = 10
DEFAULT_MAX_GARBLED_RATIO = 0.1
DEFAULT_SCAN_COVERAGE = 0.8
DEFAULT_SCAN_MAX_CHARS = 50


def route_page(
    method: ParseMethod,
    num_chars: int,
    garbled_ratio: float,
    image_coverage: float,
    *,
    min_chars: int = DEFAULT_MIN_CHARS,
    max_garbled_ratio: float = DEFAULT_MAX_GARBLED_RATIO,
    scan_coverage: float = DEFAULT_SCAN_COVERAGE,
    scan_max_chars: int = DEFAULT_SCAN_MAX_CHARS,
) -> tuple[Route, RouteReason]:
    """How to get a page's text, and why.

    ``method`` ``txt`` / ``ocr`` force the route.  With ``auto``, in this order:

    1. fewer than ``min_chars`` text-layer characters: OCR; ``IMAGE_ONLY`` if images cover at least
       ``scan_coverage`` of the page, else ``NO_TEXT_LAYER`` (text drawn as vector outlines has
       no characters either, so OCR is the only way to read it);
    2. images cover at least ``scan_coverage`` of the page and there are fewer than
       ``scan_max_chars`` characters: a scan with a stray text line (a stamp, a page number):
       OCR, ``IMAGE_ONLY``.  A scan that carries a real hidden OCR layer has far more characters
       and, if that layer decodes cleanly, keeps ``TXT``: re-running OCR would redo the same work;
    3. more than ``max_garbled_ratio`` of the characters do not decode to real text
       (:mod:`docray.operators.textlayer.garbled`; the characters of any script or notation,
       Mathematical Alphanumeric Symbols included, always do): OCR, ``GARBLED_TEXT``.  0.1
       because a good page reaches a few percent at most (a bullet or a math glyph from a symbol
       font without a Unicode map), while a font whose glyphs do not map garbles every word it
       sets, i.e. far more than one character in ten;
    4. otherwise the text layer: ``TXT``, ``TEXT_LAYER``.
    """
    if method == ParseMethod.TXT:
        return Route.TXT, RouteReason.FORCED
    if method == ParseMethod.OCR:
        return Route.OCR, RouteReason.FORCED
    scanned = image_coverage >= scan_coverage
    if num_chars < min_chars:
        return Route.OCR, RouteReason.IMAGE_ONLY if scanned else RouteReason.NO_TEXT_LAYER
    if scanned and num_chars < scan_max_chars:
        return Route.OCR, RouteReason.IMAGE_ONLY
    if garbled_ratio > max_garbled_ratio:
        return Route.OCR, RouteReason.GARBLED_TEXT
    return Route.TXT, RouteReason.TEXT_LAYER
