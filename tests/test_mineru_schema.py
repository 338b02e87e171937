"""The MinerU schema models accept MinerU's documented examples and reject malformed items."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from docray.formats.mineru_schema import validate_content_list, validate_middle_json

# Shapes as MinerU's output documentation shows them (values shortened).
DOCUMENTED_CONTENT_LIST = [
    {"type": "text", "text": "The response of flow duration curves to afforestation ", "text_level": 1,
     "bbox": [62, 480, 946, 904], "page_idx": 0},
    {"type": "image", "img_path": "images/a8ec.jpg", "image_caption": ["Fig. 1. Annual flow duration curves"],
     "image_footnote": [], "bbox": [62, 480, 946, 904], "page_idx": 1},
    {"type": "equation", "img_path": "images/181e.jpg", "text": "$$\nQ _ { \\% } = f ( P ) + g ( T )\n$$",
     "text_format": "latex", "bbox": [62, 480, 946, 904], "page_idx": 2},
    {"type": "table", "img_path": "images/e3cb.jpg", "table_caption": ["Table 2 Significance"],
     "table_footnote": ["indicates that ..."], "table_body": "<html><body><table><tr><td>Site</td></tr></table></body></html>",
     "bbox": [62, 480, 946, 904], "page_idx": 5},
    {"type": "code", "sub_type": "algorithm", "code_caption": ["Algorithm 1 Modules for MCTSteg"],
     "code_body": "1: function GETCOORDINATE(d)", "bbox": [510, 87, 881, 740], "page_idx": 0},
    {"type": "list", "sub_type": "text", "list_items": ["H.1 Introduction", "H.4 Summary"],
     "bbox": [174, 155, 818, 333], "page_idx": 0},
    {"type": "header", "text": "Journal of Hydrology 310 (2005) 253-265", "bbox": [363, 164, 623, 177], "page_idx": 0},
]  # fmt: skip

DOCUMENTED_MIDDLE = {
    "pdf_info": [
        {
            "preproc_blocks": [
                {"type": "text", "bbox": [52, 61.95, 294, 82.99], "lines": [
                    {"bbox": [52, 61.95, 294, 72.0], "spans": [
                        {"bbox": [54.0, 61.95, 296.22, 72.0], "content": "dependent on the service headway ",
                         "type": "text", "score": 1.0}]}]}
            ],
            "layout_bboxes": [{"layout_bbox": [52, 61, 294, 731], "layout_label": "V", "sub_layout": []}],
            "page_idx": 0, "page_size": [612.0, 792.0], "_layout_tree": [], "images": [], "tables": [],
            "interline_equations": [], "discarded_blocks": [],
            "para_blocks": [{"type": "text", "bbox": [52, 61.95, 294, 82.99], "lines": []}],
        }
    ],
    "_backend": "pipeline",
    "_version_name": "0.6.1",
}  # fmt: skip


def test_documented_examples_validate():
    assert len(validate_content_list(DOCUMENTED_CONTENT_LIST)) == len(DOCUMENTED_CONTENT_LIST)
    middle = validate_middle_json(DOCUMENTED_MIDDLE)
    assert middle.backend == "pipeline" and middle.pdf_info[0].page_size == [612.0, 792.0]


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "text", "text": "x", "bbox": [0, 0, 10, 10]},  # no page_idx
        {"type": "text", "text": "x", "bbox": [0, 0, 10, 1200], "page_idx": 0},  # not 0..1000
        {"type": "text", "text": "x", "bbox": [0, 0, 10], "page_idx": 0},
        {"type": "text", "text": "x", "bbox": [0, 0, 10, 10], "page_idx": 0, "level": 1},  # unknown key
        {"type": "figure", "bbox": [0, 0, 10, 10], "page_idx": 0},  # not a MinerU type
        {"type": "list", "sub_type": "bullets", "list_items": [], "bbox": [0, 0, 1, 1], "page_idx": 0},
    ],
)
def test_malformed_content_list_items_are_rejected(bad):
    with pytest.raises(ValidationError):
        validate_content_list([bad])


def test_malformed_middle_json_is_rejected():
    page = dict(DOCUMENTED_MIDDLE["pdf_info"][0])
    del page["para_blocks"]
    with pytest.raises(ValidationError):
        validate_middle_json({**DOCUMENTED_MIDDLE, "pdf_info": [page]})
    with pytest.raises(ValidationError):
        validate_middle_json({**DOCUMENTED_MIDDLE, "_backend": "other"})
