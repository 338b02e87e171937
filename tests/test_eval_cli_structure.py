"""The whole-document structure check used against docling's regression Markdown (benchmarks/eval_all.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("rapidfuzz", reason="the eval extra (rapidfuzz) is not installed")

from docray.evaluation.markdown_structure import (  # noqa: E402
    compare,
    count_headings,
    count_tables,
    plain_text,
    text_ned,
)

PIPE = "# Results\n\n| Model | Score |\n|---|---:|\n| A | 0.9 |\n\nThe **best** model is A. ![chart](images/x.jpg)\n"
HTML = (
    "## Results\n\n<table><tr><td>Model</td><td>Score</td></tr><tr><td>A</td><td>0.9</td></tr></table>\n\n"
    "<!-- image -->\n\nThe best model is A.\n"
)


def test_markup_does_not_count_as_text():
    assert plain_text(PIPE) == plain_text(HTML) == "results model score a 0.9 the best model is a."
    assert text_ned(PIPE, HTML) == 0.0


def test_text_distance_grows_with_missing_text():
    half = "The best model is A."
    assert 0.0 < text_ned(half, HTML) < 1.0
    assert text_ned("", HTML) == 1.0 and text_ned("", "") == 0.0


def test_tables_and_headings_are_counted():
    assert count_tables(PIPE) == count_tables(HTML) == 1
    assert count_tables("| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n\n<table><tr><td>x</td></tr></table>") == 2
    assert count_headings(PIPE) == 1
    assert count_headings("# One\ntext\n### Three\n| # col |\n#hashtag\n") == 2  # a table cell and #word are not


def test_compare_reports_both_sides():
    result = compare("# Only a title", HTML)
    assert (result.tables, result.reference_tables, result.headings, result.reference_headings) == (0, 1, 1, 1)
    assert result.chars == len("only a title") and result.text_ned > 0.5
