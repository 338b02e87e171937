"""Where a torch engine runs: the device and dtype its options ask for, and the CPU threads it may use."""

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
