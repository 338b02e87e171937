"""Office, web, e-book and delimited-text documents converted natively to docray's blocks.

``ingest`` sniffs these formats from their bytes (:mod:`.sniff`); ``render`` hands such a document to
:func:`converted_page_fields` instead of rendering it, so it skips page images, layout, OCR, tables
and crops (those stages pass over pages without an image) and ``assemble`` turns its blocks into
page layouts (:mod:`.layout`) for the shared Markdown / content_list / middle.json writers.

One module per format, each a function ``convert(data) -> list[ConvertedPage]``:

=========  =====================  ===================================================================
kind       module                 what a page is
=========  =====================  ===================================================================
docx       :mod:`.word`           the text between hard page breaks (``w:br type=page``, page-break-before,
                                  a section that starts a new page); one page for most documents
pptx       :mod:`.powerpoint`     a slide (its shapes keep their boxes, in points)
xlsx       :mod:`.excel`          a worksheet (chart sheets included, as empty pages)
html       :mod:`.web`            the whole document
epub       :mod:`.ebook`          a spine item (a chapter file), in reading order
odt        :mod:`.opendocument`   the whole text document (soft page breaks are layout, not structure)
ods        :mod:`.opendocument`   a sheet
odp        :mod:`.opendocument`   a slide (draw:page)
csv        :mod:`.delimited`      the whole file (one table)
=========  =====================  ===================================================================
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Iterator

from docray.operators.base import DocrayError
from docray.operators.convert.blocks import ConvertedPage
from docray.schema import DocKind, ErrorCode, Route, RouteReason, Status

CONVERTERS: dict[DocKind, str] = {
    DocKind.DOCX: "word",
    DocKind.PPTX: "powerpoint",
    DocKind.XLSX: "excel",
    DocKind.HTML: "web",
    DocKind.EPUB: "ebook",
    DocKind.ODT: "opendocument",
    DocKind.ODS: "opendocument",
    DocKind.ODP: "opendocument",
    DocKind.CSV: "delimited",
}


def converter(kind: DocKind) -> Callable[[bytes], list[ConvertedPage]]:
    """The ``convert`` function of ``kind``'s module (imported on first use: each pulls its own library)."""
    module = importlib.import_module(f"{__name__}.{CONVERTERS[kind]}")
    if kind in (DocKind.ODT, DocKind.ODS, DocKind.ODP):
        return lambda data: module.convert(data, kind)
    return module.convert


def convert_document(kind: DocKind, data: bytes) -> list[ConvertedPage]:
    """The pages of a converted document; raises :class:`DocrayError` (``convert_failed``) when it cannot be read."""
    try:
        pages = converter(kind)(data)
    except DocrayError:
        raise
    except Exception as exc:
        raise DocrayError(ErrorCode.CONVERT_FAILED, f"cannot read the {kind.value} document: {type(exc).__name__}: {exc}") from exc
    return pages or [ConvertedPage()]


def converted_page_fields(kind: str, data: bytes, page_range: Callable[[int], Iterable[int]]) -> Iterator[dict[str, Any]]:
    """Render's page fields for a converted document: no image, no spans, its blocks and image files."""
    pages = convert_document(DocKind(kind), data)
    for page_idx in page_range(len(pages)):  # raises empty_page_range / too_many_pages as for a PDF
        page = pages[page_idx]
        yield {
            "num_pages": len(pages),
            "page_idx": page_idx,
            "width": page.width,
            "height": page.height,
            "rotation": 0,
            "image": None,
            "route": Route.TXT.value,
            "route_reason": RouteReason.CONVERTED.value,
            "num_chars": page.text_chars,
            "garbled_ratio": 0.0,
            "image_coverage": 0.0,
            "spans": [],
            "image_boxes": [],
            "converted_blocks": [b.to_row() for block in page.blocks + page.discarded for b in (block, *block.children)],
            "converted_images": [{"path": name, "data": data} for name, data in page.images.items()],
            "status": Status.OK.value,
            "error": None,
            "error_code": None,
        }
