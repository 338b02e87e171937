"""PP-OCR text detection, orientation and recognition on onnxruntime (engine ``ppocr_onnx``).

Two releases ship inside Apache-2.0 wheels (PaddleOCR's models; only the ONNX files are used, with
docray's own pre- and post-processing: :mod:`~docray.models.ocr_det`, :mod:`~docray.models.ocr_cls`,
:mod:`~docray.models.ocr_rec`, :mod:`~docray.models.ocr_ctc`):

* ``v6`` (default): PP-OCRv6 small detector and multilingual recogniser from ``rapidocr`` 3.10.0
  (Chinese, traditional Chinese, Japanese, English and Latin-script languages; dictionary in the
  ONNX metadata).  Same input conventions as v4: BGR, ``(x / 255 - 0.5) / 0.5``, recogniser height 48.
* ``v4``: PP-OCRv4 Chinese+English detector and recogniser from ``rapidocr_onnxruntime`` 1.4.4.

Both use the 0/180 line classifier ``ch_ppocr_mobile_v2.0_cls`` (the same file in both wheels).
Other languages (:mod:`~docray.models.ocr_langs`) take a recogniser and its dictionary from the local
models directory: ``<models-dir>/ppocr/<family>_rec.onnx`` and ``<models-dir>/ppocr/<family>_dict.txt``.

Pages are turned upright first (:mod:`~docray.models.page_orientation`): 90/270 from the detected
line boxes, 180 from the line classifier's votes on the longest lines (when they split, from the
recogniser's confidence on them read both ways); a turned page is detected again upright.  Lines come back
in pixels of the image given, whatever its orientation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models import weights
from docray.models.ocr_cls import OrientationClassifier
from docray.models.ocr_ctc import DecodedLine, charset_from_file, charset_from_metadata, restore_spaces
from docray.models.ocr_det import DetParams, Quad, TextDetector, order_quad
from docray.models.ocr_langs import PPOCRV4_CODES, PPOCRV6_CODES, family
from docray.models.ocr_rec import TextRecognizer, as_rgb, crop_quad
from docray.models.onnx import OnnxOptions, session
from docray.models.onnx_rewrite import optimized_model
from docray.models.page_orientation import is_sideways, longest_lines, turn_image, turn_points, upside_down
from docray.models.protocols import RecognizedLine


@dataclass(frozen=True, slots=True)
class PpOcrRelease:
    """The weights of one PP-OCR release shipped in a wheel, and the ``-l`` codes its recogniser reads."""

    det: str
    rec: str
    cls: str
    codes: frozenset[str]


_V4 = "wheel:rapidocr_onnxruntime/models/"
_V6 = "wheel:rapidocr/models/"
RELEASES: dict[str, PpOcrRelease] = {
    "v6": PpOcrRelease(
        _V6 + "PP-OCRv6_det_small.onnx",
        _V6 + "PP-OCRv6_rec_small.onnx",
        _V6 + "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        PPOCRV6_CODES,
    ),
    "v4": PpOcrRelease(
        _V4 + "ch_PP-OCRv4_det_infer.onnx",
        _V4 + "ch_PP-OCRv4_rec_infer.onnx",
        _V4 + "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        PPOCRV4_CODES,
    ),
}


class PpOcrOptions(StrictModel):
    """Settings of the PP-OCR ONNX engine."""

    kind: Literal["ppocr_onnx"] = "ppocr_onnx"
    version: Literal["v6", "v4"] = Field(
        "v6", description="PP-OCR release whose shipped weights are used: v6 (rapidocr 3.10.0) or v4 (rapidocr_onnxruntime)"
    )
    lang: str = Field(
        "ch",
        description="recognition language (MinerU's -l): codes the release's recogniser reads use it (v6: ch, en, "
        "chinese_cht, japan, latin, fr, de, ...; v4: ch, en); others load models-dir:ppocr/<family>_rec.onnx and "
        "<family>_dict.txt (family: korean, cyrillic, arabic, devanagari, ... see models/ocr_langs.py)",
    )
    det_weights: str | None = Field(None, description="text detector (DB) weights spec; None: the release's")
    cls_weights: str | None = Field(
        None, description="line orientation (0/180) classifier weights spec; None: the release's"
    )
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
    detect_orientation: bool = Field(
        True, description="turn sideways (90/270) and upside-down (180) pages upright before reading them"
    )
    orientation_sample: int = Field(
        12, ge=1, description="longest lines of a page that tell 0 from 180 degrees (classifier votes, else read both ways)"
    )
    orientation_votes: float = Field(
        0.75,
        gt=0.5,
        le=1,
        description="share of the sample's line-classifier votes that decides 0 or 180 alone; fewer: read both ways",
    )
    orientation_margin: float = Field(
        0.05, ge=0, lt=1, description="mean confidence the turned reading must gain to turn the page by 180 degrees"
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


def release(options: PpOcrOptions) -> PpOcrRelease:
    return RELEASES[options.version]


def rec_specs(options: PpOcrOptions) -> tuple[str, str | None]:
    """The recogniser weights spec and dictionary spec (None: from the ONNX metadata) for ``options``."""
    if options.rec_weights is not None:
        return options.rec_weights, options.rec_dict
    shipped = release(options)
    if options.lang.strip().lower() in shipped.codes:
        return shipped.rec, options.rec_dict
    name = family(options.lang)
    return f"models-dir:ppocr/{name}_rec.onnx", options.rec_dict or f"models-dir:ppocr/{name}_dict.txt"


def weight_specs(options: PpOcrOptions) -> dict[str, str]:
    """The weights the engine loads: det, rec (and cls when used)."""
    shipped = release(options)
    specs = {"det": options.det_weights or shipped.det, "rec": rec_specs(options)[0]}
    if options.use_cls:
        specs["cls"] = options.cls_weights or shipped.cls
    return specs


def missing_weights(options: PpOcrOptions) -> str | None:
    """Why the engine cannot be built with ``options`` (a weights file not found), or None; loads nothing."""
    for spec in weight_specs(options).values():
        try:
            weights.resolve(spec, models_root=options.models_dir)
        except weights.WeightNotFoundError as exc:
            return language_hint(options, exc) if spec == rec_specs(options)[0] else str(exc)
    return None


def language_hint(options: PpOcrOptions, exc: Exception) -> str:
    shipped = release(options)
    name = family(options.lang)
    return (
        f"OCR language {options.lang!r} is not available: {exc}. PP-OCR{options.version} reads "
        f"{', '.join(sorted(shipped.codes))}; for {options.lang!r} put ppocr/{name}_rec.onnx and "
        f"ppocr/{name}_dict.txt in the models directory"
    )


def load_charset(session, dict_path) -> list[str]:
    if dict_path is not None:
        return charset_from_file(dict_path.read_text(encoding="utf-8"))
    metadata = session.get_modelmeta().custom_metadata_map
    if "character" not in metadata:
        raise ValueError("the recogniser has no 'character' metadata; give rec_dict")
    return charset_from_metadata(metadata["character"])


def dictionary_path(dict_spec: str | None, options: PpOcrOptions):
    """The recogniser dictionary's path; None: the ONNX metadata (when no dictionary was named and none is found)."""
    if dict_spec is None:
        return None
    try:
        return weights.resolve(dict_spec, models_root=options.models_dir)
    except weights.WeightNotFoundError:
        if options.rec_dict is not None:
            raise
        return None


