"""One page of an uploaded document as a PNG, for the web page's layout view."""

from __future__ import annotations

import io

from docray.serve.limits import Refusal
from docray.storage import url_to_fs

PAGE_DPI = 96


def render_page(stored: str, mime: str, page: int, dpi: int = PAGE_DPI) -> bytes:
    """PNG of page ``page`` (0-based) of the stored upload; 404 past the last page, for an unreadable PDF, or for a
    converted (Office, web, e-book, CSV) document, which is read from its structure and has no page image."""
    from PIL import Image

    if mime != "application/pdf" and not mime.startswith("image/"):
        raise Refusal(404, f"a converted document ({mime}) has no page images; its Markdown and JSON hold its content")
    fs, path = url_to_fs(stored)
    data = fs.cat_file(path)
    if mime != "application/pdf":
        if page != 0:
            raise Refusal(404, "an image has one page")
        image = Image.open(io.BytesIO(data))
    else:
        import pypdfium2

        try:
            document = pypdfium2.PdfDocument(data)
        except Exception as exc:
            raise Refusal(404, f"the PDF cannot be opened: {exc}") from exc
        try:
            if not 0 <= page < len(document):
                raise Refusal(404, f"no page {page}")
            image = document[page].render(scale=dpi / 72).to_pil()
        finally:
            document.close()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()
