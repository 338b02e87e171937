"""Pydantic models of MinerU's ``content_list.json``, ``middle.json`` and ``model.json``, to validate outputs.

They follow MinerU's documented formats (pipeline and VLM backends): content_list items are
strict per type (unknown keys are errors); middle.json is strict where the format is fixed (page
keys, block/line/span shapes) and lets MinerU's optional extras (``_layout_tree``, ...) through.
model.json (pipeline backend) follows MinerU's documented ``PageInferenceResults`` (category ids
0-9, 13-15; ``poly`` 8 numbers; optional ``latex``/``html``; OCR lines may carry ``text``).
``validate_content_list`` / ``validate_middle_json`` / ``validate_model_json`` raise
``pydantic.ValidationError``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Box1000 = Annotated[list[Annotated[int, Field(ge=0, le=1000)]], Field(min_length=4, max_length=4)]
BoxPt = Annotated[list[float], Field(min_length=4, max_length=4)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bbox: Box1000
    page_idx: int = Field(ge=0)


class TextItem(_Item):
    type: Literal["text"]
    text: str
    text_level: int | None = Field(None, ge=0, description="1 = top-level title; absent or 0 for body text")


class ImageItem(_Item):
    type: Literal["image"]
    img_path: str
    image_caption: list[str] = Field(default_factory=list)
    image_footnote: list[str] = Field(default_factory=list)


class TableItem(_Item):
    type: Literal["table"]
    img_path: str = ""
    table_caption: list[str] = Field(default_factory=list)
    table_footnote: list[str] = Field(default_factory=list)
    table_body: str = ""


class EquationItem(_Item):
    type: Literal["equation"]
    img_path: str = ""
    text: str
    text_format: Literal["latex"] = "latex"


class CodeItem(_Item):
    type: Literal["code"]
    sub_type: Literal["code", "algorithm"]
    code_caption: list[str] = Field(default_factory=list)
    code_body: str


class ListItem(_Item):
    type: Literal["list"]
    sub_type: Literal["text", "ref_text"]
    list_items: list[str]


class DiscardedItem(_Item):
    type: Literal["header", "footer", "page_number", "aside_text", "page_footnote"]
    text: str


ContentItem = Annotated[
    Union[TextItem, ImageItem, TableItem, EquationItem, CodeItem, ListItem, DiscardedItem], Field(discriminator="type")
]
_CONTENT_LIST = TypeAdapter(list[ContentItem])


class MiddleSpan(BaseModel):
    model_config = ConfigDict(extra="allow")
    bbox: BoxPt
    type: Literal["text", "inline_equation", "interline_equation", "image", "table"]
    content: str | None = None
    image_path: str | None = None
    score: float | None = None


class MiddleLine(BaseModel):
    model_config = ConfigDict(extra="allow")
    bbox: BoxPt
    spans: list[MiddleSpan]


class MiddleBlock(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    bbox: BoxPt
    lines: list[MiddleLine] | None = None
    blocks: list[MiddleBlock] | None = None
    index: int | None = None
    level: int | None = None


class MiddlePage(BaseModel):
    model_config = ConfigDict(extra="allow")
    preproc_blocks: list[MiddleBlock]
    page_idx: int = Field(ge=0)
    page_size: Annotated[list[float], Field(min_length=2, max_length=2)]
    images: list[MiddleBlock]
    tables: list[MiddleBlock]
    interline_equations: list[MiddleBlock]
    discarded_blocks: list[MiddleBlock]
    para_blocks: list[MiddleBlock]


class MiddleJson(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    pdf_info: list[MiddlePage]
    backend: Literal["pipeline", "vlm"] = Field(alias="_backend")
    version_name: str = Field(alias="_version_name")


def validate_content_list(items: Any) -> list[BaseModel]:
    return _CONTENT_LIST.validate_python(items)


def validate_middle_json(data: Any) -> MiddleJson:
    return MiddleJson.model_validate(data)


class ModelDetection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category_id: Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15]
    poly: Annotated[list[float], Field(min_length=8, max_length=8)]
    score: float
    latex: str | None = None
    html: str | None = None
    text: str | None = None  # OCR lines (category 15)


class ModelPageInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_no: int = Field(ge=0)
    height: int = Field(gt=0)
    width: int = Field(ge=0)


class ModelPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layout_dets: list[ModelDetection]
    page_info: ModelPageInfo


_MODEL_JSON = TypeAdapter(list[ModelPage])


def validate_model_json(data: Any) -> list[ModelPage]:
    return _MODEL_JSON.validate_python(data)
