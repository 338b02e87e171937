"""``layout``: detect a page's layout regions (text, titles, figures, tables, equations, ...).

Every page image of a batch is decoded and the detector runs over all of them together; its boxes
(page-image pixels) become ``layout_blocks`` in PDF points (``pt = px * 72 / image_dpi``), clipped to
the page, each with its MinerU block type, score and the detector's own label.  Detector classes
that the model's ``block_types`` leaves out are dropped.  A page without an image becomes an error
row; rows already in error pass through with ``layout_blocks = []``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, ClassVar, Literal, Mapping, Sequence

import numpy as np
from pydantic import Field, field_validator

from docray.config import OperatorConfig
from docray.models import registry
from docray.models.layout_common import block_type_of
from docray.models.layout_picodet import PicoDetOptions
from docray.models.layout_yolo import YoloOptions
from docray.models.onnx import threads_for
from docray.models.protocols import Detection
from docray.operators.base import DocrayError, Level, Operator, Row, error_fields, is_error, share_timing
from docray.operators.convert.layout import is_converted
from docray.operators.page_image import decode_page_image
from docray.schema import BlockType, ErrorCode

LayoutModelOptions = Annotated[PicoDetOptions | YoloOptions, Field(discriminator="kind")]

NO_IMAGE_MESSAGE = "no page image: set render.image_format to png or jpeg"


class LayoutConfig(OperatorConfig):
    """Settings of the ``layout`` operator."""

    op: Literal["layout"] = "layout"
    model: LayoutModelOptions = Field(
        default_factory=PicoDetOptions, description="layout detector ('kind': picodet_cdla or yolo_onnx) and its options"
    )
    min_score: float = Field(
        0.0, ge=0, le=1, description="drop boxes scoring below this (on top of the model's own score_threshold)"
    )

    @field_validator("model", mode="before")
    @classmethod
    def _default_kind(cls, value: object) -> object:
        """``model: {score_threshold: 0.4}`` (e.g. from ``--set layout.model.score_threshold=0.4``) means the default engine."""
        if isinstance(value, dict) and "kind" not in value:
            return {"kind": PicoDetOptions().kind, **value}
        return value



def points_per_pixel(image_dpi: float | None, page_width: float | None, image_width: int) -> float:
    """The PDF points one image pixel spans: from the render dpi, else from the page and image widths."""
    if image_dpi:
        return 72.0 / float(image_dpi)
    if page_width and image_width:
        return float(page_width) / image_width
    raise ValueError("the page has neither image_dpi nor a width to scale its image to points")


def layout_boxes(
    detections: Sequence[Detection],
    block_types: Mapping[str, BlockType],
    scale: float,
    page_size: tuple[float, float],
    min_score: float = 0.0,
) -> list[dict[str, Any]]:
    """LAYOUT_BOX records (points, clipped to ``page_size`` ``(width, height)``) of one page's detections.

    Detections below ``min_score``, of classes ``block_types`` leaves out, or with no area left
    after clipping are dropped.
    """
    width, height = page_size
    out = []
    for det in detections:
        block_type = block_type_of(det.label, block_types)
        if block_type is None or det.score < min_score:
            continue
        x0, y0, x1, y1 = (v * scale for v in det.box)
        x0, x1 = min(max(x0, 0.0), width), min(max(x1, 0.0), width)
        y0, y1 = min(max(y0, 0.0), height), min(max(y1, 0.0), height)
        if x1 <= x0 or y1 <= y0:
            continue
        out.append({"type": block_type.value, "bbox": [x0, y0, x1, y1], "score": det.score, "label": det.label})
    return out


class LayoutOperator(Operator[LayoutConfig]):
    """Page images to layout boxes in points (PicoDet-CDLA by default)."""

    name: ClassVar[str] = "layout"
    Config: ClassVar[type[OperatorConfig]] = LayoutConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = ("image", "image_dpi", "width", "height", "status")
    writes: ClassVar[tuple[str, ...]] = ("layout_blocks",)
    stateful: ClassVar[bool] = True

    def setup(self) -> None:
        self.model = registry.create("layout", self.config.model, threads=threads_for(self.config.resources.num_cpus))

    def process_rows(self, rows: list[Row]) -> list[Row]:
        start = time.perf_counter()
        out = [dict(row) for row in rows]
        pending: list[tuple[int, np.ndarray]] = []  # (row index, page image)
        for i, row in enumerate(out):
            row["layout_blocks"] = []
            if is_error(row) or is_converted(row):  # converted (Office/web/e-book) pages have their blocks already
                continue
            try:
                if not row.get("image"):
                    raise DocrayError(ErrorCode.RENDER_FAILED, NO_IMAGE_MESSAGE)
                pending.append((i, decode_page_image(bytes(row["image"]))))
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        for i, detections, image_width in self._detect(out, pending):
            row = out[i]
            try:
                scale = points_per_pixel(row.get("image_dpi"), row.get("width"), image_width)
                page_size = (float(row["width"]), float(row["height"]))
                row["layout_blocks"] = layout_boxes(detections, self.config.model.block_types, scale, page_size, self.config.min_score)
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        share_timing(rows, out, self.name, time.perf_counter() - start)
        return out

    def _detect(self, rows: list[Row], pending: list[tuple[int, np.ndarray]]) -> list[tuple[int, list[Detection], int]]:
        """``(row index, detections, image width)`` per page; a failing batch is retried page by page."""
        if not pending:
            return []
        try:
            results = self.model.detect([image for _, image in pending])
            return [(i, dets, image.shape[1]) for (i, image), dets in zip(pending, results)]
        except Exception:
            done = []
            for i, image in pending:
                try:
                    done.append((i, self.model.detect([image])[0], image.shape[1]))
                except Exception as exc:
                    rows[i].update(error_fields(self.name, exc))
            return done
