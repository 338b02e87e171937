"""The pure parsers of VLM answers, on hand-written answers in MinerU2.5's and olmOCR's formats.

The samples below are written for these tests (not copies of real model outputs): MinerU2.5 layout lines
(``<|box_start|>x0 y0 x1 y1<|box_end|><|ref_start|>type<|ref_end|><|rotate_up|>`` on a 0..1000 grid),
its stage-2 answers (text with ``\\( \\)`` math, OTSL tables, ``\\[ \\]`` formulas), olmOCR answers with
front matter, and Markdown pages.
"""

from __future__ import annotations

import random
from html.parser import HTMLParser

import pytest
from PIL import Image

from docray.operators.vlmparse.blocks import VlmBlock
from docray.operators.vlmparse.markdown_page import markdown_blocks, parse_olmocr, pipe_table_to_html
from docray.operators.vlmparse.mineru25 import (
    LayoutItem,
    balance_left_right,
    block_content,
    block_image_size,
    clean_latex,
    crop_box,
    merge_equation_blocks,
    parse_layout,
    rotate_for_angle,
)
from docray.operators.vlmparse.otsl import otsl_to_html
from docray.operators.vlmparse.prompts import load_prompt_set
from docray.schema import BlockType as T

# ---------------------------------------------------------------- stage 1: layout

LAYOUT = (
    "<|box_start|>100 40 900 80<|box_end|><|ref_start|>title<|ref_end|><|rotate_up|>\n"
    "<|box_start|>100 100 900 300<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"
    "<|box_start|>100 310 900 400<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|><|txt_contd_tgt|>\n"
    "<|box_start|>950 420 40 1012<|box_end|><|ref_start|>table<|ref_end|><|rotate_right|>\n"  # reversed, past 1000
    "<|box_start|>10 20 30<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"  # three numbers
    "this line is not a region at all\n"
    "<|box_start|>500 500 500 600<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"  # zero width
    "<|box_start|>200 610 400 640<|box_end|><|ref_start|>inline_formula<|ref_end|><|rotate_up|>\n"  # dropped
    "<|box_start|>0 0 1000 30<|box_end|><|ref_start|>Header<|ref_end|><|rotate_down|>\n"  # upper case
    "<|box_start|>12 300 40 700<|box_end|><|ref_start|>marginalia<|ref_end|><|rotate_left|>\n"  # unknown name
    "<|box_start|>a b c d<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"  # not numbers
    "<|box_start|>100 200 300 400<|box_end|><|ref_start|><|ref_end|><|rotate_up|>\n"  # no type
    "<|box_start|>300 950 700 990<|box_end|><|ref_start|>page_number<|ref_end|>"  # no rotation token ...
    "<|box_start|>-20 960 90 990<|box_end|><|ref_start|>unknown<|ref_end|><|rotate_up|>"  # ... and no newline
)


def test_layout_lines_become_items_in_order():
    assert parse_layout(LAYOUT) == [
        LayoutItem(T.TITLE, "title", (0.1, 0.04, 0.9, 0.08), 0),
        LayoutItem(T.TEXT, "text", (0.1, 0.1, 0.9, 0.3), 0),
        LayoutItem(T.TEXT, "text", (0.1, 0.31, 0.9, 0.4), 0, merge_prev=True),
        LayoutItem(T.TABLE, "table", (0.04, 0.42, 0.95, 1.0), 90),
        LayoutItem(T.HEADER, "header", (0.0, 0.0, 1.0, 0.03), 180),
        LayoutItem(T.TEXT, "marginalia", (0.012, 0.3, 0.04, 0.7), 270),
        LayoutItem(T.PAGE_NUMBER, "page_number", (0.3, 0.95, 0.7, 0.99), 0),
        LayoutItem(T.IMAGE, "unknown", (0.0, 0.96, 0.09, 0.99), 0),
    ]


