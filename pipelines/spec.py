"""Pipeline YAML: schema, loading and ``--set stage.key=value`` overrides.

A pipeline file names its stages in order (an operator name plus config overrides) and what to
write.  Example::

    name: fast
    stages:
      - op: ingest
      - op: render
        image_format: none
      - op: assemble
    output:
      tables: [documents, pages]
      files: [markdown, content_list, middle]
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from docray.config import StrictModel

FileKind = Literal["markdown", "content_list", "middle", "model", "layout_pdf", "span_pdf", "origin_pdf", "fields"]
TableName = Literal["documents", "pages"]


class PipelineError(ValueError):
    """The pipeline is invalid; raised when it is loaded or built, before it runs."""


class StageSpec(StrictModel):
    """One stage: the operator and its config (validated later by that operator's config class)."""

    op: str = Field(description="operator name, e.g. render")
    name: str | None = Field(None, description="stage name for --set overrides; defaults to op")
    config: dict[str, Any] = Field(default_factory=dict, description="operator config fields")

    @property
    def stage_name(self) -> str:
        return self.name or self.op


class OutputSpec(StrictModel):
    """What a run writes under its output directory."""

    tables: list[TableName] = Field(default_factory=lambda: ["documents", "pages"], description="Parquet tables")
    files: list[FileKind] = Field(
        default_factory=lambda: ["markdown", "content_list", "middle"],
        description="MinerU per-document files: markdown, content_list, middle, model (where the pipeline has "
        "model output), layout_pdf and span_pdf (debug renderings), origin_pdf (the original PDF), fields (handwriting "
        "fields of a vlm stage with a context)",
    )
    files_dir: str = Field("files", description="folder under the output for per-document files ('' = the output)")
    method_dir: str | None = Field(
        None, description="MinerU's per-method subfolder (auto/txt/ocr); default: the render method"
    )
    state_dir: str = Field(
        "_docray",
        description="folder under the output for run state (progress, shard markers, the pipeline record and, when "
        "the documents table is not an output, the documents parts resume reads); docray parse keys it on the "
        "options it parses with, so runs with other options share the output root",
    )


class PipelineSpec(StrictModel):
    name: str
    description: str = ""
    stages: list[StageSpec]
    output: OutputSpec = Field(default_factory=OutputSpec)

    def stage(self, name: str) -> StageSpec:
        for stage in self.stages:
            if stage.stage_name == name:
                return stage
        known = ", ".join(s.stage_name for s in self.stages)
        raise PipelineError(f"pipeline {self.name!r} has no stage {name!r}; stages: {known}")


def parse_pipeline(data: dict[str, Any]) -> PipelineSpec:
    """Build a spec from YAML data, where each stage is a flat mapping ``{op, name?, **config}``."""
    if not isinstance(data, dict):
        raise PipelineError("a pipeline file must be a mapping with 'name' and 'stages'")
    stages = []
    for i, raw in enumerate(data.get("stages") or []):
        if isinstance(raw, str):
            raw = {"op": raw}
        if not isinstance(raw, dict) or "op" not in raw:
            raise PipelineError(f"stage {i} must be a mapping with an 'op' key, got {raw!r}")
        raw = dict(raw)
        op, name = raw.pop("op"), raw.pop("name", None)
        stages.append(StageSpec(op=op, name=name, config=raw))
    try:
        return PipelineSpec(**{**data, "stages": stages})
    except ValidationError as exc:
        raise PipelineError(f"invalid pipeline: {exc}") from None


def load_pipeline(path_or_name: str | Path) -> PipelineSpec:
    """Load a pipeline from a YAML path, or by name from the bundled ``pipelines/*.yaml``."""
    path = Path(path_or_name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text()
    else:
        bundled = resources.files("docray.pipelines").joinpath(f"{path.stem}.yaml")
        if not bundled.is_file():
            raise FileNotFoundError(f"no pipeline file {str(path_or_name)!r} and no bundled pipeline named {path.stem!r}")
        text = bundled.read_text()
    return parse_pipeline(yaml.safe_load(text))


def apply_overrides(spec: PipelineSpec, overrides: list[str]) -> PipelineSpec:
    """Apply ``stage.key=value`` (or ``stage.a.b=value``, ``output.key=value``); values are YAML."""
    spec = spec.model_copy(deep=True)
    for item in overrides:
        target, sep, raw_value = item.partition("=")
        if not sep or "." not in target:
            raise PipelineError(f"override {item!r} must look like stage.key=value")
        value = yaml.safe_load(raw_value)
        head, *path = target.split(".")
        if head == "output":
            try:
                spec.output = OutputSpec.model_validate({**spec.output.model_dump(), path[0]: value})
            except ValidationError as exc:
                raise PipelineError(f"invalid override {item!r}: {exc}") from None
            continue
        node = spec.stage(head).config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return spec
