"""Unit tests of the text-layer page logic: lines, reading order, paragraphs, titles, furniture."""

from __future__ import annotations

import pytest
from textlayer_pages import span

from docray.datamodel import Line, Span
from docray.operators.textlayer.furniture import find_furniture, is_page_number
from docray.operators.textlayer.lines import group_lines, is_bold
from docray.operators.textlayer.order import reading_order
from docray.operators.textlayer.paragraphs import (
    join_lines,
    split_paragraphs,
    typical_gap_em,
)
from docray.operators.textlayer.titles import (
    TitleCandidate,
    TitleOptions,
    section_number,
    title_candidate,
    title_levels,
)
from docray.schema import BlockType, FontFlags

BOLD = FontFlags.BOLD


# ---------------------------------------------------------------------------- lines


def test_spans_on_one_baseline_form_one_line_with_spaces_at_font_changes():
    spans = [span("plain", 72, 100), span("bold", 72 + 25 + 2.5, 100, flags=BOLD), span("again", 72 + 50 + 5, 100)]
    lines = group_lines(list(reversed(spans)))
    assert len(lines) == 1
    assert lines[0].text == "plain bold again"


def test_touching_spans_join_without_a_space():
    lines = group_lines([span("exa", 72, 100), span("mple", 87, 100, flags=BOLD)])
    assert [line.text for line in lines] == ["example"]


def test_spans_across_a_column_gutter_stay_separate_lines():
    left = span("left column text", 72, 100)  # ends at 152
    right = span("right column text", 170, 101)  # an 18 pt gutter, baseline 1 pt lower
    lines = group_lines([right, left])
    assert sorted(line.text for line in lines) == ["left column text", "right column text"]


@pytest.mark.parametrize("label", ["5.1", "Table 1.", "Fig. 3:", "2)", "\u2022"])
def test_a_label_may_be_followed_by_a_quad(label):
    first = span(label, 72, 100, flags=BOLD)
    lines = group_lines([first, span("Heading words", first.bbox[2] + 20, 100)])  # a 2 em gap
    assert [line.text for line in lines] == [f"{label} Heading words"]


def test_an_ordinary_word_is_not_followed_across_a_wide_gap():
    lines = group_lines([span("column", 72, 100), span("other", 72 + 30 + 20, 100)])
    assert len(lines) == 2


def test_lines_are_split_by_vertical_position_and_sorted_top_down():
    lines = group_lines([span("second", 72, 112), span("first", 72, 100), span("third", 72, 124)])
    assert [line.text for line in lines] == ["first", "second", "third"]


def test_a_superscript_stays_on_its_line():
    lines = group_lines([span("mass", 72, 100), span("2", 92, 97, size=6), span("is", 97, 100)])
    assert len(lines) == 1
    assert lines[0].text == "mass2 is"  # touching: no space; a 2 pt gap (> 0.12 em of 6 pt): a space


def test_blank_spans_are_ignored():
    assert group_lines([span("   ", 72, 100)]) == []


# ---------------------------------------------------------------------------- reading order


def _box_rows(x0: float, x1: float, top: float, n: int, leading: float = 12.0, height: float = 10.0):
    return [(x0, top + i * leading, x1, top + i * leading + height) for i in range(n)]


def _texts_in_order(named: list[tuple[str, tuple]]) -> list[str]:
    return [named[i][0] for i in reading_order([box for _, box in named])]


def test_one_column_reads_top_to_bottom():
    named = [(f"l{i}", box) for i, box in enumerate(_box_rows(72, 540, 100, 6))]
    assert _texts_in_order(list(reversed(named))) == [f"l{i}" for i in range(6)]


def test_two_columns_read_left_column_first_even_when_lines_align():
    left = [(f"L{i}", b) for i, b in enumerate(_box_rows(72, 297, 100, 8))]
    right = [(f"R{i}", b) for i, b in enumerate(_box_rows(315, 540, 100, 8))]
    # a paragraph gap at the same height in both columns must not cut the columns apart
    left += [(f"L{i + 8}", b) for i, b in enumerate(_box_rows(72, 297, 206, 3))]
    right += [(f"R{i + 8}", b) for i, b in enumerate(_box_rows(315, 540, 206, 3))]
    order = _texts_in_order(right + left)
    assert order == [f"L{i}" for i in range(11)] + [f"R{i}" for i in range(11)]


