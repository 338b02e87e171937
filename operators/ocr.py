"""``ocr``: text lines of pages that need OCR, and of text regions that have no text layer.

* Pages routed to ``ocr`` are read whole (``mode: page``), or per layout region (``mode: regions``,
  when the row has ``layout_blocks``; else whole).
* Pages routed to ``txt`` get OCR only for layout text/title regions that hold no text-layer span
  (when the row has ``layout_blocks`` and ``spans``); otherwise ``ocr_lines`` is ``[]``.

All images of a batch go to the model in one call, so line recognition is batched across pages.
Lines are written in PDF points of the page as given: ``bbox`` (axis-aligned) and ``poly`` (the detector's
quad, corners in the text's own order).  The engine turns sideways or upside-down page images upright
before reading them; ``ocr_rotation`` records the clockwise turn (0/90/180/270) most lines were read at.

An engine whose weights are missing (an OCR language whose recogniser is not in the models directory)
fails only the pages that need OCR, each with an error row; pages that need none pass through.
:func:`engine_unavailable` tells the CLI before any work starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Sequence, Union

import numpy as np
from pydantic import Field, model_validator

from docray.config import OperatorConfig
from docray.datamodel import centre_inside
from docray.models.ocr_paddle import PaddleOcrOptions
from docray.models.ocr_ppocr import PpOcrOptions
from docray.models.protocols import RecognizedLine
from docray.models.weights import WeightNotFoundError
from docray.operators.base import DocrayError, Level, Operator, Row, error_fields, is_error, share_timing
from docray.operators.page_image import decode_page_image
from docray.schema import BlockType, ErrorCode, Route

OcrModelOptions = Union[PpOcrOptions, PaddleOcrOptions]

DEFAULT_REGION_TYPES = tuple(
    t.value for t in BlockType if t not in (BlockType.IMAGE, BlockType.IMAGE_BODY, BlockType.INTERLINE_EQUATION)
)


class OcrConfig(OperatorConfig):
    """Settings of the ``ocr`` operator."""

    op: Literal["ocr"] = "ocr"
    model: OcrModelOptions = Field(
        default_factory=PpOcrOptions, discriminator="kind", description="the OCR engine and its settings"
    )
    lang: str | None = Field(None, description="MinerU's -l (ch, en, ...): sets the model's lang")
    mode: Literal["page", "regions"] = Field(
        "page",
        description="'page' reads whole OCR pages; 'regions' reads each layout region (whole page without layout)",
    )
    region_types: tuple[str, ...] = Field(
        DEFAULT_REGION_TYPES, description="layout block types read in 'regions' mode on OCR pages"
    )
    txt_region_types: tuple[str, ...] = Field(
        (BlockType.TEXT.value, BlockType.TITLE.value),
        description="layout block types read on text-layer pages when they hold no text-layer span",
    )
    region_margin: float = Field(4.0, ge=0, description="margin around a layout region when it is cropped, points")
    batch_size: int = Field(4, ge=1, description="pages per model call")

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        """``--set ocr.model.version=v4`` alone: a model mapping without ``kind`` is the default engine's."""
        if isinstance(data, dict) and isinstance(data.get("model"), dict) and "kind" not in data["model"]:
            data = {**data, "model": {"kind": PpOcrOptions().kind, **data["model"]}}
        return data

    @model_validator(mode="after")
    def _lang_shortcut(self) -> OcrConfig:
        if self.lang is not None and self.model.lang != self.lang:
            self.model = self.model.model_copy(update={"lang": self.lang})
        return self


@dataclass(frozen=True, slots=True)
class Region:
    """Part of a page image to read: pixel box in the page image."""

    x0: int
    y0: int
    x1: int
    y1: int


def regions_to_read(row: Row, config: OcrConfig) -> list[Sequence[float]] | None:
    """Layout boxes (points) to read, ``None`` for the whole page, ``[]`` for nothing."""
    blocks = row.get("layout_blocks") or []
    if row.get("route") == Route.OCR.value:
        if config.mode == "page" or not blocks:
            return None
        return [b["bbox"] for b in blocks if b.get("type") in config.region_types]
    spans = row.get("spans")
    if not blocks or spans is None:
        return []
    span_boxes = [s["bbox"] for s in spans if (s.get("text") or "").strip()]
    return [
        b["bbox"]
        for b in blocks
        if b.get("type") in config.txt_region_types and not any(centre_inside(s, b["bbox"]) for s in span_boxes)
    ]


def pixel_region(
    box_pt: Sequence[float], scale: float, margin_pt: float, width_px: int, height_px: int
) -> Region | None:
    """A layout box (points) as a pixel region of the page image, grown by the margin and clipped; None when empty."""
    x0 = max(0, int(np.floor((box_pt[0] - margin_pt) * scale)))
    y0 = max(0, int(np.floor((box_pt[1] - margin_pt) * scale)))
    x1 = min(width_px, int(np.ceil((box_pt[2] + margin_pt) * scale)))
    y1 = min(height_px, int(np.ceil((box_pt[3] + margin_pt) * scale)))
    return Region(x0, y0, x1, y1) if x1 - x0 >= 4 and y1 - y0 >= 4 else None


