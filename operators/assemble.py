"""``assemble``: gather a document's page rows into one result row (Markdown, MinerU JSON, pages).

The operator runs per document (``map_groups`` on ``source``).  Pages that rendered with a text
layer are assembled by :func:`docray.operators.textlayer.document.assemble_document`; pages in
error are kept as page records without blocks, and make the document ``partial`` (some pages
usable) or ``error`` (none).  A document that failed before it had pages arrives as one row with
``page_idx == -1`` and leaves as a result row carrying that error.

Model stages are optional inputs: when the page rows carry ``layout_blocks`` (and ``ocr_lines``,
``tables``, ``crops``, ``image_dpi``) the pages that have layout detections are assembled from
them (:mod:`docray.operators.textlayer.layout_page`), OCR-routed pages take their text from
``ocr_lines``, and the crops that blocks refer to become the result's ``images``
(``images/<sha256>.jpg``).  They are not in :attr:`AssembleOperator.reads` because the fast
pipeline has none of them.  A page routed to OCR counts as lacking text only when no OCR stage
ran (``ocr_lines`` absent).  Page records keep every page column except ``image`` and ``crops``
(the crops that are used are in ``images``); they gain ``blocks``, ``markdown`` and
``layout_fallback`` (why a page with layout regions was read line by line, :mod:`.textlayer.row_order`).

Pages of converted documents (Office, web, e-book: ``converted_blocks``, :mod:`.convert`) keep the
blocks their converter read, in its order (:func:`docray.operators.convert.layout.converted_page_layout`).

middle.json's ``_parse_type`` is taken from the pages: ``txt`` or ``ocr`` when every page's route
was forced to it, else ``auto``.  ``model_json`` holds MinerU's model.json
(:func:`docray.formats.mineru_model.model_json`).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import Field, model_validator

import docray
from docray.config import OperatorConfig, StrictModel
from docray.datamodel import LatexDelimiters, PageLayout, PageText
from docray.formats.mineru import (
    page_markdown,
    to_content_list,
    to_markdown,
    to_middle_json,
)
from docray.formats.mineru_model import model_json
from docray.operators.base import (
    DocrayError,
    GroupOperator,
    Level,
    Row,
    error_fields,
    is_error,
)
from docray.operators.convert.layout import converted_page_layout, is_converted
from docray.operators.textlayer.document import AssembleOptions, assemble_document
from docray.schema import (
    FIELDS,
    RESULT_COLUMNS,
    ErrorCode,
    ParseMethod,
    Route,
    RouteReason,
    Status,
    field,
)
from docray.userconfig import load_config

_IDENTITY = ("doc_id", "source", "name", "mime", "kind", "size_bytes", "num_pages")
_NOT_IN_PAGE_RECORDS = ("image", "crops", "glyphs", "rules", "converted_blocks", "converted_images")
_ASSEMBLED = ("blocks", "markdown", "layout_fallback")  # page record columns the assembler writes
IMAGE_DIR = "images"
_MAX_LISTED_FAILURES = 5


class Delimiter(StrictModel):
    left: str = Field(min_length=1)
    right: str = Field(min_length=1)


class DelimiterConfig(StrictModel):
    """MinerU's ``latex-delimiter-config``: the delimiters of display and inline formulas in text."""

    display: Delimiter = Field(default_factory=lambda: Delimiter(left="$$", right="$$"))
    inline: Delimiter = Field(default_factory=lambda: Delimiter(left="$", right="$"))

    def delimiters(self) -> LatexDelimiters:
        return LatexDelimiters(inline=(self.inline.left, self.inline.right), display=(self.display.left, self.display.right))


