"""Prompt sets and handwriting contexts, loaded from YAML (``models/prompts/*.yaml`` or a path).

A **prompt set** says how one model family is asked to read pages: the stage-1 layout prompt (two-stage
mode), the one-shot page prompt, and the stage-2 prompt per block type, each with the parser of its
answer (``output``).  A **context file** holds handwriting contexts: prompts that replace the set's
page/text prompts, and optionally a JSON schema of fields to extract.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from docray.config import StrictModel

LayoutOutput = Literal["mineru25_layout"]
PageOutput = Literal["markdown", "olmocr", "grounded_lines"]
BlockOutput = Literal["text", "otsl", "html", "latex"]


class Sampling(StrictModel):
    temperature: float = Field(0.0, ge=0, description="0: greedy")
    top_p: float = Field(1.0, gt=0, le=1)
    repetition_penalty: float = Field(1.0, gt=0)


class LayoutPrompt(StrictModel):
    """Stage 1 of two-stage parsing: the page, downsampled, to typed boxes."""

    prompt: str
    image_max_side: int = Field(1036, ge=64, description="the page image is scaled so its longer side is at most this")
    image_size: tuple[int, int] | None = Field(
        None, description="resize the page to exactly (width, height), aspect ratio not kept (MinerU2.5: 1036x1036)"
    )
    max_tokens: int = Field(4096, ge=1)
    output: LayoutOutput = "mineru25_layout"


class PagePrompt(StrictModel):
    """One-shot mode: the whole page to Markdown (olmOCR-style) or to grounded lines."""

    prompt: str
    image_max_side: int = Field(1288, ge=64)
    max_tokens: int = Field(4096, ge=1)
    output: PageOutput = "markdown"


class BlockPrompt(StrictModel):
    """Stage 2: one block, cropped at native resolution, to its content."""

    prompt: str
    max_tokens: int = Field(2048, ge=1)
    output: BlockOutput = "text"


class PromptSet(StrictModel):
    name: str
    description: str = ""
    system: str | None = Field(None, description="system message; None: the model's default")
    sampling: Sampling = Field(default_factory=Sampling)
    keep_special_tokens: bool = Field(
        False, description="answers contain the tokenizer's special tokens (MinerU2.5's <|box_start|> ...): keep them"
    )
    layout: LayoutPrompt | None = Field(None, description="stage-1 prompt; None: this set has no two-stage mode")
    page: PagePrompt | None = Field(None, description="one-shot prompt; None: this set has no one-shot mode")
    blocks: dict[str, BlockPrompt] = Field(
        default_factory=dict, description="stage-2 prompt per BlockType value; 'default' for the types not named"
    )
    skip: list[str] = Field(
        default_factory=lambda: ["image"], description="block types kept as regions without a stage-2 request"
    )

    def block_prompt(self, block_type: str) -> BlockPrompt | None:
        """The stage-2 prompt of ``block_type`` (a BlockType value), or None when it is skipped."""
        if block_type in self.skip:
            return None
        return self.blocks.get(block_type) or self.blocks.get("default")


class FieldsPrompt(StrictModel):
    """Structured fields of a handwritten page, as JSON matching ``schema``."""

    prompt: str = Field(description="the instruction; the schema is appended to it as JSON")
    schema_: dict[str, Any] = Field(alias="schema", description="JSON schema of the fields (an object)")
    max_tokens: int = Field(1024, ge=1)

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @field_validator("schema_")
    @classmethod
    def _object(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise ValueError("a fields schema must be a JSON schema of type 'object'")
        return value


class HandwritingContext(StrictModel):
    description: str = ""
    page: PagePrompt | None = Field(None, description="replaces the prompt set's one-shot page prompt")
    text: BlockPrompt | None = Field(None, description="replaces the stage-2 prompt of text blocks (two-stage mode)")
    fields: FieldsPrompt | None = Field(None, description="fields to extract; None: text only")


class ContextSet(StrictModel):
    contexts: dict[str, HandwritingContext]


def _yaml(spec: str | Path) -> dict[str, Any]:
    """A bundled file by name (``mineru25`` -> ``models/prompts/mineru25.yaml``) or a YAML path."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        bundled = resources.files("docray.models").joinpath("prompts", f"{spec}.yaml")
        if not bundled.is_file():
            known = sorted(p.name[: -len(".yaml")] for p in resources.files("docray.models").joinpath("prompts").iterdir() if p.name.endswith(".yaml"))
            raise FileNotFoundError(f"no prompt file {spec!r}: not a YAML path, nor a bundled one ({', '.join(known)})")
        text = bundled.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"prompt file {spec!r} is not a YAML mapping")
    return data


def load_prompt_set(spec: str | Path) -> PromptSet:
    return PromptSet.model_validate(_yaml(spec))


def load_contexts(spec: str | Path = "handwriting") -> dict[str, HandwritingContext]:
    return ContextSet.model_validate(_yaml(spec)).contexts
