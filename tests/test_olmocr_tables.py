"""olmOCR-bench table tests: hand-written Markdown and HTML tables (no Ray, no eval data needed but for the last test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("rapidfuzz", reason="the eval extra (rapidfuzz, fuzzysearch) is not installed")

from docray.evaluation.olmocr_bench import TableTest, TestType, load_tests, parse_test, run_test, score  # noqa: E402
from docray.evaluation.olmocr_tables import (  # noqa: E402
    check_table_cell,
    parse_html_tables,
    parse_markdown_tables,
)

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "olmocr_bench_sample"

PRETRAINING = """Table 1 Composition of the data.

| Source | Type | Tokens | Words |
|---|---|---|---|
| DCLM-Baseline | Web pages | 3.71T | 3.32T |
| StarCoder | Code | 83.0B | 70.0B |
| arXiv | Math proofs code | 11.8B | 10.8B |

Text after the table.
"""


def passes(content: str, cell: str, **fields) -> bool:
    return run_test(parse_test({"pdf": "d.pdf", "page": 1, "id": "t", "type": "table", "cell": cell, **fields}),
                    content).passed  # fmt: skip


def test_markdown_neighbours():
    assert passes(PRETRAINING, "3.32T", left="3.71T")
    assert passes(PRETRAINING, "3.71T", right="3.32T")
    assert passes(PRETRAINING, "83.0B", up="3.71T", down="11.8B", left="Code", right="70.0B")
    assert not passes(PRETRAINING, "3.32T", right="3.71T")
    assert not passes(PRETRAINING, "83.0B", up="11.8B")
    assert not passes(PRETRAINING, "3.71T", up="3.71T")  # a cell is never its own neighbour
    assert not passes(PRETRAINING, "Tokens", up="Table 1 Composition of the data.")  # text outside the table


def test_markdown_headings_are_row_zero_and_column_zero():
    assert passes(PRETRAINING, "10.8B", top_heading="Words")
    assert passes(PRETRAINING, "Math proofs code", left_heading="arXiv")
    assert not passes(PRETRAINING, "10.8B", top_heading="Tokens")
    assert not passes(PRETRAINING, "10.8B", left_heading="StarCoder")
    # column 0 counts as headings too, so walking up column 0 meets every cell above
    assert passes(PRETRAINING, "arXiv", top_heading="StarCoder") and passes(PRETRAINING, "arXiv", top_heading="Source")
    # the top row has nothing above it: a top_heading test on it fails
    assert not passes(PRETRAINING, "Words", top_heading="Words")


def test_cell_and_neighbour_matching_is_fuzzy_within_max_diffs():
    content = PRETRAINING.replace("3.32T", "3.32 T")
    assert not passes(content, "3.32T", left="3.71T")
    assert passes(content, "3.32T", left="3.71T", max_diffs=1)
    assert not passes(PRETRAINING, "3.32T", left="3.7IT")
    assert passes(PRETRAINING, "3.32T", left="3.7IT", max_diffs=1)
    # the threshold never drops below 0.5 similarity
    assert not passes(PRETRAINING, "3.32T", left="xx", max_diffs=5)
    # emphasis and <br> in cells are normalised like the text tests
    bold = "| **Total** | 3.90T |\n|---|---|\n| Mix<br>1124 | 22.38T |"
    assert passes(bold, "3.90T", left="Total") and passes(bold, "22.38T", left="Mix 1124", up="3.90T")


def test_markdown_table_detection():
    assert passes("| a | b |\n| c | d |", "d", up="b", left="c")  # no separator row needed
    assert not passes("only | one line with a pipe\n\nand text", "one line with a pipe")
    tables = parse_markdown_tables("x\n| a | b |\n|:--|--:|\n| c | d |\ny\n| e | f |\n| g | h |")
    assert [sorted(t.cells.values()) for t in tables] == [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    # an empty cell is a cell: it sits between "a" and "b"
    assert not passes("| a |  | b |\n|---|---|---|\n| 1 | 2 | 3 |", "a", right="b")
    # ragged rows: missing grid positions are skipped when walking
    ragged = "| h1 | h2 | h3 |\n|---|---|---|\n| a |\n| b | c | d |"
    assert passes(ragged, "d", up="h3") and passes(ragged, "b", up="a")


def test_any_table_and_any_matching_cell_may_pass():
    first = "| 0.87 | 0.20 |\n|---|---|\n| 0.10 | 0.30 |"
    second = "| ReACT | Plan |\n|---|---|\n| 0.87 | 0.44 |"
    content = f"{first}\n\nSome text.\n\n{second}"
    assert len(parse_markdown_tables(content)) == 2
    assert passes(content, "0.87", top_heading="ReACT")  # the second table's 0.87
    assert passes(content, "0.87", right="0.20") and not passes(content, "0.87", right="0.30")
    ok, why = check_table_cell(content, "0.87", top_heading="Hypothesizer")
    assert not ok and "not their neighbours" in why
    ok, why = check_table_cell("No table here.", "0.87")
    assert not ok and "no tables" in why
    assert not check_table_cell(content, "9.99")[0]


GROUPED = """<table>
  <thead>
    <tr><th rowspan="2">Task</th><th colspan="2">ReACT</th><th>Hypothesizer</th></tr>
    <tr><td>Procedure</td><td>Knowledge</td><td>Procedure</td></tr>
  </thead>
  <tbody>
    <tr><td>Clustering</td><td>0.87</td><td>0.20</td><td>0.90</td></tr>
    <tr><td rowspan="2">Regression<br>tasks</td><td>0.42</td><td>0.00</td><td>0.38</td></tr>
    <tr><td>0.44</td><td>0.10</td><td>0.51</td></tr>
  </tbody>
