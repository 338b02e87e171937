"""Page images: rendering PDF pages with pdfium, and image documents (PNG/JPEG/TIFF/WebP) as pages."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from docray.operators.base import DocrayError
from docray.schema import ErrorCode

ImageFormat = Literal["png", "jpeg"]
POINTS_PER_INCH = 72.0
DEFAULT_IMAGE_DPI = 72.0  # an image without resolution metadata: 1 pixel = 1 point
_PLAUSIBLE_DPI = (20.0, 4800.0)
PNG_COMPRESS_LEVEL = 3  # zlib level: 3 is several times faster than PIL's 6 for ~10% larger files


def fitted_scale(width: float, height: float, scale: float, max_pixels: int) -> float:
    """``scale`` lowered, if needed, so that a ``width`` x ``height`` page renders within ``max_pixels``."""
    if width <= 0 or height <= 0:
        return scale
    pixels = math.ceil(width * scale) * math.ceil(height * scale)
    if pixels <= max_pixels:
        return scale
    fitted = math.sqrt(max_pixels / (width * height))
    while fitted > 0 and math.ceil(width * fitted) * math.ceil(height * fitted) > max_pixels:
        fitted *= 0.999
    return fitted


def encode_image(image: Image.Image, image_format: ImageFormat, jpeg_quality: int = 90) -> bytes:
    """``image`` encoded as PNG or JPEG bytes."""
    out = io.BytesIO()
    if image_format == "jpeg":
        image.convert("RGB").save(out, format="JPEG", quality=jpeg_quality)
    elif image_format == "png":
        image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        raise ValueError(f"unknown image format {image_format!r}; use 'png' or 'jpeg'")
    return out.getvalue()


def render_page_image(
    page: pdfium.PdfPage, dpi: float, image_format: ImageFormat, jpeg_quality: int, max_pixels: int
) -> tuple[bytes, float]:
    """The page rendered in colour as displayed (``/Rotate`` applied) at ``dpi``, encoded.

    Returns ``(encoded bytes, effective dpi)``; the dpi is lower than asked when the page at
    ``dpi`` would exceed ``max_pixels`` pixels.
    """
    width, height = page.get_size()
    scale = fitted_scale(width, height, dpi / POINTS_PER_INCH, max_pixels)
    bitmap = page.render(scale=scale, may_draw_forms=True)
    try:
        image = bitmap.to_pil()
        return encode_image(image, image_format, jpeg_quality), scale * POINTS_PER_INCH
    finally:
        bitmap.close()


@dataclass(slots=True)
class ImagePage:
    """One frame of an image document, as a page."""

    page_idx: int
    num_pages: int  # frames in the image
    width: float  # points
    height: float
    image: bytes | None  # encoded page image, None when no image is wanted
    image_dpi: float


def image_pages(
    data: bytes,
    image_format: ImageFormat | Literal["none"] = "png",
    jpeg_quality: int = 90,
    max_pixels: int = 25_000_000,
    select: Callable[[int], range] | None = None,
) -> list[ImagePage]:
    """The pages of an image document: every frame of a multi-frame TIFF/WebP/GIF is a page.

    ``select(num_frames)`` picks the frames to decode (all by default; it may raise
    :class:`DocrayError`, e.g. for too many pages).  Page size in points comes from the image's
    resolution metadata (``dpi``); without it (or with an implausible one) the image is taken as
    72 dpi, so one pixel is one point, as when an image is wrapped into a PDF page.  EXIF
    orientation is applied.  The image keeps its own resolution and is re-encoded in
    ``image_format``; it is scaled down only to fit ``max_pixels`` (``image_dpi`` then says the
    resolution it has).  An undecodable image raises :class:`DocrayError` (CORRUPT).
    """
    try:
        with Image.open(io.BytesIO(data)) as source:
            num_frames = getattr(source, "n_frames", 1)
            selected = select(num_frames) if select is not None else range(num_frames)
            dpi = _resolution(source.info.get("dpi"))
            pages = []
            for index in selected:
                source.seek(index)
                page = _frame_page(source, dpi, image_format, jpeg_quality, max_pixels)
                pages.append(ImagePage(index, num_frames, *page))
            return pages
    except DocrayError:
        raise
    except Image.DecompressionBombError as exc:
        raise DocrayError(ErrorCode.TOO_LARGE, f"the image is too large to decode safely: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DocrayError(ErrorCode.CORRUPT, f"the image cannot be decoded: {exc}") from None


def _resolution(dpi: object) -> float:
    try:
        value = float(dpi[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return DEFAULT_IMAGE_DPI
    low, high = _PLAUSIBLE_DPI
    # rounded: PNG stores pixels per metre, so 144 dpi reads back as 143.9928
    return round(value, 1) if low <= value <= high else DEFAULT_IMAGE_DPI


def _frame_page(
    frame: Image.Image, dpi: float, image_format: str, jpeg_quality: int, max_pixels: int
) -> tuple[float, float, bytes | None, float]:
    """``(width, height, encoded image, image dpi)`` of the current frame."""
    image = _to_rgb(ImageOps.exif_transpose(frame))
    width_pt = image.width * POINTS_PER_INCH / dpi
    height_pt = image.height * POINTS_PER_INCH / dpi
    scale = fitted_scale(image.width, image.height, 1.0, max_pixels)
    if scale < 1.0:
        size = (max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    effective_dpi = image.width / (width_pt / POINTS_PER_INCH)
    encoded = None if image_format == "none" else encode_image(image, image_format, jpeg_quality)  # type: ignore[arg-type]
    return width_pt, height_pt, encoded, effective_dpi


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB (or L for grayscale) pixels; transparency flattened onto white."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit grayscale
        values = np.asarray(image.convert("I"), dtype=np.int64)
        top = max(1, int(values.max()))
        shift = max(0, top.bit_length() - 8)
        return Image.fromarray((values >> shift).clip(0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("1",):
        return image.convert("L")
    return image.convert("RGB")
