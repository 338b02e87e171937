"""Operator configuration: resources, batching and concurrency, declared beside each operator.

Every operator's config subclasses :class:`OperatorConfig` (pydantic, ``extra="forbid"``), with an
``op`` literal as its discriminator.  :func:`docray.pipelines.ray_adapter.map_batches_kwargs` is the
one place where these fields become Ray Data ``map_batches`` arguments.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Resources(StrictModel):
    """Logical resources one worker (task or actor) of an operator reserves."""

    num_cpus: float = Field(1.0, ge=0, description="CPU cores per worker; fractions allowed")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per worker; fractions (e.g. 0.25) share one GPU")
    memory: int | None = Field(None, ge=0, description="heap memory per worker in bytes, for scheduling")


class OperatorConfig(StrictModel):
    """Fields every operator shares; subclasses add their own and set ``op``."""

    op: str = Field(description="operator name; selects the operator and its config class")
    batch_size: int = Field(8, ge=1, description="rows per map_batches call")
    concurrency: int | tuple[int, int] | None = Field(
        None,
        description="actor pool size (n or [min, max]) for stateful operators; None runs stateless tasks",
    )
    resources: Resources = Field(default_factory=Resources, description="resources each worker of this stage reserves")

    @field_validator("concurrency", mode="before")
    @classmethod
    def _pool_size(cls, value: object) -> object:
        if isinstance(value, list):
            return tuple(value)
        return value
