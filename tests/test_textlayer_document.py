"""assemble_document on synthetic multi-page documents built from hand-placed spans."""

from __future__ import annotations

from textlayer_pages import lines_at, page, paragraph, span, words

from docray.datamodel import PageLayout, PageText
from docray.operators.textlayer.document import AssembleOptions, assemble_document
from docray.schema import BlockType, FontFlags, Route

BOLD = FontFlags.BOLD
LEFT, RIGHT, COL_W, FULL_W = 72.0, 318.0, 222.0, 468.0


def _furniture(idx: int) -> list:
    return [span("Journal of Tests, vol. 3", 72, 36, 8), span(str(idx + 1), 303, 752, 9)]


def _first_page() -> PageText:
    spans = _furniture(0)
    spans.append(span("Reading Order Matters", 201, 72, 18, BOLD))  # 189 pt wide, centred
    abstract, _ = paragraph("Abstract " + words(70, 1), LEFT, 110, FULL_W)
    spans += abstract
    left, y = lines_at(["1 Introduction"], LEFT, 180, 12)
    spans += [_bold(s) for s in left]
    body, y = lines_at(
        [
            "first column starts with a long line here",
            "and it goes on with an exam-",
            "ple that was broken across lines.",
        ],
        LEFT, y + 4,
    )  # fmt: skip
    spans += body
    more, _ = paragraph("Second paragraph " + words(40, 2), LEFT, y, COL_W, indent=12)
    spans += more
    right, _ = paragraph("Right column " + words(60, 3), RIGHT, 180, COL_W)
    spans += right
    return page(0, spans)


def _bold(s):
    s.flags = BOLD
    return s


def _second_page() -> PageText:
    spans = _furniture(1)
    top_left, _ = paragraph("Upper left " + words(30, 4), LEFT, 80, COL_W)
    top_right, _ = paragraph("Upper right " + words(30, 5), RIGHT, 80, COL_W)
    label = span("axis label", 280, 300)  # text drawn over the figure: kept as text
    low_left, _ = paragraph("Lower left " + words(30, 6), LEFT, 420, COL_W)
    low_right, _ = paragraph("Lower right " + words(30, 7), RIGHT, 420, COL_W)
    spans += top_left + top_right + [label] + low_left + low_right
    figure = (100.0, 180.0, 510.0, 400.0)
    icon = (20.0, 20.0, 40.0, 40.0)  # far below 2 % of the page
    return page(1, spans, image_boxes=[figure, icon])


def _third_page() -> PageText:
    spans = _furniture(2)
    heading, y = lines_at(["2 Results"], LEFT, 80, 12)
    spans += [_bold(s) for s in heading]
    body, y = paragraph("Results " + words(50, 8), LEFT, y + 4, FULL_W)
    spans += body
    sub, y = lines_at(["2.1 Details"], LEFT, y + 8)
    spans += [_bold(s) for s in sub]
    tail, _ = paragraph("Details " + words(50, 9), LEFT, y + 2, FULL_W)
    spans += tail
    return page(2, spans)


def _document() -> list[PageText]:
    return [_third_page(), _first_page(), _second_page()]  # any order in, page order out


def _texts(layout: PageLayout) -> list[str]:
    return [b.text if b.type != BlockType.IMAGE else "<image>" for b in layout.blocks]


def test_pages_come_out_in_page_order_with_blocks_numbered_in_reading_order():
    layouts = assemble_document(_document())
    assert [layout.page_idx for layout in layouts] == [0, 1, 2]
    for layout in layouts:
        assert [b.order for b in layout.blocks] == list(range(len(layout.blocks)))
        assert all(b.order == -1 for b in layout.discarded)


def test_first_page_title_abstract_then_left_column_then_right_column():
    first = assemble_document(_document())[0]
    texts = _texts(first)
    assert texts[0] == "Reading Order Matters"
    assert texts[1].startswith("Abstract ")
    assert texts[2] == "1 Introduction"
    assert texts[3].startswith("first column starts")
    assert texts[4].startswith("Second paragraph ")  # first-line indent starts a paragraph
    assert texts[5].startswith("Right column ")
    assert len(texts) == 6


def test_hyphenated_line_end_is_joined():
    first = assemble_document(_document())[0]
    assert "with an example that was broken across lines." in first.blocks[3].text
    assert "exam-" not in first.blocks[3].text


def test_titles_and_levels_across_the_document():
    layouts = assemble_document(_document())
    titles = [(b.text, b.level) for layout in layouts for b in layout.blocks if b.type == BlockType.TITLE]
    assert titles == [("Reading Order Matters", 1), ("1 Introduction", 2), ("2 Results", 2), ("2.1 Details", 3)]
    bodies = [b for layout in layouts for b in layout.blocks if b.type == BlockType.TEXT]
    assert all(b.level == 0 for b in bodies)


def test_running_header_and_page_numbers_are_discarded_on_every_page():
    for layout in assemble_document(_document()):
        kinds = sorted((b.type.value, b.text) for b in layout.discarded)
        assert kinds == [("header", "Journal of Tests, vol. 3"), ("page_number", str(layout.page_idx + 1))]
        assert not any("Journal of Tests" in t for t in _texts(layout))


def test_furniture_is_kept_as_content_when_removal_is_off():
    layouts = assemble_document(_document(), AssembleOptions(remove_furniture=False))
    assert all(layout.discarded == [] for layout in layouts)
    assert _texts(layouts[0])[0] == "Journal of Tests, vol. 3"


def test_a_full_width_figure_sits_between_two_column_sections():
    second = assemble_document(_document())[1]
    texts = _texts(second)
    starts = [t.split(" ")[0] + (" " + t.split(" ")[1] if " " in t else "") for t in texts]
    assert starts == ["Upper left", "Upper right", "<image>", "axis label", "Lower left", "Lower right"]
    image = second.blocks[2]
    assert image.bbox == (100.0, 180.0, 510.0, 400.0)
    assert image.img_path is None


def test_dehyphenation_can_be_turned_off():
    first = assemble_document(_document(), AssembleOptions(dehyphenate=False))[0]
    assert "an exam-ple that" in first.blocks[3].text


def test_ocr_routed_page_gives_an_empty_layout():
    ocr = page(3, [span("garbage text layer", 72, 300)], route=Route.OCR)
    layouts = assemble_document(_document() + [ocr])
    assert layouts[3].blocks == [] and layouts[3].discarded == []
    assert (layouts[3].width, layouts[3].height) == (612.0, 792.0)


def test_a_paragraph_cut_by_the_column_break_is_joined_back():
    left, _ = lines_at(["x" * 40] * 3 + ["the sentence goes on and on into a hyphen-"], LEFT, 600)
    right, _ = lines_at(["ated word and ends here."], RIGHT, 80)
    layout = assemble_document([page(0, left + right)])[0]
    assert len(layout.blocks) == 1
    assert layout.blocks[0].text.endswith("into a hyphenated word and ends here.")
    assert len(layout.blocks[0].lines) == 5


def test_a_page_background_image_is_not_a_block():
    spans, _ = paragraph(words(40), LEFT, 300, FULL_W)
    layout = assemble_document([page(0, spans, image_boxes=[(0.0, 0.0, 612.0, 792.0)])])[0]
    assert [b.type for b in layout.blocks] == [BlockType.TEXT]


def test_an_empty_document():
    assert assemble_document([]) == []
    assert assemble_document([page(0, [])])[0].blocks == []
