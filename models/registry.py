"""Model engines keyed by task and kind; classes are imported only when a model is created.

Each engine module defines a pydantic ``Options`` class (``kind`` discriminator, ``extra="forbid"``)
and an engine class with ``from_options(options, threads)``.  Operators name engines by ``kind``.
"""

from __future__ import annotations

import importlib
from typing import Any

ENGINES: dict[tuple[str, str], str] = {
    ("layout", "picodet_cdla"): "docray.models.layout_picodet:PicoDetLayout",
    ("layout", "yolo_onnx"): "docray.models.layout_yolo:YoloLayout",
    ("ocr", "ppocr_onnx"): "docray.models.ocr_ppocr:PpOcrOnnx",
    ("ocr", "paddleocr"): "docray.models.ocr_paddle:PaddleOcrEngine",
    ("table", "slanet_plus"): "docray.models.table_slanet:SlanetPlus",
    ("formula", "latex_ocr_junia"): "docray.models.formula_junia:JuniaFormula",
    ("formula", "vision_encoder_decoder"): "docray.models.formula_ved:VedFormula",
    ("formula_detect", "mfd_yolo"): "docray.models.formula_detect:MfdDetector",
    ("vlm", "transformers"): "docray.models.vlm_transformers:TransformersVlm",
    ("vlm", "vllm"): "docray.models.vlm_vllm:VllmVlm",
    ("vlm", "http"): "docray.models.vlm_http:HttpVlm",
}


def register(task: str, kind: str, target: str) -> None:
    """Register ``"module:Class"`` as the engine for ``(task, kind)``."""
    ENGINES[(task, kind)] = target


def engine_class(task: str, kind: str) -> type:
    try:
        target = ENGINES[(task, kind)]
    except KeyError:
        known = ", ".join(sorted(k for t, k in ENGINES if t == task)) or "none"
        raise KeyError(f"no {task} engine {kind!r}; known: {known}") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"{task} engine {kind!r} needs a package that is not installed: {exc}") from exc
    return getattr(module, class_name)


def create(task: str, options: Any, threads: int = 1) -> Any:
    """Build the engine that ``options.kind`` names for ``task``, with ``threads`` CPU threads (the CPUs its worker
    reserved): the engine's own pools get them, and so does OpenCV's, which otherwise starts one thread per core of
    the machine in every actor whatever OMP_NUM_THREADS says."""
    bound_opencv_threads(threads)
    return engine_class(task, options.kind).from_options(options, threads=threads)


def bound_opencv_threads(threads: int) -> None:
    """OpenCV's thread pool (image resizes and warps in the model stages) sized to ``threads`` (at least 1)."""
    try:
        import cv2
    except ImportError:  # an engine without OpenCV (e.g. an http VLM client on a slim install)
        return
    cv2.setNumThreads(max(1, threads))