def line_record(line: RecognizedLine, region: Region, px_to_pt: float, page_w: float, page_h: float) -> dict[str, Any]:
    """An ``ocr_lines`` entry (points) for a line read in ``region`` of the page image."""
    xs = [min(max((x + region.x0) * px_to_pt, 0.0), page_w) for x in line.quad[0::2]]
    ys = [min(max((y + region.y0) * px_to_pt, 0.0), page_h) for y in line.quad[1::2]]
    poly = [v for pair in zip(xs, ys) for v in pair]
    return {"text": line.text, "bbox": [min(xs), min(ys), max(xs), max(ys)], "score": float(line.score), "poly": poly}


def page_rotation(line_rotations: Sequence[int]) -> int:
    """The clockwise turn most of a page's lines were read at (0 without lines)."""
    if not line_rotations:
        return 0
    return max(sorted(set(line_rotations)), key=list(line_rotations).count)


def engine_unavailable(config: OcrConfig) -> str | None:
    """Why the configured engine cannot be built (missing weights, e.g. an OCR language), or None; loads nothing.

    Engines that can tell define ``unavailable(options)``; others are checked when they start.
    """
    from docray.models import registry

    try:
        engine = registry.engine_class("ocr", config.model.kind)
    except ImportError as exc:
        return str(exc)
    check = getattr(engine, "unavailable", None)
    return check(config.model) if check is not None else None


class OcrOperator(Operator[OcrConfig]):
    """Pages to OCR text lines (points), recognition batched across the batch's pages."""

    name: ClassVar[str] = "ocr"
    Config: ClassVar[type[OperatorConfig]] = OcrConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = ("image", "image_dpi", "width", "height", "route", "status")
    writes: ClassVar[tuple[str, ...]] = ("ocr_lines", "ocr_rotation")
    stateful: ClassVar[bool] = True

    def setup(self) -> None:
        from docray.models import registry
        from docray.models.onnx import threads_for

        self.model = None
        self.unavailable: str | None = None
        try:
            self.model = registry.create("ocr", self.config.model, threads=threads_for(self.config.resources.num_cpus))
        except WeightNotFoundError as exc:  # pages that need OCR fail one by one; the others go on
            self.unavailable = str(exc)

    def page_jobs(self, row: Row) -> list[tuple[np.ndarray, Region]]:
        """The image pieces of one page to read, with where each sits in the page image."""
        boxes = regions_to_read(row, self.config)
        if boxes == []:
            return []
        if not row.get("image"):
            raise ValueError("ocr needs page images: render with image_format png or jpeg")
        image = decode_page_image(bytes(row["image"]))
        height_px, width_px = image.shape[:2]
        if boxes is None:
            return [(image, Region(0, 0, width_px, height_px))]
        scale = float(row["image_dpi"]) / 72.0
        jobs = []
        for box in boxes:
            region = pixel_region(box, scale, self.config.region_margin, width_px, height_px)
            if region is not None:
                jobs.append((image[region.y0 : region.y1, region.x0 : region.x1], region))
        return jobs

    def process_rows(self, rows: list[Row]) -> list[Row]:
        start = time.perf_counter()
        out = [dict(row) for row in rows]
        jobs: list[tuple[int, np.ndarray, Region]] = []
        for index, row in enumerate(out):
            row["ocr_lines"] = []
            row["ocr_rotation"] = None
            if is_error(row):
                continue
            try:
                page_jobs = self.page_jobs(row)
                if page_jobs and self.model is None:
                    raise DocrayError(ErrorCode.MODEL_UNAVAILABLE, self.unavailable or "no OCR model")
                jobs.extend((index, image, region) for image, region in page_jobs)
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        try:
            results = self.model.read([image for _, image, _ in jobs]) if jobs else []
        except Exception:  # find the page that fails: read each page alone
            results = self._read_pagewise(out, jobs)
        rotations: dict[int, list[int]] = {}
        for (index, _, region), lines in zip(jobs, results):
            row = out[index]
            if lines is None or is_error(row):
                continue
            px_to_pt = 72.0 / float(row["image_dpi"])
            row["ocr_lines"].extend(
                line_record(line, region, px_to_pt, float(row["width"]), float(row["height"])) for line in lines
            )
            rotations.setdefault(index, []).extend(line.rotation for line in lines)
        for index, found in rotations.items():
            out[index]["ocr_rotation"] = page_rotation(found)
        share_timing(rows, out, self.name, time.perf_counter() - start)
        return out

    def _read_pagewise(
        self, out: list[Row], jobs: list[tuple[int, np.ndarray, Region]]
    ) -> list[list[RecognizedLine] | None]:
        results: list[list[RecognizedLine] | None] = []
        by_page: dict[int, list[int]] = {}
        for k, (index, _, _) in enumerate(jobs):
            by_page.setdefault(index, []).append(k)
        page_results: dict[int, list] = {}
        for index, ks in by_page.items():
            try:
                page_results[index] = self.model.read([jobs[k][1] for k in ks])
            except Exception as exc:
                out[index].update(error_fields(self.name, exc))
                out[index]["ocr_lines"] = []
        cursor = {index: 0 for index in by_page}
        for index, _, _ in jobs:
            found = page_results.get(index)
            results.append(found[cursor[index]] if found is not None else None)
            cursor[index] += 1
        return results