class AssembleConfig(OperatorConfig):
    op: Literal["assemble"] = "assemble"
    dehyphenate: bool = Field(True, description="join words split by a hyphen at a line end ('exam-' + 'ple')")
    remove_furniture: bool = Field(
        True, description="move running headers, footers and page numbers to discarded blocks"
    )
    title_size_ratio: float = Field(
        1.15, gt=1.0, description="a short paragraph this many times the body font size is a title"
    )
    max_title_levels: int = Field(4, ge=1, le=6, description="title levels that font sizes may give")
    furniture_band: float = Field(
        0.09, gt=0, lt=0.5, description="share of the page height at top and bottom searched for headers/footers"
    )
    furniture_min_page_ratio: float = Field(
        0.5, gt=0, le=1, description="share of pages a header/footer line must repeat on"
    )
    min_image_area_ratio: float = Field(
        0.02, ge=0, le=1, description="image objects smaller than this share of the page are ignored"
    )
    include_discarded: bool = Field(
        False, description="also list headers/footers/page numbers in content_list.json (as MinerU's VLM backend)"
    )
    latex_delimiters: DelimiterConfig | None = Field(
        None,
        description="delimiters of formulas in Markdown and content_list text; None: 'latex-delimiter-config' of the "
        "docray config file when it has one (as MinerU's), else $$ $$ and $ $",
    )

    @model_validator(mode="after")
    def _delimiters_from_user_config(self) -> AssembleConfig:
        """Fixed when the pipeline is built, so every worker writes the same delimiters."""
        if self.latex_delimiters is None:
            configured = load_config().get("latex-delimiter-config")
            self.latex_delimiters = DelimiterConfig.model_validate(configured) if configured else DelimiterConfig()
        return self

    def delimiters(self) -> LatexDelimiters:
        return (self.latex_delimiters or DelimiterConfig()).delimiters()

    def assemble_options(self) -> AssembleOptions:
        return AssembleOptions(
            dehyphenate=self.dehyphenate,
            remove_furniture=self.remove_furniture,
            title_size_ratio=self.title_size_ratio,
            max_title_levels=self.max_title_levels,
            furniture_band=self.furniture_band,
            furniture_min_page_ratio=self.furniture_min_page_ratio,
            min_image_area_ratio=self.min_image_area_ratio,
            inline_delimiters=self.delimiters().inline,
        )


class AssembleOperator(GroupOperator[AssembleConfig]):
    name: ClassVar[str] = "assemble"
    Config: ClassVar[type[OperatorConfig]] = AssembleConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.RESULTS
    reads: ClassVar[tuple[str, ...]] = (
        "doc_id", "source", "name", "kind", "num_pages", "page_idx", "width", "height", "spans",
        "image_boxes", "route", "route_reason", "status",
    )  # fmt: skip
    writes: ClassVar[tuple[str, ...]] = RESULT_COLUMNS

    @classmethod
    def output_schema_for(cls, input_schema: pa.Schema, config: OperatorConfig) -> pa.Schema:
        """RESULTS, with the page records built from the input page columns (minus ``image``)."""
        own = (*_NOT_IN_PAGE_RECORDS, *_ASSEMBLED)
        page_fields = [f for f in input_schema if f.name not in own] + [field(name) for name in _ASSEMBLED]
        pages = pa.field("pages", pa.list_(pa.struct(page_fields)), metadata=FIELDS["pages"].metadata)
        return pa.schema([pages if name == "pages" else field(name) for name in RESULT_COLUMNS])

    def process_group(self, rows: list[Row]) -> Row:
        rows = sorted(rows, key=_page_idx)
        result = _identity(rows[0])
        result["timings"] = sum_timings(rows)
        page_rows = [r for r in rows if _page_idx(r) >= 0]
        if not page_rows:  # the document failed before it was split into pages
            failed = next((r for r in rows if is_error(r)), rows[0])
            result.update(
                status=failed.get("status") or Status.ERROR.value,
                error=failed.get("error"),
                error_code=failed.get("error_code"),
            )
            return {**_empty_outputs(), **result}

        ok_rows = [r for r in page_rows if not is_error(r)]
        failed_rows = [r for r in page_rows if is_error(r)]
        try:
            pages = [PageText.from_row(r) for r in ok_rows]
            if any(is_converted(r) for r in ok_rows):  # Office/web/e-book: blocks read from the document
                layouts = [converted_page_layout(r) for r in ok_rows]
            else:
                layouts = assemble_document(pages, self.config.assemble_options())
        except Exception as exc:
            raise DocrayError(ErrorCode.ASSEMBLE_FAILED, f"{type(exc).__name__}: {exc}") from exc

        result.update(_outcome(ok_rows, failed_rows))
        if not ok_rows:
            return {**_empty_outputs(), **result, "pages": _page_records(page_rows, {})}
        delimiters = self.config.delimiters()
        content_list = to_content_list(
            layouts, IMAGE_DIR, include_discarded=self.config.include_discarded, delimiters=delimiters
        )
        backend = "vlm" if any(r.get("vlm_blocks") is not None for r in ok_rows) else "pipeline"
        middle = to_middle_json(layouts, parse_method=parse_method_of(ok_rows), version=docray.__version__, backend=backend)
        result.update(
            markdown=to_markdown(layouts, IMAGE_DIR, delimiters),
            content_list=json.dumps(content_list, ensure_ascii=False),
            middle_json=json.dumps(middle, ensure_ascii=False),
            model_json=json.dumps(model_json(pages, layouts), ensure_ascii=False),
            images=image_files(layouts),
            pages=_page_records(page_rows, {layout.page_idx: layout for layout in layouts}, delimiters),
        )
        return result

    def fail_group(self, rows: list[Row], exc: BaseException) -> Row:
        first = sorted(rows, key=_page_idx)[0] if rows else {}
        return {**_empty_outputs(), **_identity(first), "timings": sum_timings(rows), **error_fields(self.name, exc)}


