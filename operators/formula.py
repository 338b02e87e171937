"""``formula``: find a page's formulas and read them as LaTeX — from the text layer, or from the page image.

Born-digital pages (``render.glyphs: math`` keeps their characters): inline and display formulas are found in the
text layer and rebuilt from their glyphs (:mod:`docray.operators.formula_page`); the layout model's equation boxes,
when the pipeline has a layout stage, seed the display formulas.  Pages without a text layer (scans): the layout
model's equation boxes, and an optional formula detector's (``detector``, e.g. a YOLO MFD model from the models
directory), become display formulas.  Display formulas the text layer could not rebuild with confidence, and every
formula of a scan, are read by the image recogniser (``image_model``) from crops of the page image, all crops of a
batch in one call.  Without an image recogniser they keep the text-layer LaTeX (low score) or none.

Writes ``formulas`` (kind, box, LaTeX, score, source) and rewrites ``spans``: an inline formula with LaTeX becomes one
span flagged ``MATH`` whose text is the LaTeX; the glyphs of a display formula with LaTeX leave the spans (the
assembler turns the formula into an ``interline_equation`` block).  Drops ``glyphs`` and ``rules``.
"""

from __future__ import annotations

import time
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from docray.config import OperatorConfig
from docray.datamodel import BBox, LayoutBox, Span
from docray.models import registry
from docray.models.formula_detect import MfdOptions
from docray.models.formula_junia import JuniaOptions
from docray.models.formula_ved import VedFormulaOptions
from docray.models.onnx import threads_for
from docray.models.protocols import FormulaText
from docray.operators.base import Level, Operator, Row, error_fields, is_error, share_timing
from docray.operators.formula_page import (
    FormulaOptions,
    FoundFormula,
    PageFormulas,
    image_only_formulas,
    place_formulas,
    text_layer_formulas,
)
from docray.operators.layout import points_per_pixel
from docray.operators.page_image import decode_page_image
from docray.operators.textlayer.pdf_glyphs import Glyph
from docray.operators.textlayer.regions import iou
from docray.schema import BlockType, FormulaSource, Route

FormulaModelOptions = Annotated[JuniaOptions | VedFormulaOptions, Field(discriminator="kind")]
_DUPLICATE_IOU = 0.5


class FormulaConfig(OperatorConfig):
    """Settings of the ``formula`` operator."""

    op: Literal["formula"] = "formula"
    inline: bool = Field(True, description="find inline formulas in text lines and write them as LaTeX")
    display: bool = Field(
        True, description="find display formulas in the text layer too (the layout model's equation boxes always count)"
    )
    min_confidence: float = Field(
        0.5, ge=0, le=1, description="a text-layer reconstruction below this confidence is re-read by image_model"
    )
    image_inline: bool = Field(False, description="also send unconfident inline formulas to image_model")
    reread: Literal["unconfident", "all"] = Field(
        "unconfident",
        description="which text-layer display formulas image_model re-reads: those below min_confidence (its answer "
        "wins when at least as confident), or all (its answer wins whenever it has one)",
    )
    image_model: FormulaModelOptions | None = Field(
        None,
        description="image formula recogniser ('kind': latex_ocr_junia or vision_encoder_decoder) for scans and "
        "unconfident reconstructions; None: text layer only",
    )
    detector: MfdOptions | None = Field(
        None, description="formula detector for pages without a text layer (MinerU's YOLO MFD, ONNX, from the models dir)"
    )
    crop_margin: float = Field(2.0, ge=0, le=36, description="points of page image kept around a formula's box")
    crop_dpi: float | None = Field(
        300.0,
        gt=0,
        le=1200,
        description="crops are resampled (Lanczos) to this resolution before recognition: recognisers read "
        "300 dpi formulas far better than 144 dpi ones; None keeps the page image's resolution",
    )


