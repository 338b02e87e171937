"""``vlm``: read pages with a vision-language model (MinerU2.5 two-stage, or one-shot page-to-Markdown).

The engine (``engine.kind``: ``transformers``, ``vllm`` or ``http``) is created once per actor in
:meth:`VlmOperator.setup`; every batch of page rows goes through :class:`~docray.operators.vlmparse.reader.PageReader`,
which batches the requests of all pages of the batch into one engine call per step.  Prompts come from a YAML
prompt set (``prompts``: ``mineru25``, ``olmocr`` or a path); a handwriting ``context`` selects prompts and
fields from ``contexts_file``.

Writes ``vlm_blocks`` (typed blocks with content, points, reading order), ``layout_blocks`` (the same boxes, so
that ``crop`` cuts figures/tables/equations and ``_layout.pdf`` draws them), ``vlm_fields`` (handwriting fields
JSON, or null) and ``vlm_raw`` (the page-level answers).  ``assemble`` builds pages that carry ``vlm_blocks`` from
those blocks, so every output format is shared with the pipeline backend.  A page whose layout/page request
fails, or whose layout answer has no block, becomes an error row (``vlm_failed``); a page where only some block
requests failed stays usable with ``status = partial`` and the failures in ``error``.
"""

from __future__ import annotations

import io
import json
import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from docray.config import OperatorConfig
from docray.models import registry
from docray.models.onnx import threads_for
from docray.models.vlm_http import HttpVlmOptions
from docray.models.vlm_transformers import TransformersVlmOptions
from docray.models.vlm_vllm import VllmVlmOptions
from docray.operators.base import DocrayError, Level, Operator, Row, error_fields, is_error, share_timing
from docray.operators.convert.layout import is_converted
from docray.operators.layout import NO_IMAGE_MESSAGE
from docray.operators.vlmparse.blocks import VlmBlock
from docray.operators.vlmparse.prompts import load_contexts, load_prompt_set
from docray.operators.vlmparse.reader import PageReader, PageReading, ReadOptions
from docray.schema import ErrorCode, Status

VlmEngineOptions = Annotated[TransformersVlmOptions | VllmVlmOptions | HttpVlmOptions, Field(discriminator="kind")]


class VlmConfig(OperatorConfig):
    """Settings of the ``vlm`` operator."""

    op: Literal["vlm"] = "vlm"
    engine: VlmEngineOptions = Field(
        default_factory=TransformersVlmOptions, description="the model engine ('kind': transformers, vllm or http)"
    )
    mode: Literal["two_stage", "page"] = Field(
        "two_stage", description="two_stage: layout then one request per block (MinerU2.5); page: one request per page"
    )
    prompts: str = Field("mineru25", description="prompt set: a bundled name (mineru25, olmocr) or a YAML path")
    context: str | None = Field(
        None, description="handwriting context (general_handwriting, medical_prescription, scientific_handwriting, ...)"
    )
    contexts_file: str = Field("handwriting", description="YAML of handwriting contexts: a bundled name or a path")
    extract_fields: bool = Field(True, description="ask for the context's JSON fields (when the context defines them)")
    block_logprobs: bool = Field(False, description="ask for token log-probabilities of block answers (block scores)")
    max_blocks_per_page: int = Field(300, ge=1, description="stage-1 blocks beyond this are dropped (and reported)")
    min_block_px: int = Field(4, ge=1, description="stage-1 boxes thinner than this (page-image pixels) get no request")

    @field_validator("engine", mode="before")
    @classmethod
    def _default_kind(cls, value: object) -> object:
        if isinstance(value, dict) and "kind" not in value:
            return {"kind": "transformers", **value}
        return value

    @model_validator(mode="after")
    def _plan_exists(self) -> VlmConfig:
        prompts = load_prompt_set(self.prompts)
        context = None
        if self.context is not None:
            contexts = load_contexts(self.contexts_file)
            if self.context not in contexts:
                raise ValueError(f"unknown context {self.context!r}; {self.contexts_file} has: {', '.join(sorted(contexts))}")
            context = contexts[self.context]
        if self.mode == "two_stage" and prompts.layout is None:
            raise ValueError(f"prompt set {prompts.name!r} has no layout prompt; use mode: page")
        if self.mode == "page" and prompts.page is None and (context is None or context.page is None):
            raise ValueError(f"prompt set {prompts.name!r} has no page prompt; use mode: two_stage")
        return self