def upright_page(image: np.ndarray, quads: Sequence[Quad], rotation: int) -> tuple[np.ndarray, list[Quad]]:
    """The image turned clockwise by ``rotation`` and its line quads where they lie in the turned image."""
    height, width = image.shape[:2]
    return turn_image(image, rotation), [order_quad(turn_points(q, rotation, width, height)) for q in quads]


def head_of_line(crop: np.ndarray, max_aspect: float = 16.0) -> np.ndarray:
    """At most ``max_aspect`` line heights of a line crop (enough glyphs to tell which way is up)."""
    height, width = crop.shape[:2]
    return crop[:, : max(1, min(width, int(max_aspect * height)))]


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
        self.timings: dict[str, float] = {"det": 0.0, "orient": 0.0, "cls": 0.0, "rec": 0.0}  # seconds, summed

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
        except weights.WeightNotFoundError as exc:
            raise weights.WeightNotFoundError(language_hint(options, exc)) from None
        dict_path = dictionary_path(dict_spec, options)
        rec_session = session(optimized_model(rec_path), device=device, threads=threads)
        params = DetParams(
            limit=options.det_limit,
            limit_type=options.det_limit_type,
            thresh=options.det_thresh,
            box_thresh=options.det_box_thresh,
            unclip_ratio=options.det_unclip_ratio,
        )
        classifier = (
            OrientationClassifier(load(weight_specs(options)["cls"]), threshold=options.cls_threshold)
            if options.use_cls
            else None
        )
        return cls(
            TextDetector(load(weight_specs(options)["det"]), params),
            TextRecognizer(
                rec_session,
                load_charset(rec_session, dict_path),
                batch_size=options.rec_batch_size or rec_batch_default(rec_session),
                width_scale=options.rec_width_scale,
            ),
            classifier,
            options,
        )

    @staticmethod
    def unavailable(options: PpOcrOptions) -> str | None:
        """Why :meth:`from_options` would fail for lack of weights, or None (nothing is loaded)."""
        return missing_weights(options)

    # ------------------------------------------------------------------ OcrModel
    def read(self, images: Sequence[np.ndarray]) -> list[list[RecognizedLine]]:
        """Lines of each RGB image (pixels of that image), in reading order of the page turned upright."""
        images = [as_rgb(image) for image in images]
        crops, owners = [], []
        for index, image in enumerate(images):
            start = time.perf_counter()
            quads = [quad for quad, _ in self.detector.detect(image)]
            self.timings["det"] += time.perf_counter() - start
            start = time.perf_counter()
            rotation = self.orientation(image, quads) if self.options.detect_orientation and quads else 0
            upright, upright_quads = turn_image(image, rotation), quads
            self.timings["orient"] += time.perf_counter() - start
            if rotation:  # detect again on the upright page: the detector places horizontal lines best
                start = time.perf_counter()
                upright_quads = [quad for quad, _ in self.detector.detect(upright)]
                self.timings["det"] += time.perf_counter() - start
            for quad in upright_quads:
                crops.append(crop_quad(upright, quad))
                owners.append((index, quad, rotation, upright.shape[1], upright.shape[0]))
        results: list[list[RecognizedLine]] = [[] for _ in images]
        for (index, quad, rotation, width, height), line in zip(owners, self._recognize_crops(crops)):
            text = self._text(line)
            if text and line.score >= self.options.min_score:
                back = turn_points(quad, (360 - rotation) % 360, width, height)
                results[index].append(
                    RecognizedLine(text, tuple(float(v) for v in back.reshape(-1)), line.score, rotation)
                )
        return results

    def orientation(self, image: np.ndarray, quads: Sequence[Quad]) -> int:
        """The clockwise turn (0/90/180/270) that makes the image's text upright, from its detected lines.

        Sideways or not from the boxes' shapes; which way up from the 0/180 line classifier's votes on the
        longest lines when they agree, else from the recogniser's confidence on them read both ways.
        """
        base = 90 if is_sideways(quads) else 0
        turned, turned_quads = upright_page(image, quads, base)
        sample = [
            head_of_line(crop_quad(turned, turned_quads[i]))
            for i in longest_lines(turned_quads, self.options.orientation_sample)
        ]
        if self.classifier is not None:
            share = float(np.mean([p > 0.5 for p in self.classifier.prob_180(sample)]))
            if share >= self.options.orientation_votes or share <= 1 - self.options.orientation_votes:
                return base + 180 if share >= 0.5 else base
        flipped = [np.ascontiguousarray(c[::-1, ::-1]) for c in sample]
        scores = [d.score for d in self.recognizer.recognize([*sample, *flipped])]
        if upside_down(scores[: len(sample)], scores[len(sample) :], self.options.orientation_margin):
            return base + 180
        return base

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