def test_full_width_title_and_abstract_come_before_the_columns():
    title = [("T", (150, 60, 460, 78))]
    abstract = [(f"A{i}", b) for i, b in enumerate(_box_rows(72, 540, 90, 3))]
    left = [(f"L{i}", b) for i, b in enumerate(_box_rows(72, 297, 140, 5))]
    right = [(f"R{i}", b) for i, b in enumerate(_box_rows(315, 540, 140, 5))]
    order = _texts_in_order(left + right + abstract + title)
    assert order == ["T", "A0", "A1", "A2"] + [f"L{i}" for i in range(5)] + [f"R{i}" for i in range(5)]


def test_full_width_figure_between_two_column_sections():
    top_left = [(f"a{i}", b) for i, b in enumerate(_box_rows(72, 297, 100, 4))]
    top_right = [(f"b{i}", b) for i, b in enumerate(_box_rows(315, 540, 100, 4))]
    figure = [("FIG", (100, 160, 500, 400))]
    low_left = [(f"c{i}", b) for i, b in enumerate(_box_rows(72, 297, 420, 4))]
    low_right = [(f"d{i}", b) for i, b in enumerate(_box_rows(315, 540, 420, 4))]
    order = _texts_in_order(low_right + figure + top_right + low_left + top_left)
    expected = [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)] + ["FIG"]
    expected += [f"c{i}" for i in range(4)] + [f"d{i}" for i in range(4)]
    assert order == expected


def test_a_loose_box_grazing_the_last_line_of_a_column_does_not_fuse_the_columns_above():
    left = [(f"L{i}", b) for i, b in enumerate(_box_rows(72, 297, 100, 10))]  # a sidebar, one line longer ...
    right = [(f"R{i}", b) for i, b in enumerate(_box_rows(315, 540, 100, 9))]
    table = [("TABLE", (70, 214, 542, 400))]  # ... whose last line (208-218) a table box below reaches into
    order = _texts_in_order(table + right + left)
    assert order == [f"L{i}" for i in range(10)] + [f"R{i}" for i in range(9)] + ["TABLE"]


def test_a_heading_inside_the_left_column_stays_in_that_column():
    left = [(f"L{i}", b) for i, b in enumerate(_box_rows(72, 297, 100, 4))]
    left.append(("H", (72, 160, 150, 172)))  # a short heading, the right column has a gap here
    left += [(f"L{i + 4}", b) for i, b in enumerate(_box_rows(72, 297, 178, 3))]
    right = [(f"R{i}", b) for i, b in enumerate(_box_rows(315, 540, 100, 4))]
    right += [(f"R{i + 4}", b) for i, b in enumerate(_box_rows(315, 540, 190, 3))]
    order = _texts_in_order(right + left)
    assert order == ["L0", "L1", "L2", "L3", "H", "L4", "L5", "L6"] + [f"R{i}" for i in range(7)]


def test_bullets_are_not_a_column():
    named = []
    for i in range(4):
        y = 100 + i * 12
        named += [(f"b{i}", (72, y, 77, y + 10)), (f"t{i}", (90, y, 540, y + 10))]
    assert _texts_in_order(named) == [x for i in range(4) for x in (f"b{i}", f"t{i}")]


def test_centred_running_title_beside_left_headings_is_not_a_column():
    # earnings-report layout: a left link, a centred 3-line title, then left-aligned headings
    named = [
        ("toc", (80, 100, 130, 108)),
        ("corp", (262, 110, 350, 118)),
        ("notes", (232, 119, 380, 127)),
        ("cont", (290, 128, 325, 136)),
        ("h1", (80, 150, 215, 158)),
        ("h2", (80, 162, 212, 170)),
        ("body", (80, 174, 530, 182)),
    ]
    assert _texts_in_order(named) == ["toc", "corp", "notes", "cont", "h1", "h2", "body"]


def test_a_column_with_a_chart_s_tick_labels_is_still_a_column():
    # openstax exercises: the right column holds a chart whose y-axis labels stick out left of the column edge
    left = [(f"L{i:02d}", b) for i, b in enumerate(_box_rows(72, 297, 300, 16))]
    ticks = [(f"t{i}", (322 + (i % 2) * 4, 300 + 12 * i, 330, 308 + 12 * i)) for i in range(8)]
    right = [(f"R{i}", (330 if i % 3 == 0 else 345, 400 + 12 * i, 540, 410 + 12 * i)) for i in range(8)]
    order = _texts_in_order(right + ticks + left)
    assert order == [f"L{i:02d}" for i in range(16)] + [f"t{i}" for i in range(8)] + [f"R{i}" for i in range(8)]


def test_three_columns():
    cols = [[(f"{c}{i}", b) for i, b in enumerate(_box_rows(x, x + 150, 100, 5))] for c, x in zip("xyz", (72, 240, 408))]
    assert _texts_in_order(cols[2] + cols[0] + cols[1]) == [f"{c}{i}" for c in "xyz" for i in range(5)]


