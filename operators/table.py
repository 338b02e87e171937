"""``table``: recognise the tables that layout found, as HTML with cell text.

For every layout block of type ``table`` the page image is cropped (the box padded by a few
points, so a box that cuts a column rule or the outer cells still shows them; caption and footnote
blocks that the box overlaps at its top or bottom are trimmed off), the structure model
runs on all crops of the batch together, and each cell gets its text from the text layer (``txt``
pages) or the OCR lines (``ocr`` pages, when an ``ocr_lines`` column is present); a row the model glued
from two (every filled cell holds the same two lines) is split and rows without text are dropped
(:mod:`docray.models.table_rows`).  Tables are
written in PDF points with ``<table>...</table>`` HTML; a table whose structure scores below
``min_score`` or has no cells is left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from docray.config import OperatorConfig
from docray.models import registry
from docray.models.onnx import threads_for
from docray.models.protocols import TableStructure
from docray.models.table_cells import (
    Box,
    Word,
    assign_words,
    cell_text,
    stretch_rows_to_text,
    table_html,
    to_page_box,
    words_of,
)
from docray.models.table_grid import grid_size
from docray.models.table_rows import drop_empty_rows, split_stacked_rows
from docray.models.table_slanet import SlanetOptions
from docray.operators.base import Level, Operator, Row, error_fields, is_error, share_timing
from docray.operators.page_image import decode_page_image
from docray.operators.textlayer.aligned_tables import Piece, aligned_tables
from docray.operators.textlayer.page_tables import (
    ALIGNED_LABEL,
    MIN_OVERLAP,
    RULED_LABEL,
    FoundTable,
    Upright,
    from_alignment,
    from_grid,
    mark_table_captions,
    merge_tables,
    overlap_share,
    turned_spans,
)
from docray.operators.textlayer.ruled_tables import ruled_grids
from docray.schema import BlockType, FontFlags, Route


class TableConfig(OperatorConfig):
    """Settings of the ``table`` operator."""

    op: Literal["table"] = "table"
    model: SlanetOptions = Field(default_factory=SlanetOptions, description="table structure engine and its options")
    padding: float = Field(
        4.0,
        ge=0,
        description="points added around each layout table box before cropping (layout boxes often cut the rules)",
    )
    min_score: float = Field(
        0.5, ge=0, le=1, description="tables whose mean structure-token confidence is lower are dropped"
    )
    max_tables_per_page: int = Field(50, ge=1, description="at most this many table blocks of a page are recognised")
    ruled_tables: bool = Field(
        True,
        description="on txt pages whose render stored line_segments: find tables drawn with rules, read fully ruled "
        "ones from their rules and text layer, and add the tables the layout model missed as table blocks",
    )
    aligned_tables: bool = Field(
        True,
        description="on txt pages: find tables from the alignment of their text (columns of pieces over several "
        "rows) where no layout or ruled table is, and read them from that alignment",
    )
    min_filled: float = Field(
        0.3, ge=0, le=1, description="a ruled grid is a table when at least this share of its cells holds text"
    )


@dataclass(frozen=True, slots=True)
class TableRegion:
    """Where a table is (points): its box, and the padded box that is cropped and searched for words."""

    bbox: Box
    padded: Box


@dataclass(frozen=True, slots=True)
class TableJob:
    """One table crop to recognise."""

    row_index: int
    region: TableRegion
    crop_origin: tuple[int, int]  # top-left of the crop in page pixels
    points_per_pixel: float
    image: np.ndarray  # RGB crop



CAPTION_TYPES = frozenset(
    t.value
    for t in (BlockType.TABLE_CAPTION, BlockType.TABLE_FOOTNOTE, BlockType.IMAGE_CAPTION, BlockType.IMAGE_FOOTNOTE)
)


def trim_captions(box: Box, captions: list[Box], keep: float = 0.5) -> Box:
    """``box`` with the captions that overlap its top or bottom edge cut away.

    A caption counts when it overlaps the box and most of its width lies within it; it is cut off
    the side nearer its centre.  A cut that would leave less than ``keep`` of the height is skipped.
    """
    x0, y0, x1, y1 = box
    for cx0, cy0, cx1, cy1 in captions:
        width = max(1e-6, cx1 - cx0)
        if cy1 <= y0 or cy0 >= y1 or (min(x1, cx1) - max(x0, cx0)) / width < 0.5:
            continue
        top, bottom = (max(y0, cy1), y1) if (cy0 + cy1) / 2 < (y0 + y1) / 2 else (y0, min(y1, cy0))
        if bottom - top >= keep * (box[3] - box[1]):
            y0, y1 = top, bottom
    return (x0, y0, x1, y1)


def table_regions(row: Row, padding: float, limit: int, skip_labels: frozenset[str] = frozenset()) -> list[TableRegion]:
    """The page's layout ``table`` boxes (but those labelled ``skip_labels``), padded, with overlapping captions
    and footnotes trimmed off."""
    blocks = row.get("layout_blocks") or ()
    captions = [tuple(float(v) for v in b["bbox"]) for b in blocks if b.get("type") in CAPTION_TYPES]
    tables = [
        tuple(float(v) for v in b["bbox"])
        for b in blocks
        if b.get("type") == BlockType.TABLE.value and b.get("label") not in skip_labels
    ]
    regions = []
    for x0, y0, x1, y1 in tables[:limit]:
        padded = (x0 - padding, y0 - padding, x1 + padding, y1 + padding)
        regions.append(TableRegion(trim_captions((x0, y0, x1, y1), captions), trim_captions(padded, captions)))  # type: ignore[arg-type]
    return regions


def crop_jobs(row_index: int, row: Row, regions: list[TableRegion]) -> list[TableJob]:
    """Crops of a page image around its table regions (clipped to the page)."""
    if not regions:
        return []
    if not row.get("image"):
        raise ValueError("the page has table blocks but no image; render pages with image_format png or jpeg")
    page = decode_page_image(row["image"])
    height_px, width_px = page.shape[:2]
    points_per_pixel = float(row["width"]) / width_px
    jobs = []
    for region in regions:
        left, top, right, bottom = region.padded
        x0, y0 = max(0, int(left / points_per_pixel)), max(0, int(top / points_per_pixel))
        x1 = min(width_px, int(np.ceil(right / points_per_pixel)))
        y1 = min(height_px, int(np.ceil(bottom / points_per_pixel)))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        jobs.append(TableJob(row_index, region, (x0, y0), points_per_pixel, page[y0:y1, x0:x1]))
    return jobs


def page_words(row: Row) -> list[Word]:
    """Words with boxes (points): OCR lines on OCR pages when present, else text-layer spans."""
    if row.get("route") == Route.OCR.value and row.get("ocr_lines") is not None:
        return words_of((line["text"], line["bbox"]) for line in row["ocr_lines"])
    return words_of((span["text"], span["bbox"]) for span in row.get("spans") or ())


def table_record(job: TableJob, structure: TableStructure, words: list[Word]) -> dict[str, Any]:
    """The TABLE row of one recognised table."""
    cells = [replace(c, box=to_page_box(c.box, job.crop_origin, job.points_per_pixel)) for c in structure.cells]
    cells = stretch_rows_to_text(cells, words, job.region.bbox)  # the box: text just outside it is not the table's
    cell_words = list(zip(cells, assign_words(words, cells, region=job.region.padded)))
    cell_words = drop_empty_rows(split_stacked_rows(cell_words))  # rows the model glued or made up
    cells = [cell for cell, _ in cell_words]
    num_rows, num_cols = grid_size(cells)
    return {
        "bbox": list(job.region.bbox),
        "html": table_html(cells, [cell_text(ws) for _, ws in cell_words]),
        "score": structure.score,
        "num_rows": num_rows,
        "num_cols": num_cols,
    }


class TableOperator(Operator[TableConfig]):
    """Layout table boxes to HTML tables with cell text (SLANet-plus structure by default)."""

    name: ClassVar[str] = "table"
    Config: ClassVar[type[OperatorConfig]] = TableConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = (
        "image",
        "image_dpi",
        "width",
        "height",
        "route",
        "spans",
        "layout_blocks",
        "status",
    )
    writes: ClassVar[tuple[str, ...]] = ("tables", "layout_blocks")
    drops: ClassVar[tuple[str, ...]] = ("line_segments", "vertical_text", "turned_spans")
    stateful: ClassVar[bool] = True

    def setup(self) -> None:
        self.model = registry.create("table", self.config.model, threads=threads_for(self.config.resources.num_cpus))

    def process_rows(self, rows: list[Row]) -> list[Row]:
        start = time.perf_counter()
        out = [dict(row) for row in rows]
        jobs: list[TableJob] = []
        for i, row in enumerate(out):
            row["tables"] = []
            if is_error(row):
                continue
            try:
                skip = self._text_layer_tables(row)
                regions = table_regions(row, self.config.padding, self.config.max_tables_per_page, skip)
                jobs.extend(crop_jobs(i, row, regions))
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        self._recognise(out, jobs)
        share_timing(rows, out, self.name, time.perf_counter() - start)
        return out

    def _text_layer_tables(self, row: Row) -> frozenset[str]:
        """On a txt page: merge the tables found from rules and text alignment into the layout blocks and
        ``tables``, and mark the captions of tables; returns the labels of the blocks already read."""
        if row.get("route") != Route.TXT.value:
            return frozenset()
        all_spans = list(row.get("spans") or ())
        spans = [s for s in all_spans if s.get("bbox")]
        rules = row.get("line_segments") or () if self.config.ruled_tables else ()
        segments = [tuple(float(v) for v in s) for s in rules]
        ruled, aligned = self._found(spans, segments)
        if row.get("vertical_text") in (90, 270):  # tables set sideways: found on the page turned upright
            upright = Upright(int(row["vertical_text"]), float(row["width"]), float(row["height"]))
            turned = [{**s, "bbox": upright.box(s["bbox"])} for s in turned_spans(all_spans, row.get("turned_spans"))]
            more_ruled, more_aligned = self._found(turned, [upright.box(s) for s in segments] if turned else [])
            sideways = [replace(t, bbox=upright.back(t.bbox)) for t in more_ruled + more_aligned if t.html is not None]
            ruled = [t for t in ruled if not any(overlap_share(t.bbox, u.bbox) >= MIN_OVERLAP for u in sideways)]
            aligned = [t for t in aligned if not any(overlap_share(t.bbox, u.bbox) >= MIN_OVERLAP for u in sideways)]
            ruled += sideways  # the structure model reads upright tables only: these win over layout boxes
        blocks = row.get("layout_blocks") or []
        if ruled or aligned:
            merged = merge_tables(blocks, ruled, aligned)
            blocks = merged.layout_blocks
            row["tables"].extend(merged.ruled)
        if blocks:
            row["layout_blocks"] = mark_table_captions(blocks, [(s["text"], s["bbox"]) for s in spans])
        return frozenset({RULED_LABEL, ALIGNED_LABEL})

    def _found(
        self, spans: list[dict[str, Any]], segments: list[tuple[float, ...]]
    ) -> tuple[list[FoundTable], list[FoundTable]]:
        """Ruled and aligned tables among ``spans`` (text-layer span rows) and ``segments``."""
        words = words_of((span["text"], span["bbox"]) for span in spans)
        grids = ruled_grids(segments, words, self.config.min_filled) if segments else []
        if not self.config.aligned_tables:
            return [from_grid(g, words) for g in grids], []
        pieces = [Piece(s["text"], tuple(s["bbox"]), bool((s.get("flags") or 0) & FontFlags.MONOSPACE)) for s in spans]
        return [from_grid(g, words) for g in grids], [from_alignment(t) for t in aligned_tables(pieces)]

    def _recognise(self, rows: list[Row], jobs: list[TableJob]) -> None:
        if not jobs:
            return
        try:
            structures = self.model.structure([job.image for job in jobs])
        except Exception:  # isolate the failing page: run each page's tables on their own
            structures = None
        if structures is None:
            for index in sorted({job.row_index for job in jobs}):
                own = [job for job in jobs if job.row_index == index]
                try:
                    self._fill(rows, own, self.model.structure([job.image for job in own]))
                except Exception as exc:
                    rows[index]["tables"] = []
                    rows[index].update(error_fields(self.name, exc))
            return
        self._fill(rows, jobs, structures)

    def _fill(self, rows: list[Row], jobs: list[TableJob], structures: list[TableStructure]) -> None:
        words: dict[int, list[Word]] = {}
        for job, structure in zip(jobs, structures):
            row = rows[job.row_index]
            if is_error(row) or not structure.cells or structure.score < self.config.min_score:
                continue
            try:
                if job.row_index not in words:
                    words[job.row_index] = page_words(row)
                row["tables"].append(table_record(job, structure, words[job.row_index]))
            except Exception as exc:
                row["tables"] = []
                row.update(error_fields(self.name, exc))
