"""Math formula detection (MFD) on page images with a YOLO ONNX model from the local models directory.

For scanned pages (no text layer to find formulas in) a detector finds inline and display formulas
on the page image; their crops then go to an image :class:`~docray.models.protocols.FormulaModel`.
The default matches MinerU's MFD: a YOLOv8 model with two classes, ``inline`` (0) and ``isolated``
(1), run at ``imgsz=1888`` with ``conf=0.25`` and ``iou=0.45`` and class-aware NMS (an inline and a
display box may overlap).  MinerU ships it as an Ultralytics ``.pt`` (``models/MFD/YOLO/yolo_v8_ft.pt``);
export it once to ONNX (``yolo export model=yolo_v8_ft.pt format=onnx imgsz=1888``) and put the ``.onnx``
in the models directory.  Any other YOLOv8/v10-style formula detector plugs in the same way with its
own ``class_names`` and ``block_types``.

Decoding (letterbox, both head layouts, NMS) is :class:`~docray.models.layout_yolo.YoloLayout`'s; this
module only presets it and turns its detections into typed formula boxes in image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from pydantic import Field, model_validator

from docray.models.layout_common import in_batches
from docray.models.layout_yolo import YoloLayout, YoloOptions
from docray.models.protocols import PixelBox
from docray.schema import BlockType

FORMULA_TYPES = frozenset({BlockType.INLINE_EQUATION, BlockType.INTERLINE_EQUATION})


class MfdOptions(YoloOptions):
    """A YOLO formula detector (MinerU's MFD by default) exported to ONNX, from the models directory: the YOLO
    layout options with MFD's defaults."""

    kind: Literal["mfd_yolo"] = "mfd_yolo"  # type: ignore[assignment]
    weights: str = Field(
        "models-dir:MFD/YOLO/yolo_v8_ft.onnx", description="weight spec (models-dir:, wheel: or a path) of the ONNX file"
    )
    class_names: list[str] = Field(["inline", "isolated"], min_length=1, description="the detector's classes, in id order")
    block_types: dict[str, BlockType] = Field(
        {"inline": BlockType.INLINE_EQUATION, "isolated": BlockType.INTERLINE_EQUATION},
        description="class name -> inline_equation or interline_equation; classes left out are dropped",
    )
    input_size: int | tuple[int, int] = Field(
        1888, description="network input (MinerU's imgsz): a side or (height, width); a fixed ONNX input size wins"
    )
    cross_class_iou: float | None = Field(
        None, gt=0, le=1, description="drop a box overlapping a better box of another class above this IoU; None: keep"
    )
    batch_size: int = Field(4, ge=1, description="page images per ONNX run (fewer when the export's batch is fixed)")

    @model_validator(mode="after")
    def _formula_types(self) -> MfdOptions:
        wrong = {name: t.value for name, t in self.block_types.items() if t not in FORMULA_TYPES}
        if wrong:
            raise ValueError(f"block_types must map to inline_equation or interline_equation, not {wrong}")
        return self

    def yolo_options(self) -> YoloOptions:
        """The equivalent :class:`YoloOptions` (kind ``yolo_onnx``)."""
        return YoloOptions.model_validate(self.model_dump(exclude={"kind", "batch_size"}))


@dataclass(frozen=True, slots=True)
class FormulaBox:
    """A formula found on a page image: inline or display (interline), in that image's pixels."""

    type: BlockType  # INLINE_EQUATION or INTERLINE_EQUATION
    box: PixelBox
    score: float

    @property
    def display(self) -> bool:
        return self.type is BlockType.INTERLINE_EQUATION


class MfdDetector:
    """Formula boxes per page image through a :class:`YoloLayout`."""

    def __init__(self, layout: YoloLayout, block_types: dict[str, BlockType], batch_size: int = 4):
        self.layout = layout
        self.block_types = dict(block_types)
        self.batch_size = batch_size

    @classmethod
    def from_options(cls, options: MfdOptions, threads: int = 1) -> MfdDetector:
        layout = YoloLayout.from_options(options.yolo_options(), threads=threads)
        return cls(layout, options.block_types, options.batch_size)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[FormulaBox]]:
        """Formulas of each RGB uint8 page image, best score first; classes without a block type are dropped."""
        pages = in_batches(images, self.batch_size, self.layout.detect)
        return [
            [FormulaBox(self.block_types[d.label], d.box, d.score) for d in detections if d.label in self.block_types]
            for detections in pages
        ]
