"""YOLO-family layout detectors exported to ONNX (DocLayout-YOLO, YOLOv8/v11 layout models).

The documented way to plug another detector from the local models directory: put its ``.onnx`` there
and name it with ``weights: models-dir:<file>``, its class names and their MinerU block types.

Pre-processing is Ultralytics' letterbox: scale to fit ``input_size`` keeping the aspect ratio, pad
the rest with grey (114) centred, RGB scaled to 0..1.  Two output layouts are decoded:

* ``anchors`` — YOLOv8-style raw head ``[N, 4 + C, anchors]``: centre x, centre y, width, height in
  input pixels, then one score per class (best class per anchor, then per-class NMS);
* ``end2end`` — NMS-free exports such as DocLayout-YOLO (YOLOv10 head) ``[N, K, 6]``: x0, y0, x1, y1,
  score, class id.

``auto`` picks by shape.  Boxes are mapped back through the letterbox to the page image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from pydantic import Field, model_validator

from docray.config import StrictModel
from docray.models.layout_common import candidates, in_batches, postprocess
from docray.models.onnx import OnnxOptions
from docray.models.protocols import Detection
from docray.schema import BlockType

OutputFormat = Literal["auto", "anchors", "end2end"]
PAD_VALUE = 114


class YoloOptions(StrictModel):
    """An ONNX YOLO layout detector from the models directory (e.g. DocLayout-YOLO)."""

    kind: Literal["yolo_onnx"] = "yolo_onnx"
    weights: str = Field(
        "models-dir:DocLayout-YOLO/model.onnx", description="weight spec (models-dir:, wheel: or a path) of the ONNX file"
    )
    class_names: list[str] = Field(min_length=1, description="the detector's class names, in class-id order")
    block_types: dict[str, BlockType] = Field(
        description="class name -> MinerU block type; classes left out are dropped by the layout operator"
    )
    input_size: int | tuple[int, int] = Field(
        1024, description="network input: one side for a square input, or (height, width); the ONNX input's fixed size wins"
    )
    output_format: OutputFormat = Field("auto", description="'anchors' ([N, 4+C, A]), 'end2end' ([N, K, 6]) or 'auto' by shape")
    score_threshold: float = Field(0.25, ge=0, le=1, description="drop detections whose class score is below this")
    nms_iou: float = Field(0.45, gt=0, le=1, description="per-class NMS: drop a box overlapping a better one above this IoU")
    cross_class_iou: float | None = Field(
        0.8, gt=0, le=1, description="drop a box overlapping a better box of another class above this IoU; None keeps both"
    )
    max_detections: int = Field(300, ge=1, description="keep at most this many detections per page, best first")
    onnx: OnnxOptions = Field(default_factory=OnnxOptions, description="ONNX Runtime device and threads")

    @model_validator(mode="after")
    def _known_classes(self) -> YoloOptions:
        unknown = sorted(set(self.block_types) - set(self.class_names))
        if unknown:
            raise ValueError(f"block_types names classes that are not in class_names: {unknown}")
        return self


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was placed in the network input: ``input = image * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) in input pixels back to image pixels."""
        pad = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y])
        return (boxes - pad) / self.scale


def letterbox(image: np.ndarray, height: int, width: int) -> tuple[np.ndarray, Letterbox]:
    """An RGB uint8 image fitted into ``height x width`` (aspect kept, centred, grey padding), as float32 [3, H, W] in 0..1."""
    import cv2

    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (width - new_w) / 2, (height - new_h) / 2
    left, top = round(pad_x - 0.1), round(pad_y - 0.1)
    canvas = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    resized = image if (new_w, new_h) == (w, h) else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas[top : top + new_h, left : left + new_w] = resized
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32) / 255.0
    return tensor, Letterbox(scale=scale, pad_x=float(left), pad_y=float(top))


def output_format_of(output: np.ndarray, num_classes: int, declared: OutputFormat = "auto") -> Literal["anchors", "end2end"]:
    """Which layout a batched output ``[N, ., .]`` has."""
    if declared != "auto":
        return declared
    if output.ndim == 3 and output.shape[1] == 4 + num_classes:
        return "anchors"
    if output.ndim == 3 and output.shape[2] == 6:
        return "end2end"
    raise ValueError(f"cannot tell the YOLO output layout of shape {output.shape} with {num_classes} classes; set output_format")


def decode_anchors(prediction: np.ndarray, score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's ``[4 + C, anchors]`` head to candidate boxes (x0, y0, x1, y1), scores and classes."""
    rows = prediction.T
    keep, classes, scores = candidates(rows[:, 4:], score_threshold, multi_label=False)
    cx, cy, w, h = rows[keep, :4].T
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes, scores, classes


def decode_end2end(prediction: np.ndarray, score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's ``[K, 6]`` (x0, y0, x1, y1, score, class) to candidate boxes, scores and classes."""
    keep = prediction[:, 4] > score_threshold
    return prediction[keep, :4], prediction[keep, 4], prediction[keep, 5].astype(np.int64)


def input_hw(session_shape: Sequence[object], configured: int | tuple[int, int]) -> tuple[int, int]:
    """The network's (height, width): fixed in the ONNX input when it is, else from the options."""
    if len(session_shape) == 4 and all(isinstance(d, int) and d > 0 for d in session_shape[2:]):
        return int(session_shape[2]), int(session_shape[3])  # type: ignore[arg-type]
    return (configured, configured) if isinstance(configured, int) else (int(configured[0]), int(configured[1]))


class YoloLayout:
    """A :class:`~docray.models.protocols.LayoutModel` over a YOLO ONNX export."""

    def __init__(self, session, options: YoloOptions):
        self.session = session
        self.options = options
        self.labels = tuple(options.class_names)
        model_input = session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_size = input_hw(model_input.shape, options.input_size)
        batch = model_input.shape[0]
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else None  # None: dynamic batch

    @classmethod
    def from_options(cls, options: YoloOptions, threads: int = 1) -> YoloLayout:
        from docray.models import onnx, weights

        path = weights.resolve(options.weights)
        return cls(onnx.session(path, device=options.onnx.device, threads=options.onnx.threads or threads), options)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections per RGB uint8 image, in that image's pixels; one ONNX run per batch the export allows."""
        return in_batches(images, self.max_batch, self._detect_batch)

    def _detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not images:
            return []
        height, width = self.input_size
        prepared = [letterbox(image, height, width) for image in images]
        batch = np.stack([tensor for tensor, _ in prepared])
        output = self.session.run(None, {self.input_name: batch})[0]
        o = self.options
        layout = output_format_of(output, len(self.labels), o.output_format)
        decode = decode_anchors if layout == "anchors" else decode_end2end
        results = []
        for prediction, image, (_, placement) in zip(output, images, prepared):
            boxes, scores, classes = decode(prediction, o.score_threshold)
            results.append(
                postprocess(
                    placement.to_image(boxes),
                    scores,
                    classes,
                    self.labels,
                    nms_iou=o.nms_iou,
                    max_detections=o.max_detections,
                    cross_class_iou=o.cross_class_iou,
                    image_size=(image.shape[1], image.shape[0]),
                )
            )
        return results
