"""What the torch engines share: where they run (device, dtype, CPU threads) and reading token ids from configs."""

from __future__ import annotations

from typing import Any


def torch_placement(torch: Any, device: str, dtype: str, threads: int, cuda_dtype: str) -> tuple[str, Any]:
    """``(device, torch dtype)`` for options ``device`` (auto|cpu|cuda) and ``dtype`` (auto or a torch dtype name).

    ``auto`` device is CUDA when torch sees a GPU; ``auto`` dtype is ``cuda_dtype`` on CUDA and float32 on CPU.  On
    CPU, torch's thread pool (per process: one model per Ray worker process) is set to ``threads`` (at least 1).
    """
    device = device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(max(1, threads))
    dtype = dtype if dtype != "auto" else (cuda_dtype if device == "cuda" else "float32")
    return device, getattr(torch, dtype)


def token_ids(value: Any) -> list[int]:
    """A config's token id field (None, one id or a list of ids) as a list."""
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def first_set(*values: Any) -> Any:
    """The first value that is not None (config fields, then tokenizer fallbacks), or None."""
    return next((v for v in values if v is not None), None)
