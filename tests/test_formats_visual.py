"""MinerU formats of figures, tables and display equations (blocks built by hand)."""

from __future__ import annotations

from docray.datamodel import Block, Line, PageLayout, Span
from docray.formats.mineru import block_markdown, table_body, to_content_list, to_middle_json
from docray.formats.mineru_model import category_of, to_model_json
from docray.formats.mineru_schema import validate_content_list, validate_middle_json, validate_model_json
from docray.schema import BlockType

W, H = 600.0, 800.0
HTML = "<table><tr><td>a</td></tr></table>"


def _text(kind: BlockType, text: str, bbox) -> Block:
    return Block(type=kind, bbox=bbox, lines=[Line(spans=[Span(text=text, bbox=bbox, size=9.0)], bbox=bbox)], text=text)


def _figure() -> Block:
    figure = Block(type=BlockType.IMAGE, bbox=(60.0, 100.0, 540.0, 300.0), img_path="fig.jpg", order=0)
    figure.children = [
        _text(BlockType.IMAGE_CAPTION, "Figure 1: caption.", (60.0, 305.0, 300.0, 315.0)),
        _text(BlockType.IMAGE_FOOTNOTE, "Source: a survey.", (60.0, 318.0, 300.0, 328.0)),
    ]
    return figure


def _table(html: str | None = HTML, img_path: str | None = "tab.jpg") -> Block:
    table = Block(type=BlockType.TABLE, bbox=(60.0, 400.0, 540.0, 500.0), html=html, img_path=img_path, order=1)
    table.children = [
        _text(BlockType.TABLE_CAPTION, "Table 1: values.", (60.0, 385.0, 300.0, 395.0)),
        _text(BlockType.TABLE_FOOTNOTE, "n = 12.", (60.0, 505.0, 300.0, 515.0)),
    ]
    return table


def _equation(latex: str | None = None) -> Block:
    return Block(type=BlockType.INTERLINE_EQUATION, bbox=(200.0, 600.0, 400.0, 630.0), img_path="eq.jpg", latex=latex, order=2)


def _layouts() -> list[PageLayout]:
    return [PageLayout(page_idx=0, width=W, height=H, blocks=[_figure(), _table(), _equation("E = mc^2")])]


def test_markdown_of_figures_tables_and_equations():
    assert block_markdown(_figure()) == "![](images/fig.jpg)  \nFigure 1: caption.  \nSource: a survey."
    assert block_markdown(_table()) == f"Table 1: values.\n<html><body>{HTML}</body></html>\nn = 12."
    assert block_markdown(_table(html=None)) == "Table 1: values.\n![](images/tab.jpg)\nn = 12."
    assert block_markdown(_equation()) == "![](images/eq.jpg)"
    assert block_markdown(_equation("x^2")) == "$$\nx^2\n$$"
    assert block_markdown(Block(type=BlockType.IMAGE, bbox=(0, 0, 1, 1))) == ""


def test_table_body_wraps_once():
    assert table_body(HTML) == f"<html><body>{HTML}</body></html>"
    assert table_body(f"<html><body>{HTML}</body></html>") == f"<html><body>{HTML}</body></html>"
    assert table_body(None) == "" and table_body("") == ""


def test_content_list_items():
    items = to_content_list(_layouts())
    validate_content_list(items)
    figure, table, equation = items
    assert figure["image_caption"] == ["Figure 1: caption."] and figure["image_footnote"] == ["Source: a survey."]
    assert figure["bbox"] == [100, 125, 900, 410]  # the figure with its caption and footnote
    assert table["table_footnote"] == ["n = 12."] and table["img_path"] == "images/tab.jpg"
    assert table["bbox"][1] == int(385 * 1000 / H)
    assert equation["text"] == "$$\nE = mc^2\n$$" and equation["img_path"] == "images/eq.jpg"


def test_middle_json_blocks():
    middle = to_middle_json(_layouts(), parse_method="auto", version="0")
    validate_middle_json(middle)
    page = middle["pdf_info"][0]
    assert [b["type"] for b in page["images"][0]["blocks"]] == ["image_body", "image_caption", "image_footnote"]
    assert [b["type"] for b in page["tables"][0]["blocks"]] == ["table_caption", "table_body", "table_footnote"]
    span = page["interline_equations"][0]["lines"][0]["spans"][0]
    assert span == {**span, "type": "interline_equation", "content": "E = mc^2", "image_path": "eq.jpg"}
    assert page["images"][0]["blocks"][0]["lines"][0]["spans"][0]["image_path"] == "fig.jpg"


def test_model_json_from_blocks_includes_captions():
    pages = to_model_json(_layouts(), dpi=144)
    validate_model_json(pages)
    assert [d["category_id"] for d in pages[0]["layout_dets"]] == [3, 4, 7, 5, 6, 7, 8]


def test_categories():
    assert category_of(BlockType.TEXT, "formula_caption") == 9
    assert category_of(BlockType.PAGE_FOOTNOTE) == 2 and category_of(BlockType.HEADER) == 2
    assert category_of(BlockType.REF_TEXT) == 1 and category_of(BlockType.TABLE_BODY) == 5


def test_malformed_model_json_is_rejected():
    import pytest
    from pydantic import ValidationError

    good = {"layout_dets": [{"category_id": 1, "poly": [0, 0, 1, 0, 1, 1, 0, 1], "score": 0.5}], "page_info": {"page_no": 0, "width": 10, "height": 10}}
    validate_model_json([good])
    for bad_det in ({"category_id": 11, "poly": [0] * 8, "score": 1}, {"category_id": 1, "poly": [0] * 4, "score": 1}):
        with pytest.raises(ValidationError):
            validate_model_json([{**good, "layout_dets": [bad_det]}])
    with pytest.raises(ValidationError):
        validate_model_json([{**good, "page_info": {"page_no": 0, "width": 10, "height": 0}}])