# ---------------------------------------------------------------------------- paragraphs and text


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["an exam-", "ple of it"], "an example of it"),
        (["the Bose-", "Einstein statistics"], "the Bose-Einstein statistics"),
        (["state-", "Of-the-art"], "state-Of-the-art"),
        (["pages 10-", "12 here"], "pages 10- 12 here"),
        (["a soft\u00ad", "hyphen"], "a softhyphen"),
        (["line one ", "  line two"], "line one line two"),
        (["dash -", "then"], "dash - then"),
        (["中文", "文本"], "中文文本"),
    ],
)
def test_join_lines(texts, expected):
    assert join_lines(texts) == expected


def test_join_lines_without_dehyphenation_keeps_the_hyphen():
    assert join_lines(["an exam-", "ple"], dehyphenate=False) == "an exam-ple"


def _stack(texts_x: list[tuple[str, float]], top: float = 100, leading: float = 12, size: float = 10, flags=FontFlags.NONE):
    lines = []
    for i, (text, x) in enumerate(texts_x):
        lines += group_lines([span(text, x, top + i * leading, size, flags)])
    return lines


def _para_texts(paragraphs: list[list[Line]]) -> list[str]:
    return [join_lines([line.text for line in p]) for p in paragraphs]


def test_paragraphs_split_on_a_first_line_indent():
    full = "x" * 90  # 450 pt wide
    lines = _stack([(full, 72), (full, 72), ("end.", 72), ("y" * 87, 87), (full, 72), ("end.", 72)])
    paragraphs = split_paragraphs(lines, typical_gap_em([lines]))
    assert [len(p) for p in paragraphs] == [3, 3]


def test_hanging_indent_keeps_a_list_item_together():
    lines = _stack([("1. " + "x" * 87, 72), ("x" * 87, 87), ("x" * 40, 87)])
    assert len(split_paragraphs(lines, typical_gap_em([lines]))) == 1


def test_paragraphs_split_on_a_vertical_gap_and_a_size_change():
    first = _stack([("a" * 80, 72), ("b" * 80, 72)], top=100)
    second = _stack([("c" * 80, 72), ("d" * 80, 72)], top=132)  # 8 pt more than the line gap
    small = _stack([("e" * 80, 72)], top=156, size=8)
    lines = first + second + small
    paragraphs = split_paragraphs(lines, typical_gap_em([lines]))
    assert [len(p) for p in paragraphs] == [2, 2, 1]


def test_a_bold_line_before_body_text_is_its_own_paragraph():
    lines = _stack([("Heading", 72)], flags=BOLD) + _stack([("x" * 80, 72), ("x" * 80, 72)], top=112)
    assert [len(p) for p in split_paragraphs(lines, typical_gap_em([lines]))] == [1, 2]
    assert is_bold([lines[0]]) and not is_bold(lines[1:])


def test_a_centred_title_over_two_lines_stays_one_paragraph():
    lines = _stack([("A Long Centred Title", 250), ("Second Part", 272)], size=18, leading=22)
    assert len(split_paragraphs(lines, typical_gap_em([lines]))) == 1


# ---------------------------------------------------------------------------- titles


def test_section_numbers():
    assert section_number("2.1 Methods") == "2.1"
    assert section_number("3. Results") == "3"
    assert section_number("A.2 Proofs") == "A.2"
    assert section_number("A Study of Things") is None
    assert section_number("Introduction") is None


def _big_line(text: str, size: float = 12.0) -> list[Line]:
    line_span = span(text, 72, 100, size=size)
    return [Line(spans=[line_span], bbox=line_span.bbox)]


@pytest.mark.parametrize(
    "text, is_title",
    [
        ("Introduction", True),
        ("2.1 Proof of the Main Theorem", True),
        ("The following corollary is simple yet important for our future work on perfect state transfers.", False),
        ("We remark that by Corollary 2.7 if s lies in R such that Rs equals Ii then s has a unique "
         "representation of the form s = uxi where u is a unit and u is a fixed lift of u", False),
        ("λg = ∑ ζn", False),  # display math set in big glyphs
        ("= c(g, R/AnnR(xi)).", False),
        ("ˇ", False),
        ("“Quoted Heading”", True),
        ("-2-5 استاندارد کالا", True),  # a Persian numbered heading as pdfium reads it (docling reads it so too)
        ("-3 پذيرش در بورس", True),
        ("-x + y = 3", False),
    ],
)  # fmt: skip
def test_only_word_like_short_paragraphs_in_a_bigger_font_are_titles(text, is_title):
    candidate = title_candidate(_big_line(text), text, body_size=10.0, options=TitleOptions())
    assert (candidate is not None) == is_title
    assert title_candidate(_big_line(text, size=10.0), text, body_size=10.0, options=TitleOptions()) is None