def _page_idx(row: Row) -> int:
    idx = row.get("page_idx")
    return -1 if idx is None else int(idx)


def _identity(row: Row) -> Row:
    return {k: row.get(k) for k in _IDENTITY}


def _empty_outputs() -> Row:
    return {"markdown": None, "content_list": None, "middle_json": None, "model_json": None, "images": [], "pages": []}


def image_files(layouts: list[PageLayout]) -> list[Row]:
    """The document's image files ``{path: "images/<name>", data}``, each once, in page order."""
    files: dict[str, bytes] = {}
    for layout in layouts:
        for name, data in layout.image_files.items():
            files.setdefault(f"{IMAGE_DIR}/{name}", data)
    return [{"path": path, "data": data} for path, data in files.items()]


def sum_timings(rows: list[Row]) -> dict[str, float]:
    """Stage -> seconds, summed over rows (a timings cell is a dict or a list of pairs)."""
    total: dict[str, float] = {}
    for row in rows:
        timings = row.get("timings") or ()
        for stage, seconds in timings.items() if isinstance(timings, dict) else timings:
            total[stage] = total.get(stage, 0.0) + float(seconds or 0.0)
    return total


def parse_method_of(page_rows: list[Row]) -> str:
    """``txt``/``ocr`` when every page's route was forced to it, else ``auto``."""
    forced = {r.get("route") for r in page_rows if r.get("route_reason") == RouteReason.FORCED.value}
    if len(forced) == 1 and all(r.get("route_reason") == RouteReason.FORCED.value for r in page_rows):
        route = forced.pop()
        if route in (ParseMethod.TXT.value, ParseMethod.OCR.value):
            return route
    return ParseMethod.AUTO.value


def _outcome(ok_rows: list[Row], failed_rows: list[Row]) -> Row:
    """Document status: failed pages, then pages left without text (routed to OCR, no OCR stage)."""
    no_text = [r for r in ok_rows if r.get("route") == Route.OCR.value and r.get("ocr_lines") is None and r.get("vlm_blocks") is None]
    partial = [r for r in ok_rows if r.get("status") == Status.PARTIAL.value]
    if not failed_rows and not no_text and not partial:
        return {"status": Status.OK.value, "error": None, "error_code": None}
    total = len(ok_rows) + len(failed_rows)
    problems: list[str] = []
    if failed_rows:
        listed = "; ".join(
            f"page_idx {_page_idx(r)}: {r.get('error') or 'unknown error'}" for r in failed_rows[:_MAX_LISTED_FAILURES]
        )
        more = len(failed_rows) - _MAX_LISTED_FAILURES
        problems.append(f"{len(failed_rows)} of {total} pages failed: {listed}" + (f"; and {more} more" if more > 0 else ""))
    if no_text:
        reasons = Counter(r.get("route_reason") for r in no_text)
        why = ", ".join(f"{reason} {n}" for reason, n in reasons.most_common())
        problems.append(f"{len(no_text)} of {total} pages need OCR ({why}) and no stage of this pipeline read their text")
    if partial:
        listed = "; ".join(f"page_idx {_page_idx(r)}: {r.get('error') or 'partly read'}" for r in partial[:_MAX_LISTED_FAILURES])
        problems.append(f"{len(partial)} of {total} pages partly read: {listed}")
    codes = Counter(r.get("error_code") or ErrorCode.INTERNAL.value for r in failed_rows + partial)
    usable = len(ok_rows) - len(no_text)
    return {
        "status": Status.PARTIAL.value if usable > 0 else Status.ERROR.value,
        "error": "; ".join(problems),
        "error_code": codes.most_common(1)[0][0] if codes else ErrorCode.NEEDS_OCR.value,
    }


def _page_records(
    page_rows: list[Row], layouts: dict[int, PageLayout], delimiters: LatexDelimiters = LatexDelimiters()
) -> list[Row]:
    records: list[Row] = []
    for row in page_rows:
        record = {k: v for k, v in row.items() if k not in _NOT_IN_PAGE_RECORDS}
        layout = None if is_error(row) else layouts.get(_page_idx(row))
        if layout is None:
            record.update(blocks=[], markdown=None, layout_fallback=None)
        else:
            blocks = [part for b in layout.blocks + layout.discarded for part in [b, *b.children]]
            record.update(blocks=[b.to_row() for b in blocks], markdown=page_markdown(layout, IMAGE_DIR, delimiters))
            record["layout_fallback"] = layout.layout_fallback.value if layout.layout_fallback else None
        records.append(record)
    return records
