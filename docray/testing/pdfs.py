"""Synthetic documents for tests, samples and benchmarks: good PDFs, images and bad inputs.

Everything here returns ``bytes`` built on the spot (reportlab and Pillow; reportlab is imported
lazily, ``pip install 'docray[dev]'``), so tests never depend on files checked into the repository.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from docray.schema import ErrorCode
from docray.testing.article import HEADER_TEXT, HYPHENATION, SyntheticDoc, two_column_article

__all__ = [
    "HEADER_TEXT",
    "HYPHENATION",
    "SyntheticDoc",
    "corrupt_pdf",
    "empty_file",
    "encrypt_pdf",
    "encrypted_pdf",
    "image_file",
    "not_a_pdf",
    "scanned_page",
    "simple_pdf",
    "text_pdf",
    "text_image",
    "truncated_pdf",
    "two_column_article",
    "write_bad_inputs",
    "zero_page_pdf",
]

DEFAULT_SCAN_LINES = (
    "Scanned Page Heading",
    "This page is an image of text with no text layer.",
    "Optical character recognition has to read it.",
)
LETTER = (612.0, 792.0)


def _canvas_module():
    try:
        from reportlab.pdfgen import canvas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("docray.testing needs reportlab: pip install 'docray[dev]'") from exc
    return canvas


def simple_pdf(pages: int = 2, *, text: str = "Hello from page {page}", encrypt: str | None = None) -> bytes:
    """A small text PDF, one line per page (``{page}`` is replaced by the 1-based page number)."""
    buffer = io.BytesIO()
    pdf = _canvas_module().Canvas(buffer, pagesize=LETTER, invariant=1, encrypt=encrypt)
    for page in range(1, pages + 1):
        pdf.setFont("Helvetica", 14)
        pdf.drawString(72, 720, text.format(page=page))
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# --------------------------------------------------------------------------- images


def _font(pixels: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=pixels)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, ImportError):
        for candidate in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "Arial.ttf"):
            try:
                return ImageFont.truetype(candidate, pixels)
            except OSError:
                continue
        return ImageFont.load_default()


def text_image(lines: list[str] | tuple[str, ...], size: tuple[int, int], *, font_px: int, margin_px: int):
    """A white grayscale PIL image with ``lines`` of black text from the top-left margin."""
    from PIL import Image, ImageDraw

    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = _font(font_px)
    y = margin_px
    for line in lines:
        draw.text((margin_px, y), line, fill=0, font=font)
        y += int(font_px * 1.5)
    return image


def scanned_page(text_lines: list[str] | tuple[str, ...] = DEFAULT_SCAN_LINES, *, dpi: int = 150) -> bytes:
    """A one-page PDF that is only an image of rendered text (a scan: no text layer)."""
    from reportlab.lib.utils import ImageReader

    width_px, height_px = round(LETTER[0] / 72 * dpi), round(LETTER[1] / 72 * dpi)
    image = text_image(text_lines, (width_px, height_px), font_px=round(14 / 72 * dpi), margin_px=dpi)
    buffer = io.BytesIO()
    pdf = _canvas_module().Canvas(buffer, pagesize=LETTER, invariant=1)
    pdf.drawImage(ImageReader(image), 0, 0, width=LETTER[0], height=LETTER[1])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


_IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "tiff": "TIFF", "tif": "TIFF", "webp": "WEBP"}


def image_file(
    fmt: str = "png",
    *,
    text_lines: list[str] | tuple[str, ...] = DEFAULT_SCAN_LINES,
    size: tuple[int, int] = (850, 1100),
) -> bytes:
    """An RGB page image with text, encoded as ``png``, ``jpeg``, ``tiff`` or ``webp``."""
    try:
        pil_format = _IMAGE_FORMATS[fmt.lower()]
    except KeyError:
        raise ValueError(f"unsupported image format {fmt!r}; use one of {sorted(_IMAGE_FORMATS)}") from None
    image = text_image(text_lines, size, font_px=max(12, size[0] // 40), margin_px=size[0] // 12).convert("RGB")
    buffer = io.BytesIO()
    options = {"compression": "tiff_deflate"} if pil_format == "TIFF" else {}
    try:
        image.save(buffer, format=pil_format, **options)
    except (OSError, ValueError):  # Pillow without libtiff: uncompressed TIFF
        buffer = io.BytesIO()
        image.save(buffer, format=pil_format)
    return buffer.getvalue()


# --------------------------------------------------------------------------- bad inputs


def corrupt_pdf() -> bytes:
    """A ``%PDF-`` header followed by garbage: sniffs as PDF, no PDF reader can open it."""
    noise = random.Random(7).randbytes(2048)
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + noise.replace(b"obj", b"xxx").replace(b"trailer", b"xxxxxxx")


def truncated_pdf() -> bytes:
    """The first 40% of a valid multi-page PDF (cut before its cross-reference table)."""
    whole = two_column_article(3).pdf
    return whole[: int(len(whole) * 0.4)]


def encrypt_pdf(data: bytes, password: str) -> bytes:
    """A copy of the PDF ``data`` that opens only with ``password`` (AES-256, written by pypdf)."""
    import io

    import pypdf

    writer = pypdf.PdfWriter()
    writer.append(pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_pdf(word: str) -> bytes:
    """A one-page PDF with a title and two body lines naming ``word`` (text that survives furniture removal)."""
    from docray.testing.corpus import minimal_pdf

    return minimal_pdf([[f"{word} Report", f"The {word} body line says hello to the reader.", f"More {word} text."]])


def encrypted_pdf(password: str = "secret") -> bytes:
    """A PDF that opens only with ``password`` (user password)."""
    return simple_pdf(1, text="This text is encrypted", encrypt=password)


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty (``/Count 0``), written by hand.

    pypdf opens it with 0 pages.  pdfium refuses to load *any* zero-page document (it does so even
    for one it saved itself) and leaves ``FPDF_GetLastError`` unset or stale, so a reader must not
    take pdfium's error code for this file at face value.
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    return serialize_pdf(objects)


def serialize_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF file from its object bodies (object ``i + 1`` is ``objects[i]``) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def not_a_pdf() -> bytes:
    """A plain-text error body (what a web server may return instead of a PDF), to be saved as ``.pdf``.

    Plain text of one line is no format docray reads (an HTML page would be: ingest sniffs it as HTML
    whatever its name, :mod:`docray.operators.convert.sniff`)."""
    return b"404 Not Found: the requested document was not found on this server.\n"


def empty_file() -> bytes:
    return b""


def write_bad_inputs(directory: str | Path, *, max_bytes: int | None = None) -> dict[str, ErrorCode]:
    """Write each bad input as ``<name>.pdf`` in ``directory``; return ``{name: expected error code}``.

    ``name`` is the file stem (the ``name`` column docray gives it).  With ``max_bytes``, also write
    ``oversized.pdf``, a valid PDF padded to ``max_bytes + 1`` bytes (``too_large``).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "corrupt": (corrupt_pdf(), ErrorCode.CORRUPT),
        "truncated": (truncated_pdf(), ErrorCode.CORRUPT),
        "encrypted": (encrypted_pdf(), ErrorCode.ENCRYPTED),
        "zero_pages": (zero_page_pdf(), ErrorCode.ZERO_PAGES),
        "not_a_pdf": (not_a_pdf(), ErrorCode.UNSUPPORTED_FORMAT),
        "empty": (empty_file(), ErrorCode.EMPTY_FILE),
    }
    if max_bytes is not None:
        largest = max(len(data) for data, _ in files.values())
        if max_bytes < largest:
            raise ValueError(f"max_bytes={max_bytes} would make other bad inputs too large too (largest: {largest})")
        valid = simple_pdf(1)
        files["oversized"] = (valid + b"%" * (max_bytes + 1 - len(valid)), ErrorCode.TOO_LARGE)
    for name, (data, _) in files.items():
        (directory / f"{name}.pdf").write_bytes(data)
    return {name: code for name, (_, code) in files.items()}
