"""TEDS on hand-made HTML tables, the table normalisation, and the tree edit distance itself."""

from __future__ import annotations

import pytest

pytest.importorskip("rapidfuzz", reason="the eval extra (rapidfuzz) is not installed")

from docray.evaluation.teds import (  # noqa: E402
    TableNode,
    normalise_table_html,
    teds,
    tree_edit_distance,
)


def table(*rows: str) -> str:
    return normalise_table_html("<table>" + "".join(f"<tr>{row}</tr>" for row in rows) + "</table>")


GT = table("<td>Name</td><td>Age</td><td>City</td>", "<td>Ann</td><td>31</td><td>Oslo</td>")


def test_identical_tables_score_one():
    assert teds(GT, GT) == 1.0
    assert teds(GT, GT, structure_only=True) == 1.0


def test_changed_cell_text_lowers_teds_but_not_structure():
    pred = table("<td>Name</td><td>Age</td><td>City</td>", "<td>Ann</td><td>31</td><td>Bergen</td>")
    # 8 nodes (2 tr + 6 td); one cell renamed at normalised distance 6/6 ("Oslo" vs "Bergen")
    assert teds(pred, GT) == pytest.approx(1 - 1.0 / 8)
    assert teds(pred, GT, structure_only=True) == 1.0


def test_partly_changed_cell_costs_its_normalised_edit_distance():
    pred = table("<td>Name</td><td>Age</td><td>City</td>", "<td>Ann</td><td>31</td><td>Osla</td>")
    assert teds(pred, GT) == pytest.approx(1 - 0.25 / 8)


def test_removed_column_lowers_both():
    pred = table("<td>Name</td><td>Age</td>", "<td>Ann</td><td>31</td>")
    assert teds(pred, GT) == pytest.approx(1 - 2 / 8)
    assert teds(pred, GT, structure_only=True) == pytest.approx(1 - 2 / 8)


def test_colspan_must_match():
    merged = table('<td colspan="2">Name and age</td><td>City</td>', "<td>Ann</td><td>31</td><td>Oslo</td>")
    split = table("<td>Name and age</td><td></td><td>City</td>", "<td>Ann</td><td>31</td><td>Oslo</td>")
    # the spanning cell cannot be renamed into a plain one (cost 1); best: rename it to the empty cell and insert
    # the plain "Name and age" cell, or equivalently delete + insert: distance 2 over max(7, 8) nodes
    assert teds(merged, split, structure_only=True) == pytest.approx(1 - 2 / 8)
    assert teds(merged, merged) == 1.0
    assert teds(merged.replace('colspan="2"', 'colspan="3"'), merged, structure_only=True) == pytest.approx(1 - 1 / 7)


def test_header_cells_and_sections_are_normalised_away():
    with_header = normalise_table_html(
        '<table class="x"><thead><tr><th style="a">Name</th><th>Age</th><th>City</th></tr></thead>'
        "<tbody><tr><td>Ann</td><td>31</td><td>Oslo</td></tr></tbody></table>"
    )
    assert with_header == GT
    assert teds(with_header, GT) == 1.0


def test_tags_inside_cells_count_as_tokens_and_nodes():
    bold = table("<td><b>Name</b></td><td>Age</td><td>City</td>", "<td>Ann</td><td>31</td><td>Oslo</td>")
    # tokens "<b>", N, a, m, e, "</b>" vs N, a, m, e: 2 edits over 6 tokens; 9 nodes counting the <b>
    assert teds(bold, GT) == pytest.approx(1 - (2 / 6) / 9)


def test_missing_prediction_scores_zero():
    assert teds("", GT) == 0.0
    assert teds(normalise_table_html("no table here"), GT) == 0.0


def test_tree_edit_distance_on_small_trees():
    def node(tag, *children):
        return TableNode(tag, children=list(children))

    def cell(text):
        return TableNode("td", 1, 1, tuple(text))

    a = node("table", node("tr", cell("a"), cell("b")), node("tr", cell("c")))
    b = node("table", node("tr", cell("a")), node("tr", cell("b"), cell("c")))
    assert tree_edit_distance(a, a) == 0
    # move "b" from row 1 to row 2: delete it there and insert it here
    assert tree_edit_distance(a, b) == 2
    empty = node("table")
    assert tree_edit_distance(a, empty) == 5
    assert tree_edit_distance(empty, b) == 5
