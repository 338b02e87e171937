"""Reading pages with a vision-language model: the request plan of each mode, engine-agnostic.

:class:`PageReader` turns page images into :class:`PageReading`\\ s with any :class:`VlmEngine`:

* ``two_stage`` (MinerU2.5-style): every page of the batch, downsampled, goes to the engine in one
  call with the layout prompt (stage 1); the typed boxes it returns are cropped from the page at
  the resolution it was rendered at, turned upright, and all blocks of all pages go to the engine in
  a second call, each with its type's prompt (stage 2).  Types in the prompt set's ``skip`` list
  (figures) keep their box without a request.
* ``page`` (olmOCR-style): one request per page with the one-shot prompt; the answer (Markdown,
  olmOCR front matter + text, or grounded lines) becomes blocks.

A handwriting ``context`` replaces the page/text prompts, and when it defines ``fields`` one more
request per page asks for JSON of the context's schema with log-probabilities; the fields get
per-field confidences and boxes (:mod:`.fields`).  Engine calls are batched across pages so that a
GPU engine sees many requests at once.  Nothing here knows Ray or Arrow: the ``vlm`` operator maps
rows to and from these types, and tests drive it with a scripted engine.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from PIL import Image

from docray.models.protocols import TokenLogprob, VlmEngine, VlmRequest, VlmResponse
from docray.operators.vlmparse.blocks import VlmBlock
from docray.operators.vlmparse.fields import (
    FieldsResult,
    extract_json,
    field_boxes,
    field_confidences,
    validate_fields,
)
from docray.operators.vlmparse.grounded import parse_grounded_lines
from docray.operators.vlmparse.markdown_page import markdown_blocks, parse_olmocr
from docray.operators.vlmparse.mineru25 import (
    LayoutItem,
    block_content,
    block_image_size,
    crop_box,
    merge_equation_blocks,
    parse_layout,
    rotate_for_angle,
)
from docray.operators.vlmparse.prompts import BlockPrompt, HandwritingContext, PagePrompt, PromptSet
from docray.schema import BlockType


@dataclass(frozen=True, slots=True)
class ReadOptions:
    mode: str = "two_stage"  # two_stage | page
    block_logprobs: bool = False  # ask for log-probabilities of block answers (scores)
    max_blocks_per_page: int = 300
    min_block_px: int = 4  # stage-1 boxes thinner than this (in page-image pixels) are dropped
    crop_padding_px: int = 0  # MinerU crops regions without padding


@dataclass(slots=True)
class PageReading:
    """What the model read on one page."""

    blocks: list[VlmBlock] = field(default_factory=list)
    fields: FieldsResult | None = None
    raw: dict[str, str] = field(default_factory=dict)  # page-level answers: layout / page / fields
    errors: list[str] = field(default_factory=list)  # requests that failed; the page is partial
    failed: str | None = None  # the page has no usable answer at all (stage 1 or the page request failed)


def encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)  # render's level: half the encode time of the default 6
    return out.getvalue()


def fit(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` scaled down (never up) so that its longer side is at most ``max_side``."""
    longer = max(image.size)
    if longer <= max_side:
        return image
    scale = max_side / longer
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BICUBIC)


class PageImages:
    """A batch's page images, PNG-encoded once per size: the page and fields requests of one-shot mode share them."""

    def __init__(self, images: Sequence[Image.Image]):
        self.images = images
        self._encoded: dict[int, list[bytes]] = {}

    def png(self, max_side: int) -> list[bytes]:
        """Every page scaled down to ``max_side`` (see :func:`fit`), PNG-encoded."""
        if max_side not in self._encoded:
            self._encoded[max_side] = [encode_png(fit(im, max_side)) for im in self.images]
        return self._encoded[max_side]