</table>"""


def test_html_spans_are_expanded_into_the_grid():
    (table,) = parse_html_tables(GROUPED)
    assert table.cells[(0, 1)] == "ReACT" and (0, 2) not in table.cells  # colspan: one cell, two columns
    assert table.cells[(1, 1)] == "Procedure"  # the rowspan of "Task" pushes row 1 one column right
    assert table.cells[(3, 0)] == "Regression\ntasks"
    # the column-spanning header is above both of its columns, the row-spanning cell left of both its rows
    assert passes(GROUPED, "Procedure", up="ReACT") and passes(GROUPED, "Knowledge", up="ReACT")
    assert passes(GROUPED, "0.42", left="Regression tasks") and passes(GROUPED, "0.44", left="Regression tasks")
    assert passes(GROUPED, "Regression tasks", right="0.44") and passes(GROUPED, "Regression tasks", up="Clustering")
    assert passes(GROUPED, "Clustering", up="Task")  # "Task" spans rows 0 and 1
    assert not passes(GROUPED, "0.10", left="0.42")


def test_html_headings_are_th_cells_and_thead_rows():
    # both header rows are headings (<th>, or a <td> inside <thead>): either one is a top heading of a body cell
    assert passes(GROUPED, "0.87", top_heading="ReACT") and passes(GROUPED, "0.87", top_heading="Procedure")
    assert passes(GROUPED, "0.20", top_heading="Knowledge") and not passes(GROUPED, "0.20", top_heading="Procedure")
    assert passes(GROUPED, "0.51", top_heading="Hypothesizer")
    # no heading cells left of the body: the walk's end, the row's first cell, is the left heading
    assert passes(GROUPED, "0.51", left_heading="Regression tasks")
    assert passes(GROUPED, "0.90", left_heading="Clustering")
    plain = "<table><tr><td>Year</td><td>2024</td></tr><tr><td>Revenue</td><td>1,136</td></tr></table>"
    assert passes(plain, "1,136", top_heading="2024") and passes(plain, "1,136", left_heading="Revenue")
    assert not passes(plain, "1,136", top_heading="Year")


def test_html_tables_count_even_when_markdown_tables_are_ignored():
    content = "| a | b |\n|---|---|\n| c | d |\n\n<table><tr><td>e</td><td>f</td></tr></table>"
    assert passes(content, "d", up="b") and passes(content, "f", left="e")
    assert not passes(content, "d", up="b", ignore_markdown_tables=True)
    assert passes(content, "f", left="e", ignore_markdown_tables=True)
    nested = "<table><tr><td>outer</td><td><table><tr><td>x</td><td>y</td></tr></table></td></tr></table>"
    assert len(parse_html_tables(nested)) == 2 and passes(nested, "y", left="x") and passes(nested, "xy", left="outer")


def test_table_rows_parse_and_reject_bad_fields(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"pdf": "a.pdf", "page": 1, "id": "t1", "type": "table", "cell": "1,136", "top_heading": "Y"}\n')
    (test,) = load_tests(path)
    assert isinstance(test, TableTest) and test.type == TestType.TABLE and test.top_heading == "Y" and test.left == ""
    with pytest.raises(ValueError, match="unknown fields"):
        parse_test({"pdf": "a.pdf", "id": "t", "type": "table", "cell": "x", "above": "y"})
    with pytest.raises(ValueError, match="strings"):
        parse_test({"pdf": "a.pdf", "id": "t", "type": "table", "cell": 3})
    with pytest.raises(ValueError, match="unknown table relations"):
        check_table_cell("| a |\n| b |", "a", above="b")


@pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"olmOCR-bench sample not found at {SAMPLE}")
def test_olmocr_reference_outputs_pass_most_table_tests():
    tests = [t for t in load_tests(SAMPLE / "dataset.jsonl") if t.type == TestType.TABLE]
    folder = SAMPLE / "reference_outputs" / "olmocr_pipeline"
    outputs = {}
    for md in folder.glob("*_pg1_repeat1.md"):
        outputs[(re.sub(r"_pg1_repeat1\.md$", ".pdf", md.name), 1)] = md.read_text(encoding="utf-8")
    report = score(tests, outputs)
    # Measured: 17 of 20. The 3 misses are olmOCR's own table slips, checked by hand: a row shifted against its
    # first column (olmo2-pg4_table08), a sub-header row it left out (discoverworld t02), and "Year Ended" put in
    # column 0 rather than above the date columns (earnings_table00). A parsing or heading bug fails far more.
    assert report.total().total == 20
    assert report.total().passed >= 16
