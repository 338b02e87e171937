"""MinerU output formats: Markdown, content_list.json, middle.json, model.json."""

from __future__ import annotations

import json

from textlayer_pages import page, paragraph, span, words

from docray.datamodel import Block, Line, PageLayout, Span
from docray.formats.mineru import (
    normalised_bbox,
    to_content_list,
    to_markdown,
    to_middle_json,
    to_model_json,
)
from docray.operators.textlayer.document import assemble_document
from docray.schema import BlockType, FontFlags

W, H = 600.0, 800.0


def _text_block(kind: BlockType, text: str, bbox, order: int, level: int = 0) -> Block:
    line = Line(spans=[Span(text=text, bbox=bbox, size=10.0)], bbox=bbox)
    return Block(type=kind, bbox=bbox, lines=[line], text=text, level=level, order=order)


def _layouts() -> list[PageLayout]:
    first = PageLayout(page_idx=0, width=W, height=H)
    first.blocks = [
        _text_block(BlockType.TITLE, "Main Title", (100.0, 50.0, 500.0, 70.0), 0, level=1),
        _text_block(BlockType.TEXT, "First paragraph.", (60.0, 100.0, 540.0, 160.0), 1),
        Block(type=BlockType.IMAGE, bbox=(60.0, 200.0, 540.0, 400.0), order=2),
        _text_block(BlockType.TITLE, "Sub Section", (60.0, 420.0, 200.0, 432.0), 3, level=2),
        _text_block(BlockType.TEXT, "#hashtag opens this paragraph.", (60.0, 440.0, 540.0, 460.0), 4),
    ]
    first.discarded = [_text_block(BlockType.HEADER, "Running Header", (60.0, 10.0, 300.0, 20.0), -1)]
    empty = PageLayout(page_idx=1, width=W, height=H)
    third = PageLayout(page_idx=2, width=W, height=H)
    third.blocks = [
        Block(type=BlockType.IMAGE, bbox=(0.0, 0.0, 600.0, 800.0), order=0, img_path="fig.jpg"),
        _text_block(BlockType.TEXT, "Last words.", (60.0, 700.0, 540.0, 712.0), 1),
    ]
    third.discarded = [_text_block(BlockType.PAGE_NUMBER, "3", (295.0, 770.0, 305.0, 780.0), -1)]
    return [first, empty, third]


# ---------------------------------------------------------------------------- Markdown


def test_markdown_titles_paragraphs_images_and_no_furniture():
    markdown = to_markdown(_layouts())
    assert markdown == (
        "# Main Title\n\nFirst paragraph.\n\n## Sub Section\n\n\\#hashtag opens this paragraph.\n\n"
        "![](images/fig.jpg)\n\nLast words."
    )
    assert "Running Header" not in markdown and "\n3\n" not in markdown


def test_markdown_image_dir_and_paths_that_already_have_it():
    layouts = _layouts()
    assert "![](assets/fig.jpg)" in to_markdown(layouts, image_dir="assets")
    layouts[2].blocks[0].img_path = "images/fig.jpg"
    assert "![](images/fig.jpg)" in to_markdown(layouts)


def test_markdown_title_levels_are_clamped_to_1_6():
    layout = PageLayout(page_idx=0, width=W, height=H)
    layout.blocks = [
        _text_block(BlockType.TITLE, "Zero", (0, 0, 10, 10), 0, level=0),
        _text_block(BlockType.TITLE, "Deep", (0, 20, 10, 30), 1, level=9),
    ]
    assert to_markdown([layout]) == "# Zero\n\n###### Deep"


# ---------------------------------------------------------------------------- content_list


def test_content_list_items_follow_the_pipeline_schema():
    items = to_content_list(_layouts())
    assert [(i["type"], i["page_idx"]) for i in items] == [
        ("text", 0), ("text", 0), ("image", 0), ("text", 0), ("text", 0), ("image", 2), ("text", 2),
    ]  # fmt: skip
    assert items[0] == {"type": "text", "text": "Main Title", "text_level": 1, "bbox": [166, 62, 833, 87], "page_idx": 0}
    assert items[3]["text_level"] == 2
    assert "text_level" not in items[1]
    assert items[2] == {
        "type": "image",
        "img_path": "",
        "image_caption": [],
        "image_footnote": [],
        "bbox": [100, 250, 900, 500],
        "page_idx": 0,
    }
    assert items[5]["img_path"] == "images/fig.jpg"
    assert items[5]["bbox"] == [0, 0, 1000, 1000]
    for item in items:
        assert all(isinstance(v, int) and 0 <= v <= 1000 for v in item["bbox"])
    assert json.loads(json.dumps(items, ensure_ascii=False)) == items