def block_image(page: Image.Image, box: tuple[int, int, int, int], angle: int) -> Image.Image:
    """A stage-2 input: the block cut from the page, turned upright, sized as MinerU sizes blocks."""
    crop = page.crop(box)
    turns = rotate_for_angle(angle)
    if turns:
        crop = crop.rotate(90 * turns, expand=True)
    canvas, final = block_image_size(crop.width, crop.height)
    if canvas != crop.size:  # too thin: centred on white at the largest aspect ratio the model takes
        padded = Image.new("RGB", canvas, (255, 255, 255))
        padded.paste(crop, ((canvas[0] - crop.width) // 2, (canvas[1] - crop.height) // 2))
        crop = padded
    if final != crop.size:
        crop = crop.resize(final, Image.BICUBIC)
    return crop


def mean_probability(tokens: Sequence[TokenLogprob]) -> float | None:
    """exp of the mean token log-probability, or None without tokens."""
    if not tokens:
        return None
    return math.exp(sum(t.logprob for t in tokens) / len(tokens))


class PageReader:
    """Reads page images with ``engine`` by the plan of ``prompts`` (and a handwriting ``context``)."""

    def __init__(
        self,
        engine: VlmEngine,
        prompts: PromptSet,
        context: HandwritingContext | None = None,
        context_name: str | None = None,
        options: ReadOptions = ReadOptions(),
        extract_fields: bool = True,
    ):
        self.engine = engine
        self.prompts = prompts
        self.context = context
        self.context_name = context_name
        self.options = options
        self.extract_fields = extract_fields and context is not None and context.fields is not None
        if options.mode == "two_stage" and prompts.layout is None:
            raise ValueError(f"prompt set {prompts.name!r} has no layout prompt: it cannot run mode two_stage")
        if options.mode == "page" and self.page_prompt is None:
            raise ValueError(f"prompt set {prompts.name!r} has no page prompt (and no context gives one): use mode two_stage")

    # ------------------------------------------------------------------ prompts
    @property
    def page_prompt(self) -> PagePrompt | None:
        if self.context is not None and self.context.page is not None:
            return self.context.page
        return self.prompts.page

    def block_prompt(self, block_type: BlockType) -> BlockPrompt | None:
        if block_type == BlockType.TEXT and self.context is not None and self.context.text is not None:
            return self.context.text
        return self.prompts.block_prompt(block_type.value)

    def request(self, image: bytes, prompt: str, max_tokens: int, **kwargs: Any) -> VlmRequest:
        sampling = self.prompts.sampling
        return VlmRequest(
            image=image,
            prompt=prompt,
            system=self.prompts.system,
            max_tokens=max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            repetition_penalty=sampling.repetition_penalty,
            skip_special_tokens=not self.prompts.keep_special_tokens,
            **kwargs,
        )

    # ------------------------------------------------------------------ reading
    def read(self, images: Sequence[Image.Image]) -> list[PageReading]:
        """Read every page; one result per image, in order."""
        readings = [PageReading() for _ in images]
        if not images:
            return readings
        pages = PageImages(images)
        if self.options.mode == "two_stage":
            self._two_stage(images, readings)
        else:
            self._one_shot(pages, readings)
        if self.extract_fields:
            self._fields(pages, readings)
        return readings

    def _generate(self, requests: list[VlmRequest]) -> list[VlmResponse]:
        if not requests:
            return []
        responses = self.engine.generate(requests)
        if len(responses) != len(requests):
            raise RuntimeError(f"the engine answered {len(responses)} of {len(requests)} requests")
        return responses

    def _two_stage(self, images: Sequence[Image.Image], readings: list[PageReading]) -> None:
        layout = self.prompts.layout
        assert layout is not None
        small = [im.resize(layout.image_size, Image.BICUBIC) if layout.image_size else fit(im, layout.image_max_side) for im in images]
        answers = self._generate([self.request(encode_png(im), layout.prompt, layout.max_tokens) for im in small])
        pages: list[tuple[list[LayoutItem], list[VlmBlock | None]]] = [([], []) for _ in images]
        jobs: list[tuple[int, int, LayoutItem, BlockPrompt]] = []  # (page, index in its blocks, item, prompt)
        requests: list[VlmRequest] = []
        for p, (image, answer, reading) in enumerate(zip(images, answers, readings)):
            reading.raw["layout"] = answer.text
            if answer.error:
                reading.failed = f"layout request failed: {answer.error}"
                continue
            items = parse_layout(answer.text)
            if not items:
                reading.failed = "the layout answer has no block: " + _excerpt(answer.text)
                continue
            if answer.finish_reason == "length":
                reading.errors.append("the layout answer was cut at max_tokens; blocks after the cut are missing")
            if len(items) > self.options.max_blocks_per_page:
                reading.errors.append(f"{len(items) - self.options.max_blocks_per_page} blocks over max_blocks_per_page dropped")
                items = items[: self.options.max_blocks_per_page]
            kept, blocks = pages[p]
            for item in items:
                kept.append(item)
                blocks.append(None if item.container else item.bare_block())
                prompt = None if item.container else self.block_prompt(item.type)
                box = crop_box(item.bbox, image.width, image.height, pad=self.options.crop_padding_px)
                if prompt is None or min(box[2] - box[0], box[3] - box[1]) < self.options.min_block_px:
                    continue
                jobs.append((p, len(blocks) - 1, item, prompt))
                requests.append(
                    self.request(
                        encode_png(block_image(image, box, item.angle)), prompt.prompt, prompt.max_tokens,
                        logprobs=self.options.block_logprobs,
                    )  # fmt: skip
                )
        # stage 2: every block of every page in one engine call; the answers replace the bare blocks
        for (p, slot, item, prompt), answer in zip(jobs, self._generate(requests)):
            if answer.error:
                readings[p].errors.append(f"{item.type.value} block {slot}: {answer.error}")
                continue
            pages[p][1][slot] = block_content(item, answer.text, prompt.output, score=mean_probability(answer.tokens))
        for reading, (items, blocks) in zip(readings, pages):
            if items:
                reading.blocks = merge_equation_blocks(items, blocks)

    def _one_shot(self, pages: PageImages, readings: list[PageReading]) -> None:
        prompt = self.page_prompt
        assert prompt is not None
        answers = self._generate(
            [
                self.request(png, prompt.prompt, prompt.max_tokens, logprobs=self.options.block_logprobs)
                for png in pages.png(prompt.image_max_side)
            ]
        )
        for answer, reading in zip(answers, readings):
            reading.raw["page"] = answer.text
            if answer.error:
                reading.failed = f"page request failed: {answer.error}"
                continue
            reading.blocks = page_blocks(answer.text, prompt.output)
            score = mean_probability(answer.tokens)
            for block in reading.blocks:
                block.score = score
            if answer.finish_reason == "length":
                reading.errors.append("the page answer was cut at max_tokens")

    def _fields(self, pages: PageImages, readings: list[PageReading]) -> None:
        assert self.context is not None and self.context.fields is not None
        spec = self.context.fields
        page = self.page_prompt
        max_side = page.image_max_side if page is not None else 1288
        prompt = f"{spec.prompt}\n{json.dumps(spec.schema_, ensure_ascii=False)}"
        answers = self._generate(
            [
                self.request(png, prompt, spec.max_tokens, logprobs=True, json_schema=spec.schema_)
                for png in pages.png(max_side)
            ]
        )
        for answer, reading in zip(answers, readings):
            reading.raw["fields"] = answer.text
            reading.fields = read_fields(self.context_name or "", answer, spec.schema_, reading.blocks)
            if answer.error:
                reading.errors.append(f"fields request failed: {answer.error}")


def page_blocks(answer: str, output: str) -> list[VlmBlock]:
    """The blocks of a one-shot page answer, by the prompt's ``output`` kind."""
    if output == "olmocr":
        _, text = parse_olmocr(answer)
        return markdown_blocks(text)
    if output == "grounded_lines":
        return [VlmBlock(type=BlockType.TEXT, bbox=line.bbox, text=line.text) for line in parse_grounded_lines(answer) if line.text.strip()]
    return markdown_blocks(answer)


def read_fields(context: str, answer: VlmResponse, schema: dict[str, Any], blocks: Sequence[VlmBlock]) -> FieldsResult:
    """Fields, per-field confidence and boxes of a fields answer; a failed or non-JSON answer gives empty fields with errors."""
    errors: list[str] = []
    found = None if answer.error else extract_json(answer.text)
    if answer.error:
        errors.append(f"fields request failed: {answer.error}")
    elif found is None:
        errors.append("the fields answer holds no JSON object: " + _excerpt(answer.text))
    values: Any = found[0] if found is not None else {}
    if found is not None:
        errors += validate_fields(values, schema)
    confidence = field_confidences(answer.text, answer.tokens) if found is not None and answer.tokens else {}
    boxed = [b for b in blocks if b.bbox is not None and b.text]
    boxes = field_boxes(values, boxed) if found is not None else {}
    return FieldsResult(context=context, fields=values, confidence=confidence, boxes=boxes, errors=errors)


def _excerpt(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
