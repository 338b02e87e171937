"""PaddleOCR itself as an OCR engine (``paddleocr``), for users who run Paddle and keep its models locally.

Optional: ``pip install 'docray[paddle]'``; ``paddleocr`` is imported only when the engine is built.
Model directories (PaddleOCR inference models) come from the local models directory, so nothing
downloads.  Written against PaddleOCR 2.x's ``PaddleOCR(...).ocr(image, det=, rec=, cls=)`` API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models import weights
from docray.models.protocols import RecognizedLine

INSTALL_HINT = "pip install 'docray[paddle]' and put the models in the models directory"


class PaddleOcrOptions(StrictModel):
    """Settings of the PaddleOCR engine."""

    kind: Literal["paddleocr"] = "paddleocr"
    lang: str = Field("ch", description="PaddleOCR language (MinerU's -l)")
    det_model_dir: str = Field(
        "paddleocr/det", description="detector inference model directory, inside the models directory"
    )
    rec_model_dir: str = Field(
        "paddleocr/rec", description="recogniser inference model directory, inside the models directory"
    )
    cls_model_dir: str = Field(
        "paddleocr/cls", description="orientation classifier model directory, inside the models directory"
    )
    models_dir: str | None = Field(None, description="the models directory; None: DOCRAY_MODELS_DIR / docray.json")
    use_cls: bool = Field(True, description="classify line orientation (0/180)")
    use_gpu: bool = Field(False, description="run Paddle on the GPU")
    min_score: float = Field(0.5, ge=0, le=1, description="lines with a lower recognition confidence are dropped")


def _import_paddleocr():
    try:
        import paddleocr
    except ImportError as exc:
        raise ImportError(f"the 'paddleocr' OCR engine needs the paddleocr package ({exc}): {INSTALL_HINT}") from None
    return paddleocr


def model_dirs(options: PaddleOcrOptions) -> dict[str, Path]:
    root = weights.models_dir(options.models_dir)
    if root is None:
        raise weights.WeightNotFoundError(f"the 'paddleocr' OCR engine needs a models directory: {INSTALL_HINT}")
    dirs = {
        "det": root / options.det_model_dir,
        "rec": root / options.rec_model_dir,
        "cls": root / options.cls_model_dir,
    }
    for name, path in dirs.items():
        if not path.is_dir() and (name != "cls" or options.use_cls):
            raise weights.WeightNotFoundError(f"no PaddleOCR {name} model at {path}: {INSTALL_HINT}")
    return dirs


class PaddleOcrEngine:
    """The OcrModel protocol over ``paddleocr.PaddleOCR``."""

    def __init__(self, ocr: Any, options: PaddleOcrOptions):
        self.ocr = ocr
        self.options = options

    @classmethod
    def from_options(cls, options: PaddleOcrOptions, threads: int = 1) -> PaddleOcrEngine:
        paddleocr = _import_paddleocr()
        dirs = model_dirs(options)
        ocr = paddleocr.PaddleOCR(
            lang=options.lang,
            use_angle_cls=options.use_cls,
            det_model_dir=str(dirs["det"]),
            rec_model_dir=str(dirs["rec"]),
            cls_model_dir=str(dirs["cls"]),
            use_gpu=options.use_gpu,
            cpu_threads=threads,
            show_log=False,
        )
        return cls(ocr, options)

    def read(self, images: Sequence[np.ndarray]) -> list[list[RecognizedLine]]:
        out: list[list[RecognizedLine]] = []
        for image in images:
            result = self.ocr.ocr(np.ascontiguousarray(image[:, :, ::-1]), cls=self.options.use_cls) or [None]
            lines = []
            for quad, (text, score) in result[0] or []:
                if text.strip() and score >= self.options.min_score:
                    lines.append(RecognizedLine(text, tuple(float(v) for point in quad for v in point), float(score)))
            out.append(lines)
        return out

    def recognize(self, lines: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        out = []
        for crop in lines:
            result = self.ocr.ocr(np.ascontiguousarray(crop[:, :, ::-1]), det=False, cls=self.options.use_cls) or [
                [("", 0.0)]
            ]
            text, score = (result[0] or [("", 0.0)])[0]
            out.append((text, float(score)))
        return out
