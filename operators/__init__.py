"""docray operators: one module per operator, its config beside it.

Operators are looked up by name; modules import lazily so that naming a pipeline never imports
every engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docray.operators.base import Operator

OPERATORS: dict[str, str] = {
    "ingest": "docray.operators.ingest:IngestOperator",
    "render": "docray.operators.render:RenderOperator",
    "assemble": "docray.operators.assemble:AssembleOperator",
    "ocr": "docray.operators.ocr:OcrOperator",
    "crop": "docray.operators.crop:CropOperator",
    "layout": "docray.operators.layout:LayoutOperator",
    "table": "docray.operators.table:TableOperator",
    "quality": "docray.operators.quality:QualityOperator",
    "formula": "docray.operators.formula:FormulaOperator",
    "vlm": "docray.operators.vlm:VlmOperator",
}


def get_operator(name: str) -> type[Operator]:
    """The operator class registered under ``name``."""
    try:
        target = OPERATORS[name]
    except KeyError:
        known = ", ".join(sorted(OPERATORS))
        raise KeyError(f"unknown operator {name!r}; known operators: {known}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
