"""PP-OCRv4 text detection, orientation and recognition on onnxruntime (engine ``ppocr_onnx``).

The default weights ship inside the ``rapidocr_onnxruntime`` wheel (PaddleOCR's Chinese+English
models, Apache-2.0); only the ONNX files are used, with docray's own pre- and post-processing
(:mod:`~docray.models.ocr_det`, :mod:`~docray.models.ocr_cls`, :mod:`~docray.models.ocr_rec`,
:mod:`~docray.models.ocr_ctc`).  Other languages take a recogniser and its dictionary from the
local models directory: ``<models-dir>/ppocr/<lang>_rec.onnx`` and ``<models-dir>/ppocr/<lang>_dict.txt``.
"""

from __future__ import annotations

import time
from typing import Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models import weights
from docray.models.ocr_cls import OrientationClassifier
from docray.models.ocr_ctc import DecodedLine, charset_from_file, charset_from_metadata, restore_spaces
from docray.models.ocr_det import DetParams, TextDetector
from docray.models.ocr_rec import TextRecognizer, as_rgb, crop_quad
from docray.models.onnx import OnnxOptions, session
from docray.models.onnx_rewrite import optimized_model
from docray.models.protocols import RecognizedLine

_WHEEL = "wheel:rapidocr_onnxruntime/models/"
DEFAULT_DET = _WHEEL + "ch_PP-OCRv4_det_infer.onnx"
DEFAULT_REC = _WHEEL + "ch_PP-OCRv4_rec_infer.onnx"
DEFAULT_CLS = _WHEEL + "ch_ppocr_mobile_v2.0_cls_infer.onnx"
SHIPPED_LANGS = ("ch", "en")  # the shipped Chinese model reads simplified Chinese and English


class PpOcrOptions(StrictModel):
    """Settings of the PP-OCR ONNX engine."""

    kind: Literal["ppocr_onnx"] = "ppocr_onnx"
    lang: str = Field(
        "ch",
        description="recognition language (MinerU's -l): 'ch'/'en' use the shipped Chinese+English model; others load "
        "models-dir:ppocr/<lang>_rec.onnx and <lang>_dict.txt",
    )
    det_weights: str = Field(DEFAULT_DET, description="text detector (DB) weights spec")
    cls_weights: str = Field(DEFAULT_CLS, description="line orientation (0/180) classifier weights spec")
    rec_weights: str | None = Field(None, description="recogniser weights spec; None: chosen by lang")
    rec_dict: str | None = Field(
        None, description="recogniser dictionary spec (one character a line); None: the ONNX metadata, else by lang"
    )
    models_dir: str | None = Field(
        None, description="models directory for models-dir: specs; None: DOCRAY_MODELS_DIR / docray.json"
    )
    use_cls: bool = Field(
        True, description="classify line orientation and read upside-down lines turned (about 1% of the time)"
    )
    cls_threshold: float = Field(0.9, gt=0, lt=1, description="probability of '180' above which a line is turned")
    det_limit: int = Field(
        1280, ge=32, description="detector input side limit, pixels (960 misses small print on dense pages: measured)"
    )
    det_limit_type: Literal["max", "min"] = Field(
        "max",
        description="'max': shrink so the long side <= det_limit (never upscale); 'min': grow the short side to it",
    )
    det_thresh: float = Field(0.3, gt=0, lt=1, description="probability threshold of the text map")
    det_box_thresh: float = Field(0.5, gt=0, lt=1, description="mean probability a line box needs")
    det_unclip_ratio: float = Field(1.6, gt=0, description="how far boxes grow back from DB's shrunk text kernels")
    rec_batch_size: int | None = Field(
        None,
        ge=1,
        description="line crops per recogniser run (sorted by width); None: 1 on CPU (fastest: no padding, stays in "
        "cache), 32 on CUDA",
    )
    rec_width_scale: float = Field(
        1.0,
        gt=0.3,
        le=1.5,
        description="horizontal scale of line crops at the recogniser's height (below 1 is faster, less exact)",
    )
    min_score: float = Field(0.5, ge=0, le=1, description="lines with a lower recognition confidence are dropped")
    restore_spaces: bool = Field(True, description="put back spaces between Latin words from character positions")
    space_prob: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="restore a space between Latin characters where the space class reaches this probability",
    )
    onnx: OnnxOptions = Field(default_factory=OnnxOptions, description="onnxruntime device and threads")


def rec_specs(options: PpOcrOptions) -> tuple[str, str | None]:
    """The recogniser weights spec and dictionary spec (None: from the ONNX metadata) for ``options``."""
    lang = options.lang.lower()
    if options.rec_weights is not None:
        return options.rec_weights, options.rec_dict
    if lang in SHIPPED_LANGS:
        return DEFAULT_REC, options.rec_dict
    return f"models-dir:ppocr/{lang}_rec.onnx", options.rec_dict or f"models-dir:ppocr/{lang}_dict.txt"


