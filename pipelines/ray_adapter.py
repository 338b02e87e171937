"""The one place where an operator config becomes Ray Data ``map_batches`` / ``map_groups`` kwargs."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from docray.operators.base import Operator
from docray.pipelines.plan import BoundStage
from docray.secrets import REVEAL


def apply_operator(batch: pa.Table, *, operator: type[Operator], config: dict[str, Any], output_schema: pa.Schema) -> pa.Table:
    """Task-pool entry point for stateless operators (no model to keep between batches)."""
    return operator(config, output_schema=output_schema)(batch)


def worker_config(stage: BoundStage) -> dict[str, Any]:
    """The stage config as its workers get it: secrets in clear (records and logs only ever get the masked dump)."""
    return stage.config.model_dump(mode="json", context=REVEAL)


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
    config_data = worker_config(stage)
    if stage.operator.is_stateful(config) or config.concurrency is not None:
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


def uses_actor_pool(stage: BoundStage) -> bool:
    return stage.operator.is_stateful(stage.config) or stage.config.concurrency is not None


def pool_floor(stage: BoundStage) -> int:
    """The number of actors a stage's pool keeps at least (1 for a stateful stage without concurrency)."""
    size = stage.config.concurrency if stage.config.concurrency is not None else 1
    return size if isinstance(size, int) else size[0]


def starved_stages(stages: list[BoundStage], cluster_cpus: float, extra_tasks: dict[str, float] | None = None) -> str | None:
    """Why the plan can hang on a cluster of ``cluster_cpus`` CPUs, or None.

    Actor pools hold their CPUs for the whole run; when their minimum sizes reserve every CPU, task stages
    (ingest, render, assemble, and the executor's own ``extra_tasks``: reading Parquet inputs, writing) never
    get one and the run waits forever.
    """
    reserved = sum(pool_floor(s) * s.config.resources.num_cpus for s in stages if uses_actor_pool(s))
    tasks = {s.name: s.config.resources.num_cpus for s in stages if not uses_actor_pool(s)}
    tasks.update(extra_tasks or {})
    hungry = [name for name, cpus in tasks.items() if reserved + cpus > cluster_cpus]
    if not hungry:
        return None
    return (
        f"actor pools reserve {reserved:g} of the cluster's {cluster_cpus:g} CPUs, leaving too few for the "
        f"task stages ({', '.join(f'{n} {tasks[n]:g}' for n in hungry)}): the run can wait forever; lower the pools' "
        "resources.num_cpus or concurrency, or add CPUs"
    )


def missing_gpus(stages: list[BoundStage], cluster_gpus: float) -> str | None:
    """Why the plan cannot start on a cluster with ``cluster_gpus`` GPUs (a stage's worker needs more), or None."""
    needy = [s for s in stages if s.config.resources.num_gpus > cluster_gpus]
    if not needy:
        return None
    wants = ", ".join(f"{s.name} ({s.config.resources.num_gpus:g} per worker)" for s in needy)
    sets = " ".join(f"--set {s.name}.resources.num_gpus=0" for s in needy)
    return (
        f"stages ask for GPUs the Ray cluster does not have ({cluster_gpus:g}): {wants}; "
        f"on CPU run with {sets}, or add GPU nodes"
    )
