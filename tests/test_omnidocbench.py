"""OmniDocBench end-to-end scorer: normalisation, Markdown splitting, GT loading, matching and page scores; plus the
published demo results (only where ../shared/eval is present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("rapidfuzz", reason="the eval extra (rapidfuzz) is not installed")

from docray.evaluation.assignment import linear_sum_assignment  # noqa: E402
from docray.evaluation.markdown_parts import PartKind, latex_tabular_to_html, split_markdown  # noqa: E402
from docray.evaluation.omnidocbench import score_page, score_pages  # noqa: E402
from docray.evaluation.omnidocbench_gt import load_ground_truth, page_from_dict  # noqa: E402
from docray.evaluation.omnidocbench_match import MatchedEntry, ned, quick_match, simple_match  # noqa: E402
from docray.evaluation.omnidocbench_normalise import normalise_formula, normalise_text  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "shared" / "eval" / "omnidocbench_demo"


# --- string distances and normalisation ----------------------------------------------------------------------------


def test_ned_hand_cases():
    assert ned("kitten", "sitting") == pytest.approx(3 / 7)
    assert ned("abc", "abc") == 0.0
    assert ned("abc", "") == 1.0
    assert ned("", "") == 0.0
    assert ned("ab", "ba") == 1.0  # Levenshtein, not Damerau: a swap is two substitutions


def test_text_normalisation_keeps_word_characters_only():
    assert normalise_text("- Human **Factors**, 2024!") == "HumanFactors2024"
    assert normalise_text("\\t - Competence.\n\\t - Focus.") == "CompetenceFocus"
    assert normalise_text("中文，English；数字 12") == "中文English数字12"
    # inline math with \ ^ _ is rendered: Greek letters survive, ^ and braces vanish, _ is a word character
    assert normalise_text("If $ \\mu^{2}=0 $ then $ x_{1} $") == "Ifμ20thenx_1"
    assert normalise_text("cost $5 and $6") == "cost5and6"  # no math markup: the dollars just go


def test_formula_normalisation():
    # font macros go, their braces stay; spaces go; lower case
    assert normalise_formula("\\[ \\mathbf{X} + \\mathrm{d}y \\tag{3} \\]") == "{x}+{d}y"
    # this version keeps $$ delimiters (GT formulas carry them, predictions are rewritten as \\[..\\])
    assert normalise_formula("$$ a + b $$") == "$$a+b$$"
    assert normalise_formula("\\[\\begin{array}{l} A \\\\ B \\end{array}\\]") == "{l}a\\\\b"


# --- Markdown splitting --------------------------------------------------------------------------------------------

PAGE_MD = """```markdown
# Title

First paragraph with $x_1$ inline.

$$
E = mc^2
$$

<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>

| h1 | h2 |
|----|:--:|
| 3  | 4  |

![figure](img.png)
Last line.
```"""


def test_split_markdown_finds_paragraphs_formulas_and_tables():
    parts = split_markdown(PAGE_MD)
    texts = [p.content for p in parts if p.kind is PartKind.TEXT]
    assert texts == ["# Title", "First paragraph with $x_1$ inline.", "Last line."]
    formulas = [(p.content, p.inline) for p in parts if p.kind is PartKind.FORMULA]
    assert formulas == [("\\[x_1\\]", True), ("\\[E=mc^2\\]", False)]
    tables = [p for p in parts if p.kind is PartKind.HTML_TABLE]
    assert tables[0].content.startswith("<table><tr><th>a</th>")
    assert tables[1].source == "md_table"
    assert tables[1].content.count("<tr>") == 2  # the separator row is not a row
    assert '<td colspan="1" rowspan="1">4</td>' in tables[1].content
    assert [p.start for p in parts] == sorted(p.start for p in parts)


def test_split_markdown_display_brackets_and_single_newlines():
    parts = split_markdown("one\ntwo \\[ a + b \\] three")
    assert [(p.kind, p.content, p.start) for p in parts] == [
        (PartKind.TEXT, "one", 0),
        (PartKind.TEXT, "two             three", 4),  # the formula is blanked out in place
        (PartKind.FORMULA, "\\[a+b\\]", 8),
    ]


def test_latex_tabular_becomes_html():
    latex = "\\begin{tabular}{|l|c|}\\hline \\multicolumn{2}{c}{Head} \\\\ a & b \\\\ \\hline\\end{tabular}"
    assert (
        latex_tabular_to_html(latex) == '<table><tr><td colspan="2">Head</td></tr><tr><td>a</td><td>b</td></tr></table>'
    )
    parts = split_markdown("before\n\n" + latex + "\n\nafter")
    assert [p.kind for p in parts] == [PartKind.TEXT, PartKind.LATEX_TABLE, PartKind.TEXT]


# --- ground truth ---------------------------------------------------------------------------------------------------


def block(anno_id, category, order, **fields):
    return {"anno_id": anno_id, "category_type": category, "order": order, "poly": [0] * 8, "ignore": False, **fields}


HAND_PAGE = {
    "page_info": {"image_path": "imgs/doc.pdf_0.jpg", "page_attribute": {"language": "english"}},
    "layout_dets": [
        block(0, "title", 1, text="A Study of Things"),
        block(1, "text_block", 2, text="The first half of a paragraph "),
        block(2, "text_block", 3, text="and its second half."),
        block(3, "equation_isolated", 4, latex="$$ a^2 + b^2 = c^2 $$"),
        block(4, "table", 5, html="<table><tr><td>x</td><td>y</td></tr></table>"),
        block(5, "page_number", None, text="7"),
        block(6, "figure", 6),
    ],
    "extra": {"relation": [{"source_anno_id": 1, "target_anno_id": 2, "relation_type": "truncated"}]},
}


def test_page_from_dict_merges_truncated_blocks():
    page = page_from_dict(HAND_PAGE)
    assert page.image_name == "doc.pdf_0.jpg" and page.stem == "doc.pdf_0"
    texts = [(b.category, b.order, b.text) for b in page.sorted_blocks(("text_block", "title", "page_number"))]
    assert texts == [
        ("page_number", None, "7"),
        ("title", 1, "A Study of Things"),
        ("text_block", 2, "The first half of a paragraph and its second half."),
    ]
    assert page.sorted_blocks("equation_isolated")[0].text == "$$ a^2 + b^2 = c^2 $$"


def test_load_ground_truth_reads_a_json_file(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps([HAND_PAGE]), encoding="utf-8")
    (page,) = load_ground_truth(path)
    assert len(page.blocks) == 6  # two truncated halves became one block


# --- matching and page scores ----------------------------------------------------------------------------------------


def test_quick_match_merges_a_split_paragraph_and_keeps_extras():
    gts = ["thequickbrownfoxjumpsoverthelazydog", "anothertitle"]
    preds = ["anothertitle", "thequickbrownfox", "jumpsoverthelazydog", "somethingcompletelydifferentandlong"]
    entries = quick_match(gts, preds)
    assert MatchedEntry((1,), (0,)) in entries
    assert MatchedEntry((0,), (1, 2)) in entries
    assert MatchedEntry((), (3,)) in entries


def test_simple_match_is_one_to_one():
    assert simple_match(["aaa", "bbb"], ["bbx", "aax", "zzz"]) == [MatchedEntry((0,), (1,)), MatchedEntry((1,), (0,))]
    assert simple_match(["aaa"], []) == [MatchedEntry((0,), ())]


def test_linear_sum_assignment_rectangular():
    assert linear_sum_assignment([[4, 1, 5], [2, 0, 6]]) == ([0, 1], [1, 0])  # 1 + 2 beats 0 + 4 and 0 + 5
    assert linear_sum_assignment([[1], [0], [2]]) == ([1], [0])


def test_score_page_on_a_hand_page():
    page = page_from_dict(HAND_PAGE)
    perfect = (
        "# A Study of Things\n\nThe first half of a paragraph and its second half.\n\n"
        "$$a^2 + b^2 = c^2$$\n\n<table><tr><td>x</td><td>y</td></tr></table>\n\n7"
    )
    score = score_page(page, perfect)
    assert score.text_edit == 0.0  # the page number "7" pairs with its (ignored) GT block and is not counted
    # the GT keeps its $$ delimiters in this version of the normalisation: 4 edits over 15 characters
    assert score.formula_edit == pytest.approx(4 / 15)
    assert [t.teds for t in score.tables] == [1.0]
    assert score.reading_order_edit == 0.0
    assert score.whole_page_text_ned == pytest.approx(
        ned(
            "AStudyofThingsThefirsthalfofaparagraphanditssecondhalf",
            "AStudyofThingsThefirsthalfofaparagraphanditssecondhalf7",
        )
    )

    swapped = "The first half of a paragraph and its second half.\n\n# A Study of Thongs\n\nExtra words here."
    score = score_page(page, swapped)
    assert 0 < score.text_edit < 0.5
    assert score.reading_order_edit == 1.0  # two blocks, predicted in the reverse order
    assert [t.teds for t in score.tables] == [0.0]  # no predicted table
    assert score.formula_edit == 1.0


def test_score_pages_lists_missing_predictions():
    report = score_pages([page_from_dict(HAND_PAGE)], {})
    assert report.missing == ["doc.pdf_0.jpg"] and report.summary()["text_edit"] is None


# --- published demo results --------------------------------------------------------------------------------------------


@pytest.mark.skipif(not DEMO.is_dir(), reason=f"OmniDocBench demo not found at {DEMO}")
def test_reproduces_published_demo_results():
    pages = load_ground_truth(DEMO / "OmniDocBench_demo.json")
    predictions = {
        p.stem: p.read_text(encoding="utf-8") for p in (DEMO / "sample_predictions" / "end2end").glob("*.md")
    }
    summary = score_pages(pages, predictions).summary()
    published = json.loads((DEMO / "sample_results" / "end2end_quick_match_metric_result.json").read_text())
    assert summary["text_edit"] == pytest.approx(published["text_block"]["all"]["Edit_dist"]["ALL_page_avg"], abs=0.002)
    assert summary["formula_edit"] == pytest.approx(
        published["display_formula"]["all"]["Edit_dist"]["ALL_page_avg"], abs=0.002
    )
    assert summary["table_teds"] == pytest.approx(published["table"]["all"]["TEDS"]["all"], abs=0.002)
    assert summary["table_teds_structure"] == pytest.approx(
        published["table"]["all"]["TEDS_structure_only"]["all"], abs=0.002
    )
    assert summary["table_edit"] == pytest.approx(published["table"]["all"]["Edit_dist"]["ALL_page_avg"], abs=0.002)
    # one page's pipe tables swallow a few text lines in OmniDocBench's Markdown-table conversion, not in ours
    assert summary["reading_order_edit"] == pytest.approx(
        published["reading_order"]["all"]["Edit_dist"]["ALL_page_avg"], abs=0.01
    )