def test_title_levels_follow_font_sizes_largest_first():
    candidates = [TitleCandidate(18, None), TitleCandidate(14, None), TitleCandidate(12, None), TitleCandidate(14.2, None)]
    assert title_levels(candidates, TitleOptions()) == [1, 2, 3, 2]


def test_title_levels_are_capped():
    candidates = [TitleCandidate(s, None) for s in (30, 24, 20, 16, 13)]
    assert title_levels(candidates, TitleOptions(max_levels=3)) == [1, 2, 3, 3, 3]


def test_numbered_headings_in_one_font_nest_by_their_numbers():
    candidates = [
        TitleCandidate(18, None),
        TitleCandidate(12, "1"),
        TitleCandidate(12, "1.1"),
        TitleCandidate(12, "1.1.1"),
        TitleCandidate(12, "2"),
    ]
    assert title_levels(candidates, TitleOptions()) == [1, 2, 3, 4, 2]


# ---------------------------------------------------------------------------- furniture


@pytest.mark.parametrize("text", ["3", "- 3 -", "Page 3", "page 3 of 10", "3 of 10", "iv", "XII", "[7]", "12/40"])
def test_page_number_texts(text):
    assert is_page_number(text)


@pytest.mark.parametrize("text", ["Introduction", "3.2 Methods", "civil", "Page three", "2024 results", ""])
def test_not_page_number_texts(text):
    assert not is_page_number(text)


def _furniture_pages(n: int) -> list[list[Line]]:
    pages = []
    for p in range(n):
        spans = [
            span(f"Proceedings of Testing {2020 + p}", 72, 30, 8),  # digits differ per page: still a header
            span(f"Title of page {p}", 72, 80, 16),  # in the body: never furniture
            span("x" * 80, 72, 400),
            span(f"Confidential draft {p + 1}", 72, 750, 8),
            span(str(p + 1), 500, 750, 8),
        ]
        pages.append(group_lines(spans))
    return pages


def test_repeated_band_lines_are_headers_footers_and_page_numbers():
    lines_per_page = _furniture_pages(3)
    found = find_furniture([(612.0, 792.0)] * 3, lines_per_page)
    for lines, kinds in zip(lines_per_page, found):
        by_text = {lines[i].text.split()[0]: kind for i, kind in kinds.items()}
        assert by_text.pop("Proceedings") == BlockType.HEADER
        assert by_text.pop("Confidential") == BlockType.FOOTER
        assert list(by_text.values()) == [BlockType.PAGE_NUMBER]
        assert not any(lines[i].text.startswith("Title") for i in kinds)


def test_a_line_on_fewer_than_half_the_pages_is_kept():
    lines_per_page = _furniture_pages(3)
    lines_per_page[0] += group_lines([span("Only on the first page", 72, 60, 8)])
    found = find_furniture([(612.0, 792.0)] * 3, lines_per_page)
    assert not any(lines_per_page[0][i].text.startswith("Only") for i in found[0])


def test_one_page_document_page_number_alone_at_the_bottom():
    lines = group_lines([span("A title at the very top", 72, 30, 16), span("x" * 80, 72, 400), span("- 1 -", 295, 760)])
    found = find_furniture([(612.0, 792.0)], [lines])[0]
    assert [(lines[i].text, kind) for i, kind in found.items()] == [("- 1 -", BlockType.PAGE_NUMBER)]


def test_a_number_beside_other_text_in_the_band_is_not_a_page_number_on_one_page():
    # the note sits in the footer band but more than 4 % above the edge (closer, set apart, it is a footer)
    lines = group_lines([span("Table total", 72, 735), span("42", 300, 735), span("a note below the table", 72, 748)])
    assert len(lines) == 3
    assert find_furniture([(612.0, 792.0)], [lines]) == [{}]


def test_the_bottom_row_with_a_page_number_is_a_footer_on_one_page():
    lines = group_lines(
        [span("x" * 80, 72, 400), span("Journal of Tests | www.example.org", 72, 760, 8), span("7", 304, 760, 8),
         span("May 2020 | Volume 3", 420, 760, 8)]
    )  # fmt: skip
    found = find_furniture([(612.0, 792.0)], [lines])[0]
    assert sorted((lines[i].text, kind.value) for i, kind in found.items()) == [
        ("7", "page_number"),
        ("Journal of Tests | www.example.org", "footer"),
        ("May 2020 | Volume 3", "footer"),
    ]


