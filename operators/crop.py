"""``crop``: JPEG images of a page's figures, tables and display equations, cut from the page image.

Reads the page image (``image`` at ``image_dpi``) and the layout detections (``layout_blocks``);
writes ``crops``: one ``{type, bbox, data}`` per layout region whose type is in ``types``, where
``bbox`` is the region's box as detected (points, before padding, so that the assembler finds
the crop of a region by its box) and ``data`` the encoded JPEG of the region grown by ``padding``
points and clipped to the page.  ``image_body``/``table_body`` regions are cropped as
``image``/``table``.  Regions thinner than ``min_size`` points are skipped.  Pages without an image
or without layout detections get ``crops = []``; a page whose image cannot be decoded becomes an
error row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from docray.config import OperatorConfig
from docray.datamodel import BBox, Crop, LayoutBox
from docray.operators.base import Level, Operator, Row
from docray.operators.textlayer.regions import canonical_type
from docray.schema import BlockType

_DEFAULT_DPI = 144.0


class CropConfig(OperatorConfig):
    """Settings of the ``crop`` operator."""

    op: Literal["crop"] = "crop"
    types: list[BlockType] = Field(
        default_factory=lambda: [BlockType.IMAGE, BlockType.TABLE, BlockType.INTERLINE_EQUATION],
        description="layout region types to crop (image_body/table_body count as image/table)",
    )
    jpeg_quality: int = Field(90, ge=1, le=100, description="JPEG quality of the crops")
    padding: float = Field(0.0, ge=0, le=72, description="points added around each region before cropping")
    min_size: float = Field(4.0, ge=0, description="regions narrower or lower than this many points are not cropped")


@dataclass(frozen=True, slots=True)
class CropOptions:
    types: frozenset[BlockType] = frozenset({BlockType.IMAGE, BlockType.TABLE, BlockType.INTERLINE_EQUATION})
    jpeg_quality: int = 90
    padding: float = 0.0
    min_size: float = 4.0


def pixel_box(bbox: BBox, dpi: float, size: tuple[int, int], padding: float = 0.0) -> tuple[int, int, int, int] | None:
    """A box in points as a pixel box of an image at ``dpi`` (padded, clipped); None when empty."""
    scale = dpi / 72.0
    x0 = max(0, int((bbox[0] - padding) * scale))
    y0 = max(0, int((bbox[1] - padding) * scale))
    x1 = min(size[0], int(round((bbox[2] + padding) * scale)))
    y1 = min(size[1], int(round((bbox[3] + padding) * scale)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def crop_regions(image_bytes: bytes, dpi: float, regions: list[LayoutBox], options: CropOptions = CropOptions()) -> list[Crop]:
    """JPEG crops of the regions of the wanted types, in the order of ``regions``."""
    wanted = [
        (box, canonical_type(box.type))
        for box in regions
        if canonical_type(box.type) in options.types
        and box.bbox[2] - box.bbox[0] >= options.min_size
        and box.bbox[3] - box.bbox[1] >= options.min_size
    ]
    if not wanted:
        return []
    from PIL import Image

    with Image.open(io.BytesIO(image_bytes)) as opened:
        page = opened.convert("RGB")
    crops: list[Crop] = []
    for box, kind in wanted:
        pixels = pixel_box(box.bbox, dpi, page.size, options.padding)
        if pixels is None:
            continue
        out = io.BytesIO()
        page.crop(pixels).save(out, format="JPEG", quality=options.jpeg_quality)
        crops.append(Crop(type=kind, bbox=tuple(float(v) for v in box.bbox), data=out.getvalue()))  # type: ignore[arg-type]
    return crops


class CropOperator(Operator[CropConfig]):
    """Page images and layout regions -> JPEG crops of figures, tables and equations."""

    name: ClassVar[str] = "crop"
    Config: ClassVar[type[OperatorConfig]] = CropConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = ("image", "image_dpi", "layout_blocks", "status")
    writes: ClassVar[tuple[str, ...]] = ("crops",)

    def options(self) -> CropOptions:
        c = self.config
        return CropOptions(types=frozenset(c.types), jpeg_quality=c.jpeg_quality, padding=c.padding, min_size=c.min_size)

    def process_row(self, row: Row) -> Row:
        regions = [LayoutBox.from_row(b) for b in row.get("layout_blocks") or []]
        image: Any = row.get("image")
        if not image or not regions:
            return {**row, "crops": []}
        crops = crop_regions(bytes(image), float(row.get("image_dpi") or _DEFAULT_DPI), regions, self.options())
        return {**row, "crops": [{"type": c.type.value, "bbox": list(c.bbox), "data": c.data} for c in crops]}