class VlmOperator(Operator[VlmConfig]):
    """Page images -> blocks with content (and handwriting fields) read by a vision-language model."""

    name: ClassVar[str] = "vlm"
    Config: ClassVar[type[OperatorConfig]] = VlmConfig
    consumes: ClassVar[Level] = Level.PAGES
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = ("image", "width", "height", "status")
    writes: ClassVar[tuple[str, ...]] = ("vlm_blocks", "layout_blocks", "vlm_fields", "vlm_raw")
    read_hints: ClassVar[dict[str, str]] = {"image": "render the pages first with render.image_format png or jpeg"}
    stateful: ClassVar[bool] = True

    def setup(self) -> None:
        config = self.config
        context = load_contexts(config.contexts_file)[config.context] if config.context else None
        self.engine = registry.create("vlm", config.engine, threads=threads_for(config.resources.num_cpus))
        options = ReadOptions(
            mode=config.mode,
            block_logprobs=config.block_logprobs,
            max_blocks_per_page=config.max_blocks_per_page,
            min_block_px=config.min_block_px,
        )
        self.reader = PageReader(
            self.engine, load_prompt_set(config.prompts), context, config.context, options, config.extract_fields
        )

    def process_rows(self, rows: list[Row]) -> list[Row]:
        from PIL import Image

        start = time.perf_counter()
        out = [dict(row) for row in rows]
        pending: list[tuple[int, Any]] = []  # (row index, RGB page image)
        for i, row in enumerate(out):
            row.update(vlm_blocks=[], layout_blocks=[], vlm_fields=None, vlm_raw=None)
            if is_converted(row):  # an Office/web/e-book page: its blocks were read from the document
                row["vlm_blocks"] = None
                continue
            if is_error(row):
                continue
            try:
                if not row.get("image"):
                    raise DocrayError(ErrorCode.RENDER_FAILED, NO_IMAGE_MESSAGE)
                with Image.open(io.BytesIO(bytes(row["image"]))) as opened:
                    pending.append((i, opened.convert("RGB")))
            except Exception as exc:
                row.update(error_fields(self.name, exc))
        try:
            readings = self.reader.read([image for _, image in pending])
        except Exception as exc:  # the engine itself broke: every page of the batch fails, the job goes on
            readings = None
            for i, _ in pending:
                out[i].update(error_fields(self.name, exc))
        for (i, _), reading in zip(pending, readings or []):
            out[i].update(reading_columns(reading, float(out[i]["width"]), float(out[i]["height"])))
        share_timing(rows, out, self.name, time.perf_counter() - start)
        return out


def reading_columns(reading: PageReading, width: float, height: float) -> Row:
    """The row columns of one page's reading (boxes from page fractions to points)."""
    blocks = [block_row(b, width, height) for b in reading.blocks]
    columns: Row = {
        "vlm_blocks": blocks,
        "layout_blocks": [
            {"type": b["type"], "bbox": b["bbox"], "score": 1.0 if b["score"] is None else b["score"], "label": b["label"]}
            for b, block in zip(blocks, reading.blocks)
            if block.bbox is not None
        ],
        "vlm_fields": json.dumps(reading.fields.to_json(), ensure_ascii=False) if reading.fields is not None else None,
        "vlm_raw": json.dumps(reading.raw, ensure_ascii=False) if reading.raw else None,
    }
    if reading.failed:
        columns.update(status=Status.ERROR.value, error=f"vlm: {reading.failed}", error_code=ErrorCode.VLM_FAILED.value)
    elif reading.errors:
        columns.update(status=Status.PARTIAL.value, error="vlm: " + "; ".join(reading.errors[:5]), error_code=ErrorCode.VLM_FAILED.value)
    return columns


def block_row(block: VlmBlock, width: float, height: float) -> Row:
    """A VLM_BLOCK row: the block's fraction box in points (the whole page when it has none)."""
    if block.bbox is None:
        bbox = [0.0, 0.0, width, height]
    else:
        x0, y0, x1, y1 = block.bbox
        bbox = [x0 * width, y0 * height, x1 * width, y1 * height]
    return {
        "type": block.type.value,
        "bbox": bbox,
        "angle": block.angle,
        "level": block.level,
        "text": block.text,
        "html": block.html,
        "latex": block.latex,
        "score": block.score,
        "label": block.label or block.type.value,
    }