def load_charset(session, dict_path) -> list[str]:
    if dict_path is not None:
        return charset_from_file(dict_path.read_text(encoding="utf-8"))
    metadata = session.get_modelmeta().custom_metadata_map
    if "character" not in metadata:
        raise ValueError("the recogniser has no 'character' metadata; give rec_dict")
    return charset_from_metadata(metadata["character"])


def rec_batch_default(rec_session) -> int:
    return 32 if "CUDAExecutionProvider" in rec_session.get_providers() else 1


class PpOcrOnnx:
    """PP-OCR detection -> orientation -> recognition; recognition is batched across all images of a call."""

    def __init__(
        self,
        detector: TextDetector,
        recognizer: TextRecognizer,
        classifier: OrientationClassifier | None,
        options: PpOcrOptions,
    ):
        self.detector = detector
        self.recognizer = recognizer
        self.classifier = classifier
        self.options = options
        self.timings: dict[str, float] = {"det": 0.0, "cls": 0.0, "rec": 0.0}  # seconds, summed over calls

    @classmethod
    def from_options(cls, options: PpOcrOptions, threads: int = 1) -> PpOcrOnnx:
        threads = options.onnx.threads or threads
        device = options.onnx.device

        def load(spec: str):
            return session(
                optimized_model(weights.resolve(spec, models_root=options.models_dir)), device=device, threads=threads
            )

        rec_spec, dict_spec = rec_specs(options)
        try:
            rec_path = weights.resolve(rec_spec, models_root=options.models_dir)
            dict_path = weights.resolve(dict_spec, models_root=options.models_dir) if dict_spec else None
        except weights.WeightNotFoundError as exc:
            raise weights.WeightNotFoundError(
                f"OCR language {options.lang!r} is not available: {exc}. Built in: {', '.join(SHIPPED_LANGS)}; other "
                f"languages need ppocr/<lang>_rec.onnx and ppocr/<lang>_dict.txt in the models directory"
            ) from None
        rec_session = session(optimized_model(rec_path), device=device, threads=threads)
        params = DetParams(
            limit=options.det_limit,
            limit_type=options.det_limit_type,
            thresh=options.det_thresh,
            box_thresh=options.det_box_thresh,
            unclip_ratio=options.det_unclip_ratio,
        )
        classifier = (
            OrientationClassifier(load(options.cls_weights), threshold=options.cls_threshold)
            if options.use_cls
            else None
        )
        return cls(
            TextDetector(load(options.det_weights), params),
            TextRecognizer(
                rec_session,
                load_charset(rec_session, dict_path),
                batch_size=options.rec_batch_size or rec_batch_default(rec_session),
                width_scale=options.rec_width_scale,
            ),
            classifier,
            options,
        )

    # ------------------------------------------------------------------ OcrModel
    def read(self, images: Sequence[np.ndarray]) -> list[list[RecognizedLine]]:
        """Lines of each RGB image (pixels of that image), in reading order."""
        start = time.perf_counter()
        images = [as_rgb(image) for image in images]
        crops, owners = [], []
        for index, image in enumerate(images):
            for quad, _ in self.detector.detect(image):
                crops.append(crop_quad(image, quad))
                owners.append((index, quad))
        self.timings["det"] += time.perf_counter() - start
        results: list[list[RecognizedLine]] = [[] for _ in images]
        for (index, quad), line in zip(owners, self._recognize_crops(crops)):
            text = self._text(line)
            if text and line.score >= self.options.min_score:
                results[index].append(RecognizedLine(text, tuple(float(v) for v in quad.reshape(-1)), line.score))
        return results

    def recognize(self, lines: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of single-line RGB crops (no detection)."""
        return [(self._text(d), d.score) for d in self._recognize_crops([as_rgb(c) for c in lines])]

    # ------------------------------------------------------------------ internals
    def _recognize_crops(self, crops: list[np.ndarray]) -> list[DecodedLine]:
        """Recognise crops; a line the classifier calls upside down is read both ways and the surer reading kept.

        (The classifier sees a whole line squeezed to 192 pixels and errs on some upright lines.)
        """
        if not crops:
            return []
        flagged: list[int] = []
        if self.classifier is not None:
            start = time.perf_counter()
            flagged = [i for i, f in enumerate(self.classifier.rotated_180(crops)) if f]
            self.timings["cls"] += time.perf_counter() - start
        start = time.perf_counter()
        turned = [np.ascontiguousarray(crops[i][::-1, ::-1]) for i in flagged]
        decoded = self.recognizer.recognize([*crops, *turned])
        for k, i in enumerate(flagged):
            if decoded[len(crops) + k].score > decoded[i].score:
                decoded[i] = decoded[len(crops) + k]
        self.timings["rec"] += time.perf_counter() - start
        return decoded[: len(crops)]

    def _text(self, line: DecodedLine) -> str:
        text = restore_spaces(line, self.options.space_prob) if self.options.restore_spaces else line.text
        return text.strip()