def test_a_running_title_beside_the_page_number_in_the_top_row_is_a_header_on_one_page():
    lines = group_lines([span("Short Running Title", 200, 92, 9), span("9", 476, 92, 9), span("x" * 80, 72, 120)])
    found = find_furniture([(612.0, 792.0)], [lines])[0]  # y = 92: below the 9 % band, but the top row
    assert sorted((lines[i].text, kind.value) for i, kind in found.items()) == [
        ("9", "page_number"),
        ("Short Running Title", "header"),
    ]


def test_a_centred_page_number_after_the_last_paragraph_of_a_short_page_is_discarded():
    # a short page: text ends at mid-page, the page number follows after a gap (earnings-report layout)
    spans = [span("x" * 80, 72, 100 + 12 * i) for i in range(20)] + [span("62", 300, 500, 8)]
    lines = group_lines(spans)
    (found,) = find_furniture([(612.0, 792.0)], [lines])
    assert [(lines[i].text, kind) for i, kind in found.items()] == [("62", BlockType.PAGE_NUMBER)]


def test_a_number_right_below_text_in_mid_page_is_content():
    spans = [span("x" * 80, 72, 100 + 12 * i) for i in range(20)] + [span("62", 300, 100 + 12 * 20)]
    lines = group_lines(spans)
    assert find_furniture([(612.0, 792.0)], [lines]) == [{}]


def test_stamps_at_the_page_edge_and_vertical_side_notes_are_furniture_on_one_page():
    body = [span("x" * 80, 72, 100 + 12 * i) for i in range(20)]
    stamp_top = span("Downloaded from http://journal.example.org/ on July 12", 136, 5, 8)
    stamp_bottom = span("Download date: 28 Dec 2018", 57, 824, 8)
    side = Span(text="arXiv:2401.00001v1 [cs.CL] 1 Jan 2024", bbox=(10, 200, 22, 560), size=10.0)
    lines = group_lines(body + [stamp_top, stamp_bottom, side])
    (found,) = find_furniture([(595.0, 842.0)], [lines])
    kinds = {lines[i].text[:10]: kind for i, kind in found.items()}
    assert kinds == {
        "Downloaded": BlockType.HEADER,
        "Download d": BlockType.FOOTER,
        "arXiv:2401": BlockType.ASIDE_TEXT,
    }


def test_text_near_but_not_at_the_edge_and_wide_side_text_stay_content():
    lines = group_lines([span("x" * 80, 72, 100 + 12 * i) for i in range(5)] + [span("A closing line", 72, 740, 10)])
    lines += [Line(spans=[], bbox=(10, 200, 70, 260))]  # not vertical: as wide as it is tall
    assert find_furniture([(612.0, 792.0)], [lines]) == [{}]


def test_a_line_near_the_edge_is_a_footer_only_when_set_apart():
    body = [span("x" * 80, 72, 100 + 12 * i) for i in range(55)]  # body down to y = 758
    apart = span("Download date: 15. Sep. 2023", 57, 808, 8)  # 3.4 % from the bottom, 50 pt below the body
    lines = group_lines(body + [apart])
    (found,) = find_furniture([(595.0, 842.0)], [lines])
    assert [(lines[i].text[:8], kind) for i, kind in found.items()] == [("Download", BlockType.FOOTER)]
    tight = group_lines(body + [span("x" * 80, 72, 770), span("x" * 80, 72, 782), span("last words here", 72, 794)])
    assert find_furniture([(595.0, 842.0)], [tight]) == [{}], "body text running close to the edge is kept"


def test_an_italic_run_in_subheading_is_its_own_paragraph_and_a_title():
    heading = _stack([("Stainless Steel Self-Locking Nut", 72)], flags=FontFlags.ITALIC)
    body = _stack([("The stainless steel self-locking nut may be spun on and off", 72),
                   ("by hand as its locking action takes place only when seated.", 72)], top=112)  # fmt: skip
    paragraphs = split_paragraphs(heading + body, typical_gap_em([heading + body]))
    assert _para_texts(paragraphs)[0] == "Stainless Steel Self-Locking Nut"
    assert title_candidate(heading, "Stainless Steel Self-Locking Nut", 10.0, TitleOptions()) is not None
    emphasised_sentence = "This whole sentence is set in italics for emphasis."
    assert title_candidate(_stack([(emphasised_sentence, 72)], flags=FontFlags.ITALIC), emphasised_sentence, 10.0,
                           TitleOptions()) is None  # fmt: skip
