"""The one place where an operator config becomes Ray Data ``map_batches`` / ``map_groups`` kwargs."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from docray.operators.base import Operator
from docray.pipelines.plan import BoundStage


def apply_operator(batch: pa.Table, *, operator: type[Operator], config: dict[str, Any], output_schema: pa.Schema) -> pa.Table:
    """Task-pool entry point for stateless operators (no model to keep between batches)."""
    return operator(config, output_schema=output_schema)(batch)


def map_kwargs(stage: BoundStage) -> dict[str, Any]:
    """``fn`` plus the kwargs for ``Dataset.map_batches`` (or ``GroupedData.map_groups``)."""
    from ray.data import ActorPoolStrategy, TaskPoolStrategy

    config = stage.config
    res = config.resources
    kwargs: dict[str, Any] = {"batch_format": "pyarrow", "num_cpus": res.num_cpus}
    if res.num_gpus:
        kwargs["num_gpus"] = res.num_gpus
    if res.memory:
        kwargs["memory"] = res.memory
    config_data = config.model_dump(mode="json")
    if stage.operator.stateful or config.concurrency is not None:
        size = config.concurrency if config.concurrency is not None else 1
        pool = ActorPoolStrategy(size=size) if isinstance(size, int) else ActorPoolStrategy(min_size=size[0], max_size=size[1])
        kwargs.update(
            fn=stage.operator,
            compute=pool,
            fn_constructor_kwargs={"config": config_data, "output_schema": stage.output_schema},
        )
    else:
        kwargs.update(
            fn=apply_operator,
            compute=TaskPoolStrategy(),
            fn_kwargs={"operator": stage.operator, "config": config_data, "output_schema": stage.output_schema},
        )
    return kwargs


def map_batches_kwargs(stage: BoundStage) -> dict[str, Any]:
    kwargs = map_kwargs(stage)
    kwargs["batch_size"] = stage.config.batch_size
    return kwargs