class FormulaOperator(Operator[FormulaConfig]):
    """Formulas as LaTeX: text-layer reconstruction, image recognition where that is not enough."""

    name: ClassVar[str] = "formula"
    Config: ClassVar[type[OperatorConfig]] = FormulaConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = ("glyphs", "rules", "spans", "width", "height", "route", "status")
    writes: ClassVar[tuple[str, ...]] = ("formulas", "spans")
    drops: ClassVar[tuple[str, ...]] = ("glyphs", "rules")
    read_hints: ClassVar[dict[str, str]] = {
        "glyphs": "set 'glyphs: math' on the render stage",
        "rules": "set 'glyphs: math' on the render stage",
    }
    stateful: ClassVar[bool] = True

    @classmethod
    def is_stateful(cls, config: OperatorConfig) -> bool:
        """An actor pool only when a model is configured; the text-layer work runs as plain tasks."""
        return getattr(config, "image_model", None) is not None or getattr(config, "detector", None) is not None

    def setup(self) -> None:
        threads = threads_for(self.config.resources.num_cpus)
        c = self.config
        self.recognizer = registry.create("formula", c.image_model, threads=threads) if c.image_model else None
        self.detector = registry.create("formula_detect", c.detector, threads=threads) if c.detector else None

    def options(self) -> FormulaOptions:
        c = self.config
        return FormulaOptions(
            inline=c.inline,
            display=c.display,
            min_confidence=c.min_confidence,
            image_inline=c.image_inline,
            reread_all=c.reread == "all",
        )

    def process_rows(self, rows: list[Row]) -> list[Row]:
        self.ensure_setup()
        start = time.perf_counter()
        out = [dict(row) for row in rows]
        pages: dict[int, PageFormulas] = {}
        images: dict[int, np.ndarray] = {}
        for i, row in enumerate(out):
            row["formulas"] = []
            if is_error(row):
                continue
            try:
                pages[i] = self._find(row, images, i)
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        self._recognise(out, pages, images)
        for i, page in pages.items():
            row = out[i]
            if is_error(row):
                continue
            try:
                if page.glyphs and page.has_latex:
                    spans = [Span.from_row(s) for s in row.get("spans") or ()]
                    row["spans"] = [s.to_row() for s in place_formulas(spans, page.glyphs, page.found)]
                row["formulas"] = [f.to_row() for f in page.formulas]
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        share_timing(rows, out, self.name, time.perf_counter() - start)
        return out

    def _find(self, row: Row, images: dict[int, np.ndarray], i: int) -> PageFormulas:
        """The page's formulas, before any image recognition."""
        size = (float(row["width"]), float(row["height"]))
        display = [b.bbox for b in _layout(row) if b.type == BlockType.INTERLINE_EQUATION]
        glyphs = row.get("glyphs")
        if glyphs and row.get("route") == Route.TXT.value:
            rules = [tuple(r) for r in row.get("rules") or ()]
            return text_layer_formulas([Glyph.from_row(g) for g in glyphs], rules, size, display, self.options())  # type: ignore[arg-type]
        if row.get("route") == Route.OCR.value and self.detector is not None and row.get("image"):
            display = _merged(display, self._detect(row, images, i))
        return image_only_formulas(display)

    def _detect(self, row: Row, images: dict[int, np.ndarray], i: int) -> list[BBox]:
        """Display formula boxes (points) the detector finds on the page image."""
        image = _page_image(row, images, i)
        scale = points_per_pixel(row.get("image_dpi"), row.get("width"), image.shape[1])
        width, height = float(row["width"]), float(row["height"])
        boxes = []
        for found in self.detector.detect([image])[0]:  # type: ignore[union-attr]
            if found.display:
                x0, y0, x1, y1 = (v * scale for v in found.box)
                boxes.append((max(0.0, x0), max(0.0, y0), min(width, x1), min(height, y1)))
        return boxes

    def _recognise(self, rows: list[Row], pages: dict[int, PageFormulas], images: dict[int, np.ndarray]) -> None:
        """Read the formulas that want it from crops of their page images, in one call to the recogniser."""
        if self.recognizer is None:
            return
        crops: list[np.ndarray] = []
        targets: list[tuple[int, FoundFormula]] = []  # (row index, formula) per crop
        for i, page in pages.items():
            row = rows[i]
            wanted = [f for f in page.found if f.wants_image]
            if not wanted or not row.get("image"):
                continue
            try:
                image = _page_image(row, images, i)
                scale = 1.0 / points_per_pixel(row.get("image_dpi"), row.get("width"), image.shape[1])
                for found in wanted:
                    crop = crop_image(image, found.formula.bbox, scale, self.config.crop_margin)
                    if crop is not None:
                        crops.append(resample(crop, 72.0 * scale, self.config.crop_dpi))
                        targets.append((i, found))
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        if not crops:
            return
        for (i, found), text in zip(targets, self._read(crops, [i for i, _ in targets], rows)):
            formula = found.formula
            if text is None or is_error(rows[i]):
                continue
            wins = formula.latex is None or self.config.reread == "all" or text.score >= formula.score
            if text.latex.strip() and wins:
                found.set_latex(text.latex.strip(), text.score, FormulaSource.IMAGE_MODEL)

    def _read(self, crops: list[np.ndarray], owners: list[int], rows: list[Row]) -> list[FormulaText | None]:
        """The recogniser's reading of every crop; a failing batch is retried crop by crop, and the page of a crop
        that fails alone becomes an error row."""
        try:
            return list(self.recognizer.recognize(crops))  # type: ignore[union-attr]
        except Exception:
            texts: list[FormulaText | None] = []
            for crop, i in zip(crops, owners):
                try:
                    texts.append(self.recognizer.recognize([crop])[0])  # type: ignore[union-attr]
                except Exception as exc:
                    rows[i].update(error_fields(self.name, exc))
                    texts.append(None)
            return texts


def crop_image(image: np.ndarray, bbox: BBox, pixels_per_point: float, margin: float) -> np.ndarray | None:
    """The part of a page image under ``bbox`` (points) grown by ``margin`` points, or None when empty."""
    height, width = image.shape[:2]
    x0 = max(0, int((bbox[0] - margin) * pixels_per_point))
    y0 = max(0, int((bbox[1] - margin) * pixels_per_point))
    x1 = min(width, int(np.ceil((bbox[2] + margin) * pixels_per_point)))
    y1 = min(height, int(np.ceil((bbox[3] + margin) * pixels_per_point)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def resample(crop: np.ndarray, dpi: float, wanted: float | None) -> np.ndarray:
    """``crop`` (at ``dpi``) resized with Lanczos to ``wanted`` dpi; unchanged when ``wanted`` is None or equal."""
    if wanted is None or abs(wanted - dpi) < 1.0:
        return crop
    from PIL import Image

    factor = wanted / dpi
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))


def _page_image(row: Row, images: dict[int, np.ndarray], i: int) -> np.ndarray:
    """Row ``i``'s page image, decoded once per batch."""
    if i not in images:
        images[i] = decode_page_image(bytes(row["image"]))
    return images[i]


def _layout(row: Row) -> list[LayoutBox]:
    return [LayoutBox.from_row(b) for b in row.get("layout_blocks") or ()]


def _merged(boxes: list[BBox], more: list[BBox]) -> list[BBox]:
    """``boxes`` plus those of ``more`` that do not repeat one of them."""
    kept = list(boxes)
    for box in more:
        if all(iou(box, other) < _DUPLICATE_IOU for other in kept):
            kept.append(box)
    return kept