def test_content_list_can_include_discarded_blocks_after_each_page():
    items = to_content_list(_layouts(), include_discarded=True)
    assert [(i["type"], i["page_idx"]) for i in items if i["type"] not in ("text", "image")] == [
        ("header", 0),
        ("page_number", 2),
    ]
    assert items[5] == {"type": "header", "text": "Running Header", "bbox": [100, 12, 500, 25], "page_idx": 0}
    assert items[-1]["type"] == "page_number"


def test_normalised_bbox_is_clamped():
    assert normalised_bbox((-5.0, 10.0, 700.0, 900.0), 600.0, 800.0) == [0, 12, 1000, 1000]
    assert normalised_bbox((1.0, 1.0, 2.0, 2.0), 0.0, 0.0) == [0, 0, 0, 0]


# ---------------------------------------------------------------------------- middle.json


def test_middle_json_structure():
    middle = to_middle_json(_layouts(), parse_method="auto", version="9.9.9")
    assert set(middle) == {"pdf_info", "_backend", "_version_name", "_parse_type"}
    assert (middle["_backend"], middle["_version_name"], middle["_parse_type"]) == ("pipeline", "9.9.9", "auto")
    assert [p["page_idx"] for p in middle["pdf_info"]] == [0, 1, 2]
    first = middle["pdf_info"][0]
    assert set(first) >= {
        "preproc_blocks", "page_idx", "page_size", "images", "tables", "interline_equations", "discarded_blocks",
        "para_blocks",
    }  # fmt: skip
    assert first["page_size"] == [600.0, 800.0]
    assert [b["type"] for b in first["para_blocks"]] == ["title", "text", "image", "title", "text"]
    assert [b["index"] for b in first["para_blocks"]] == [0, 1, 2, 3, 4]
    title = first["para_blocks"][0]
    assert title["level"] == 1 and "level" not in first["para_blocks"][1]
    assert title["lines"] == [
        {
            "bbox": [100.0, 50.0, 500.0, 70.0],
            "spans": [{"bbox": [100.0, 50.0, 500.0, 70.0], "content": "Main Title", "type": "text", "score": 1.0}],
        }
    ]
    image = first["para_blocks"][2]
    assert image["bbox"] == [60.0, 200.0, 540.0, 400.0]
    (body,) = image["blocks"]
    assert body["type"] == "image_body"
    assert body["lines"][0]["spans"][0]["type"] == "image"
    assert body["lines"][0]["spans"][0]["image_path"] == ""
    assert first["images"] == [image]
    assert first["tables"] == [] and first["interline_equations"] == []
    assert [(b["type"], b["lines"][0]["spans"][0]["content"]) for b in first["discarded_blocks"]] == [
        ("header", "Running Header")
    ]
    third = middle["pdf_info"][2]
    assert third["para_blocks"][0]["blocks"][0]["lines"][0]["spans"][0]["image_path"] == "fig.jpg"
    assert middle["pdf_info"][1]["para_blocks"] == []
    assert json.loads(json.dumps(middle)) == middle


def test_middle_json_from_assembled_text_keeps_every_span_and_rounds_boxes():
    spans, _ = paragraph(words(60), 72.123456, 100.98765, 300)
    spans.append(span("Bold", 72, 300, flags=FontFlags.BOLD))
    layouts = assemble_document([page(0, spans)])
    middle = to_middle_json(layouts, parse_method="txt", version="0.1.0")
    contents = [
        s["content"] for b in middle["pdf_info"][0]["para_blocks"] for line in b["lines"] for s in line["spans"]
    ]
    assert " ".join(contents).split() == " ".join(s.text for s in spans).split()
    for block in middle["pdf_info"][0]["para_blocks"]:
        for value in block["bbox"]:
            assert isinstance(value, float) and round(value, 3) == value


# ---------------------------------------------------------------------------- model.json


def test_model_json_categories_and_polygons():
    pages = to_model_json(_layouts(), dpi=144)
    assert [p["page_info"] for p in pages] == [
        {"page_no": 0, "width": 1200, "height": 1600},
        {"page_no": 1, "width": 1200, "height": 1600},
        {"page_no": 2, "width": 1200, "height": 1600},
    ]
    dets = pages[0]["layout_dets"]
    assert [d["category_id"] for d in dets] == [0, 1, 3, 0, 1, 2]
    assert dets[0]["poly"] == [200.0, 100.0, 1000.0, 100.0, 1000.0, 140.0, 200.0, 140.0]
    assert pages[1]["layout_dets"] == []
