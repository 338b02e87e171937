"""onnxruntime sessions: the CUDA provider when a GPU is present, CPU threads bounded per actor.

Thread oversubscription is the biggest trap on small machines (DESIGN.md §9): each session gets
``threads`` intra-op threads (default 1) and one inter-op thread, and an operator passes the CPUs
its Ray worker reserved.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field

from docray.config import StrictModel

Device = Literal["auto", "cpu", "cuda"]


class OnnxOptions(StrictModel):
    """How an ONNX model runs."""

    device: Device = Field("auto", description="'auto' uses CUDA when onnxruntime-gpu sees a GPU, else CPU")
    threads: int | None = Field(None, ge=1, description="intra-op CPU threads; None: the CPUs the worker reserved (>= 1)")


def threads_for(num_cpus: float | None) -> int:
    """Intra-op threads for a worker that reserved ``num_cpus`` CPUs (fractions round down, at least 1)."""
    return max(1, math.floor(num_cpus or 1))


def providers(device: Device) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise RuntimeError(
            f"device 'cuda' asked for but onnxruntime has no CUDA provider (available: {available}); "
            "install docray[gpu] (onnxruntime-gpu) on a machine with a GPU"
        )
    return ["CPUExecutionProvider"]


def session(path: str | Path | bytes, *, device: Device = "auto", threads: int = 1):
    """An ``onnxruntime.InferenceSession`` for ``path`` (or a serialised model) with bounded threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: exported Paddle graphs warn about shape merges
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, sess_options=options, providers=providers(device))