def test_layout_items_carry_the_raw_name_as_label_only_when_it_differs():
    items = {item.raw_type: item for item in parse_layout(LAYOUT)}
    assert items["marginalia"].label == "marginalia" and items["unknown"].label == "unknown"
    assert items["table"].label == "" and items["header"].label == ""
    assert items["marginalia"].bare_block() == VlmBlock(T.TEXT, bbox=(0.012, 0.3, 0.04, 0.7), angle=270, label="marginalia")


def test_layout_drops_text_inside_tables_and_captions_inside_images():
    answer = (
        "<|box_start|>100 100 900 500<|box_end|><|ref_start|>table<|ref_end|><|rotate_up|>\n"
        "<|box_start|>120 120 400 160<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"  # inside the table
        "<|box_start|>120 480 400 560<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"  # only 25% inside
        "<|box_start|>100 600 900 900<|box_end|><|ref_start|>image<|ref_end|><|rotate_up|>\n"
        "<|box_start|>150 850 850 890<|box_end|><|ref_start|>image_caption<|ref_end|><|rotate_up|>\n"
        "<|box_start|>150 910 850 940<|box_end|><|ref_start|>image_caption<|ref_end|><|rotate_up|>\n"
    )
    assert [(i.raw_type, i.bbox[1]) for i in parse_layout(answer)] == [
        ("table", 0.1), ("text", 0.48), ("image", 0.6), ("image_caption", 0.91)
    ]
    assert len(parse_layout(answer, drop_covered=False)) == 6


@pytest.mark.parametrize("junk", ["", "   ", "<|box_start|>", "<|box_start|>1 2 3 4<|box_end|>", "\x00\ufffd" * 50,
                                  "<|box_start|>1 2 3 4<|box_end|><|ref_start|>text<|ref_end|" * 3])
def test_layout_never_raises_on_junk(junk):
    assert parse_layout(junk) == []


def test_crop_box_rounds_pads_and_clips():
    assert crop_box((0.1, 0.2, 0.5, 0.6), 1000, 500) == (100, 100, 500, 300)
    assert crop_box((0.1, 0.2, 0.5, 0.6), 1000, 500, pad=8) == (92, 92, 508, 308)
    assert crop_box((0.0, 0.0, 1.0, 1.0), 640, 480, pad=10) == (0, 0, 640, 480)
    assert crop_box((0.5, 0.5, 0.5001, 0.5001), 100, 100) == (50, 50, 51, 51)  # never empty
    assert crop_box((0.999, 0.999, 1.0, 1.0), 100, 100) == (99, 99, 100, 100)


