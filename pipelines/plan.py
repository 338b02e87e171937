"""Turn a pipeline spec into a checked plan of bound stages.

Building a plan validates every stage config with its operator's config class, checks that each
stage consumes the table level the previous one produces, and that every column a stage reads is
written by an earlier stage — before any data moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pydantic import ValidationError

from docray.config import OperatorConfig
from docray.operators import get_operator
from docray.operators.base import SOURCE_COLUMNS, Level, Operator
from docray.pipelines.spec import PipelineError, PipelineSpec
from docray.schema import ParseMethod, schema_of


@dataclass(frozen=True)
class BoundStage:
    name: str
    operator: type[Operator]
    config: OperatorConfig
    input_schema: pa.Schema
    output_schema: pa.Schema

    def instantiate(self) -> Operator:
        return self.operator(self.config, output_schema=self.output_schema)


@dataclass(frozen=True)
class Plan:
    spec: PipelineSpec
    stages: tuple[BoundStage, ...]

    @property
    def parse_method(self) -> str:
        """MinerU's method label (auto/txt/ocr) taken from the render stage, for output folders."""
        for stage in self.stages:
            method = getattr(stage.config, "method", None)
            if isinstance(method, ParseMethod):
                return method.value
        return ParseMethod.AUTO.value

    def stage(self, name: str) -> BoundStage:
        return next(s for s in self.stages if s.name == name)


SOURCES_SCHEMA = schema_of(SOURCE_COLUMNS)


def build_plan(spec: PipelineSpec) -> Plan:
    if not spec.stages:
        raise PipelineError(f"pipeline {spec.name!r} has no stages")
    level, schema = Level.SOURCES, SOURCES_SCHEMA
    bound: list[BoundStage] = []
    seen: set[str] = set()
    for stage in spec.stages:
        where = f"pipeline {spec.name!r}, stage {stage.stage_name!r}"
        if stage.stage_name in seen:
            raise PipelineError(f"{where}: duplicate stage name; give one of them a 'name'")
        seen.add(stage.stage_name)
        try:
            op = get_operator(stage.op)
        except KeyError as exc:
            raise PipelineError(f"{where}: {exc.args[0]}") from None
        try:
            config = op.Config.model_validate({"op": stage.op, **stage.config})
        except ValidationError as exc:
            raise PipelineError(f"{where}: invalid config:\n{exc}") from None
        if op.consumes is not level:
            raise PipelineError(
                f"{where}: operator {op.name!r} consumes {op.consumes.value} but the previous stage produces {level.value}"
            )
        missing = [c for c in op.reads if c not in schema.names]
        if missing:
            hints = sorted({op.read_hints[c] for c in missing if c in op.read_hints})
            hint = "".join(f"; {h}" for h in hints)
            raise PipelineError(
                f"{where}: reads columns {missing} that no earlier stage writes{hint} (available: {schema.names})"
            )
        out_schema = op.output_schema_for(schema, config)
        bound.append(BoundStage(stage.stage_name, op, config, schema, out_schema))
        level, schema = op.produces, out_schema
    if level is not Level.RESULTS:
        raise PipelineError(f"pipeline {spec.name!r} must end with a stage producing results (e.g. assemble), ends with {level.value}")
    return Plan(spec=spec, stages=tuple(bound))