def test_rotate_for_angle_undoes_the_content_rotation():
    upright = Image.new("RGB", (3, 1))
    upright.putdata([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    for angle in (0, 90, 180, 270):
        seen = upright.rotate(-angle, expand=True)  # the page shows the content turned `angle` clockwise
        fixed = seen.rotate(90 * rotate_for_angle(angle), expand=True)
        assert fixed.size == upright.size and fixed.tobytes() == upright.tobytes(), angle
    assert [rotate_for_angle(a) for a in (0, 90, 180, 270, 45)] == [0, 1, 2, 3, 0]


def test_block_image_size_pads_thin_crops_and_enlarges_small_ones():
    assert block_image_size(300, 200) == ((300, 200), (300, 200))
    assert block_image_size(1000, 10) == ((1000, 20), (1400, 28))
    assert block_image_size(10, 30) == ((10, 30), (28, 84))


# ---------------------------------------------------------------- stage 2: block answers

TEXT_ITEM = LayoutItem(T.TEXT, "text", (0.1, 0.1, 0.9, 0.3), 0)


def test_text_answer_cleaned_with_inline_math_as_dollars():
    answer = (
        "  Let \\(x \\in \\mathbb{R}\\)   be  a real   number, see \\[12\\] and \\[3, 5-7\\].\n"
        "Then \\[ x^2 \\geq 0 \\] holds for \\(a\\timesB\\) and \\(\\top\\).   \n\n\n\n"
        "Fill in: \\( \\sigma ___ = \\lambda \\)  "
    )
    block = block_content(TEXT_ITEM, answer, "text", score=0.75)
    assert block == VlmBlock(
        T.TEXT,
        bbox=(0.1, 0.1, 0.9, 0.3),
        text=(
            "Let $x \\in \\mathbb{R}$ be a real number, see [12] and [3, 5-7].\n"
            "Then $x^2 \\geq 0$ holds for $a\\times B$ and $\\top$.\n\n"
            "Fill in: $\\sigma$ ___ $= \\lambda$"
        ),
        score=0.75,
    )


@pytest.mark.parametrize(
    ("raw", "answer", "text", "level"),
    [
        ("title", "## 2.1 Method  of \\(k\\)-means", "2.1 Method of $k$-means", 2),
        ("title", "A title on\ntwo lines", "A title on two lines", 0),
        ("doc_title", "Deep Learning", "Deep Learning", 1),
        ("paragraph_title", "Related work", "Related work", 2),
        ("paragraph_title", "# Overridden", "Overridden", 1),
        ("title", "#hashtag is not a heading", "#hashtag is not a heading", 0),
    ],
)
def test_title_levels_from_markdown_hashes(raw, answer, text, level):
    block = block_content(LayoutItem(T.TITLE, raw, (0.1, 0.1, 0.9, 0.2)), answer, "text")
    assert (block.type, block.text, block.level) == (T.TITLE, text, level)


def test_code_loses_fences_and_code_with_formulas_is_an_algorithm():
    item = LayoutItem(T.CODE, "code", (0.1, 0.1, 0.9, 0.5))
    block = block_content(item, "```python\ndef f(x):\n    return  x   \n```", "text")
    assert (block.type, block.text, block.label) == (T.CODE, "def f(x):\n    return  x", "")
    block = block_content(item, "1: for \\(i \\gets 1\\) to \\(n\\) do\n2:     swap", "text")
    assert (block.type, block.text, block.label) == (T.ALGORITHM, "1: for $i \\gets 1$ to $n$ do\n2:     swap", "code")


def test_non_text_placeholder_gives_an_empty_block():
    block = block_content(LayoutItem(T.HEADER, "header", (0, 0, 1, 0.05)), " [Non-Text] ", "text")
    assert block == VlmBlock(T.HEADER, bbox=(0, 0, 1, 0.05))


TABLE_ITEM = LayoutItem(T.TABLE, "table", (0.1, 0.4, 0.9, 0.8), 90)


def test_otsl_table_answer_becomes_html_with_spans():
    answer = (
        "<fcel>Model<fcel>Scores<lcel><lcel><nl>"
        "<ucel><fcel>P<fcel>R<fcel>F1<nl>"
        "<fcel>A & B<fcel>0.9<ecel><fcel>x<y<nl>"
        "<fcel>C<nl>"  # ragged: padded with empty cells
    )
    block = block_content(TABLE_ITEM, answer, "otsl")
    assert block == VlmBlock(
        T.TABLE,
        bbox=(0.1, 0.4, 0.9, 0.8),
        angle=90,
        html=(
            '<table><tr><td rowspan="2">Model</td><td colspan="3">Scores</td></tr>'
            "<tr><td>P</td><td>R</td><td>F1</td></tr>"
            "<tr><td>A &amp; B</td><td>0.9</td><td></td><td>x&lt;y</td></tr>"
            "<tr><td>C</td><td></td><td></td><td></td></tr></table>"
        ),
    )


def test_table_answer_in_html_or_pipe_form():
    html = '<table border="1"><tr><td colspan="2">a</td></tr></table>'
    assert block_content(TABLE_ITEM, f"Here:\n{html}\nDone.", "html").html == html
    assert block_content(TABLE_ITEM, html, "otsl").html == html
    pipe = "| h1 | h2 |\n|---|---|\n| 1 | 2 |"
    assert block_content(TABLE_ITEM, pipe, "otsl").html == "<table><tr><td>h1</td><td>h2</td></tr><tr><td>1</td><td>2</td></tr></table>"
    assert block_content(TABLE_ITEM, "no table here", "html").html == ""


EQUATION_ITEM = LayoutItem(T.INTERLINE_EQUATION, "equation", (0.2, 0.5, 0.8, 0.55))


@pytest.mark.parametrize(
    ("answer", "latex"),
    [
        ("\\[\nE = mc^2\n\\]", "E = mc^2"),
        ("$$ a+b $$", "a+b"),
        ("\\[ \\left( \\frac{a}{b} \\]", "\\left( \\frac{a}{b} \\right."),  # \left closed
        ("f(x) \\right] + 1", "\\left. f(x) \\right] + 1"),  # lone \right opened
        ("\\left\\{ \\begin{array}{ll} 1 & x>0 \\\\ 0 & x<0 \\end{array} \\right.",
         "\\left\\{ \\begin{array}{ll} 1 & x>0 \\\\ 0 & x< 0 \\end{array} \\right."),  # well formed, '<' spaced
        ("\\begin{array}{l} \\left( a & b \\right) \\end{array}",
         "\\begin{array}{l} \\left( a \\right. & \\left. b \\right) \\end{array}"),  # pairs cannot cross cells
        ("x \\coloneqq y \\eqqcolon z", "x := y =: z"),
        ("\\big{(} a \\Bigr{\\}} \\bigg {|} \\big{\\langle} b", "\\big( a \\Bigr\\} \\bigg| \\big\\langle b"),
        ("a_{i}_{j} + b", "a + b"),  # a double subscript is removed, as MinerU does
        ("\\frac{a}{b}} + {c", "\\frac{a}{b} + c"),  # unmatched braces removed
        ("\\{ x \\} \\leftarrow y", "\\{ x \\} \\leftarrow y"),  # escaped braces, \leftarrow is not \left
    ],
)
def test_formula_answers_lose_delimiters_and_get_mineru_repairs(answer, latex):
    block = block_content(EQUATION_ITEM, answer, "latex")
    assert (block.type, block.latex, block.text) == (T.INTERLINE_EQUATION, latex, "")


def test_balance_left_right_keeps_matched_pairs():
    latex = "\\left[ \\sum_{i} \\left| x_i \\right| \\right] \\\\ \\left\\langle a \\right\\rangle"
    assert balance_left_right(latex) == latex
    assert clean_latex("\\left( a \\\\ b \\right)") == "\\left( a \\right. \\\\ \\left. b \\right)"


def test_equation_block_merges_its_equations():
    items = parse_layout(
        "<|box_start|>100 100 900 300<|box_end|><|ref_start|>equation_block<|ref_end|><|rotate_up|>\n"
        "<|box_start|>150 110 850 190<|box_end|><|ref_start|>equation<|ref_end|><|rotate_up|>\n"
        "<|box_start|>150 210 850 290<|box_end|><|ref_start|>equation<|ref_end|><|rotate_up|>\n"
        "<|box_start|>100 400 900 500<|box_end|><|ref_start|>equation_block<|ref_end|><|rotate_up|>\n"  # one inside
        "<|box_start|>150 410 850 490<|box_end|><|ref_start|>equation<|ref_end|><|rotate_up|>\n"
        "<|box_start|>100 600 900 700<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>\n"
    )
    assert [item.container for item in items] == [True, False, False, True, False, False]
    answers = ["", "\\[ a = b \\tag{1} \\]", "\\[ c = d \\tag{2} \\]", "", "\\[ e \\]", "Some \\(t\\)."]
    blocks = [
        None if item.container else block_content(item, answer, "latex" if item.raw_type == "equation" else "text", 0.5)
        for item, answer in zip(items, answers)
    ]
    assert merge_equation_blocks(items, blocks) == [
        VlmBlock(
            T.INTERLINE_EQUATION,
            bbox=(0.1, 0.1, 0.9, 0.3),
            latex="\\begin{array}{l} a = b (1) \\\\ c = d (2) \\\\ \\end{array}",
            score=0.5,
            label="equation_block",
        ),
        VlmBlock(T.INTERLINE_EQUATION, bbox=(0.15, 0.41, 0.85, 0.49), latex="e", score=0.5, label="equation"),
        VlmBlock(T.TEXT, bbox=(0.1, 0.6, 0.9, 0.7), text="Some $t$.", score=0.5),
    ]


# ---------------------------------------------------------------- OTSL


class _Cells(HTMLParser):
    """Rows of (rowspan, colspan, text) of a flat HTML table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[list]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            a = dict(attrs)
            self.rows[-1].append([int(a.get("rowspan", 1)), int(a.get("colspan", 1)), ""])

    def handle_data(self, data):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1][2] += data


def _assert_rectangular(html: str) -> tuple[int, int]:
    """Places every cell of ``html``: spans never overlap and fill exactly a rows x cols rectangle."""
    parser = _Cells()
    parser.feed(html)
    taken: set[tuple[int, int]] = set()
    for r, row in enumerate(parser.rows):
        c = 0
        for rowspan, colspan, _ in row:
            while (r, c) in taken:
                c += 1
            for rr in range(r, r + rowspan):
                for cc in range(c, c + colspan):
                    assert (rr, cc) not in taken, (rr, cc)
                    taken.add((rr, cc))
            c += colspan
    rows = len(parser.rows)
    cols = max((cc for _, cc in taken), default=-1) + 1
    assert taken == {(r, c) for r in range(rows) for c in range(cols)}
    return rows, cols


def test_otsl_two_dimensional_span_and_covered_row():
    html = otsl_to_html("<otsl><loc_12><fcel>A<lcel><fcel>B<nl><ucel><xcel><ucel><nl><fcel>1<fcel>2<fcel>3<nl></otsl>")
    assert html == (
        '<table><tr><td rowspan="2" colspan="2">A</td><td rowspan="2">B</td></tr><tr></tr>'
        "<tr><td>1</td><td>2</td><td>3</td></tr></table>"
    )
    assert _assert_rectangular(html) == (3, 3)


def test_otsl_repairs_inconsistent_merges_and_keeps_markup():
    html = otsl_to_html(
        "<lcel>orphan<fcel>x<sup>2</sup> &amp; y<br/>z<nl>"  # a merge token with nothing to its left
        "<fcel>A<lcel>more<nl>"  # text after a merge token joins its cell
        "<ucel><fcel>B<nl>"  # B sits where A's rowspan would go: A stops
    )
    assert html == (
        "<table><tr><td>orphan</td><td>x<sup>2</sup> &amp; y<br/>z</td></tr>"
        '<tr><td colspan="2">A more</td></tr><tr><td></td><td>B</td></tr></table>'
    )
    assert _assert_rectangular(html) == (3, 2)


def test_otsl_edge_answers():
    assert otsl_to_html("") == ""
    assert otsl_to_html("<nl><nl>") == ""
    assert otsl_to_html("<ecel><nl>") == "<table><tr><td></td></tr></table>"
    assert otsl_to_html("<fcel>only one cell") == "<table><tr><td>only one cell</td></tr></table>"


def test_otsl_random_token_soup_always_gives_a_rectangular_table():
    rng = random.Random(7)
    tokens = ["<fcel>v", "<ecel>", "<lcel>", "<ucel>", "<xcel>", "<nl>", "<fcel>w", "<ched>h"]
    for _ in range(300):
        answer = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 40)))
        html = otsl_to_html(answer)
        if html:
            _assert_rectangular(html)


# ---------------------------------------------------------------- olmOCR answers

OLMOCR = """---
primary_language: en
is_rotation_valid: True
rotation_correction: 0
is_table: False
is_diagram: false
---
# Results

The fit is \\(R^2 = 0.93\\)."""


def test_olmocr_front_matter_and_text():
    front, text = parse_olmocr(OLMOCR)
    assert front == {
        "primary_language": "en",
        "is_rotation_valid": True,
        "rotation_correction": 0,
        "is_table": False,
        "is_diagram": False,
    }
    assert text == "# Results\n\nThe fit is \\(R^2 = 0.93\\)."


@pytest.mark.parametrize(
    ("answer", "front", "text"),
    [
        ("---\nprimary_language: null\nis_rotation_valid: false\nrotation_correction: 90\nis_table: true\n"
         "is_diagram: False\n---\n", {"primary_language": None, "is_rotation_valid": False, "rotation_correction": 90,
                                      "is_table": True, "is_diagram": False}, ""),
        ("---\nprimary_language: no\nrotation_correction: 45\n---\nHei", {"primary_language": "no", "rotation_correction": 0},
         "Hei"),  # Norwegian stays a language; an invalid rotation is 0
        ("---\nprimary_language: 'de'\nis_table: maybe\nsource: scan\n---\nText",
         {"primary_language": "de", "is_table": "maybe", "source": "scan"}, "Text"),
        ("---\nprimary_language: fr\nis_diagram: False\nBonjour le monde\n\nSuite", {"primary_language": "fr", "is_diagram": False},
         "Bonjour le monde\n\nSuite"),  # no closing ---
        ("Just text, no front matter.\n", {}, "Just text, no front matter."),
        ('{"primary_language": "en", "is_rotation_valid": true, "rotation_correction": 180, "is_table": false, '
         '"is_diagram": false, "natural_text": "Old JSON"}',
         {"primary_language": "en", "is_rotation_valid": True, "rotation_correction": 180, "is_table": False,
          "is_diagram": False}, "Old JSON"),
        ("---\nprimary_language: en\n---\nnull", {"primary_language": "en"}, ""),
        ("", {}, ""),
    ],
)
def test_olmocr_tolerant_front_matter(answer, front, text):
    assert parse_olmocr(answer) == (front, text)


# ---------------------------------------------------------------- Markdown pages

PAGE = r"""# Results and \(x\) Discussion

Setext Title
============

The model \(f(x)=x^2\) fits well \[3\]. Costs are \[ a+b \] and $c$.
Second line of the same paragraph.
\[
E = mc^2
\]
$$a^2 + b^2 = c^2$$ trailing words

<table><tr><th>A</th><th>B</th></tr>
<tr><td>1</td><td>2</td></tr></table>

| Name | Value |
|:-----|------:|
| a \| b | $x$ |
| c |

```python
def f(x):
    return x
```

- first item with \(y\)
- second item
  continued

- third item after a gap
1. one
2. two

![A bar chart of sales](page_100_200_300_400.png)

---

\[12\] A. Author, Some paper.

Sub heading
---
Final paragraph with an inline ![icon](i.png) image."""


def test_markdown_page_blocks():
    assert markdown_blocks(PAGE) == [
        VlmBlock(T.TITLE, text="Results and $x$ Discussion", level=1),
        VlmBlock(T.TITLE, text="Setext Title", level=1),
        VlmBlock(T.TEXT, text="The model $f(x)=x^2$ fits well [3]. Costs are $a+b$ and $c$.\nSecond line of the same paragraph."),
        VlmBlock(T.INTERLINE_EQUATION, latex="E = mc^2"),
        VlmBlock(T.INTERLINE_EQUATION, latex="a^2 + b^2 = c^2"),
        VlmBlock(T.TEXT, text="trailing words"),
        VlmBlock(T.TABLE, html="<table><tr><th>A</th><th>B</th></tr>\n<tr><td>1</td><td>2</td></tr></table>"),
        VlmBlock(T.TABLE, html="<table><tr><td>Name</td><td>Value</td></tr><tr><td>a | b</td><td>$x$</td></tr>"
                               "<tr><td>c</td><td></td></tr></table>"),
        VlmBlock(T.CODE, text="def f(x):\n    return x"),
        VlmBlock(T.LIST, text="- first item with $y$\n- second item\n  continued\n- third item after a gap"),
        VlmBlock(T.LIST, text="1. one\n2. two"),
        VlmBlock(T.IMAGE, text="A bar chart of sales"),
        VlmBlock(T.TEXT, text="[12] A. Author, Some paper."),
        VlmBlock(T.TITLE, text="Sub heading", level=2),
        VlmBlock(T.TEXT, text="Final paragraph with an inline ![icon](i.png) image."),
    ]


def test_markdown_edge_constructs():
    assert markdown_blocks("") == []
    assert markdown_blocks("### Deep  \n\n$$\nx\n") == [  # unclosed display math runs to the end
        VlmBlock(T.TITLE, text="Deep", level=3),
        VlmBlock(T.INTERLINE_EQUATION, latex="x"),
    ]
    assert markdown_blocks("text before\n<table><tr><td>1</td></tr>\n</table> after") == [
        VlmBlock(T.TEXT, text="text before"),
        VlmBlock(T.TABLE, html="<table><tr><td>1</td></tr>\n</table>"),
        VlmBlock(T.TEXT, text="after"),
    ]
    assert markdown_blocks("~~~\n# not a heading\n~~~") == [VlmBlock(T.CODE, text="# not a heading")]
    assert markdown_blocks("* * *\n\n***bold italic***") == [VlmBlock(T.TEXT, text="***bold italic***")]
    assert pipe_table_to_html(["|a|", "|-|", "|<b>x</b> & 1<2|"]) == (
        "<table><tr><td>a</td></tr><tr><td><b>x</b> &amp; 1&lt;2</td></tr></table>"
    )


def test_olmocr_answer_to_blocks():
    _, text = parse_olmocr(OLMOCR)
    assert markdown_blocks(text) == [
        VlmBlock(T.TITLE, text="Results", level=1),
        VlmBlock(T.TEXT, text="The fit is $R^2 = 0.93$."),
    ]


# ---------------------------------------------------------------- the bundled prompt sets


def test_bundled_prompt_sets():
    mineru = load_prompt_set("mineru25")
    assert mineru.layout is not None and mineru.page is None
    assert (mineru.layout.prompt, mineru.layout.image_max_side, mineru.layout.output) == (
        "\nLayout Detection:", 1036, "mineru25_layout"
    )
    assert mineru.system == "You are a helpful assistant."
    assert {t: (p.prompt, p.output) for t, p in mineru.blocks.items()} == {
        "table": ("\nTable Recognition:", "otsl"),
        "interline_equation": ("\nFormula Recognition:", "latex"),
        "default": ("\nText Recognition:", "text"),
    }
    assert mineru.block_prompt("image") is None and mineru.block_prompt("list") is None
    assert mineru.block_prompt("code").prompt == "\nText Recognition:"
    assert (mineru.sampling.temperature, mineru.sampling.top_p, mineru.sampling.repetition_penalty) == (0.0, 0.01, 1.0)
    olmocr = load_prompt_set("olmocr")
    assert olmocr.layout is None and olmocr.page is not None
    assert (olmocr.page.image_max_side, olmocr.page.output, olmocr.page.max_tokens) == (1288, "olmocr", 8000)
    assert olmocr.page.prompt.startswith("Attached is one page of a document that you must process.")
    assert olmocr.page.prompt.endswith("is_rotation_valid, rotation_correction, is_table, and is_diagram parameters.")
