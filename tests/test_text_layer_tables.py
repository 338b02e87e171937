"""Tables from the text layer: rules (pdf_segments, ruled_tables), text alignment (aligned_tables) and how they
merge with layout table boxes (page_tables), on reportlab-generated PDFs."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

from docray.models.table_cells import words_of
from docray.operators.textlayer.aligned_tables import aligned_tables
from docray.operators.textlayer.extract import page_spans
from docray.operators.textlayer.page_tables import (
    ALIGNED_LABEL,
    PARTLY_RULED_LABEL,
    RULED_LABEL,
    from_alignment,
    from_grid,
    merge_tables,
)
from docray.operators.textlayer.pdf_segments import page_segments
from docray.operators.textlayer.ruled_tables import grid_html, is_fully_ruled, ruled_grids

pytest.importorskip("reportlab")
from docray.testing.tables import SALES, prose_pdf, table_pdf  # noqa: E402

MERGED = (("Region", "Sales", "", ""), ("", "Units", "Revenue", "Share"), *SALES[1:])
MERGED_SPANS = (((1, 0), (3, 0)), ((0, 0), (0, 1)))


def read(pdf: bytes):
    page = pdfium.PdfDocument(pdf)[0]
    spans = page_spans(page)
    words = words_of((s.text, s.bbox) for s in spans)
    pieces = [(s.text, s.bbox) for s in spans]
    return page_segments(page), words, pieces


def body(rows) -> str:
    return "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)


def test_fully_ruled_table_is_read_from_its_rules():
    segments, words, _ = read(table_pdf(rules="grid"))
    assert segments and all(s[0] == s[2] or s[1] == s[3] for s in segments)
    (grid,) = ruled_grids(segments, words)
    assert (grid.num_rows, grid.num_cols) == (5, 4)
    assert is_fully_ruled(grid, words)
    assert grid_html(grid, words) == "<table>" + body(SALES) + "</table>"


def test_merged_cells_become_spans():
    segments, words, _ = read(table_pdf(MERGED, rules="grid", spans=MERGED_SPANS))
    (grid,) = ruled_grids(segments, words)
    html = grid_html(grid, words)
    assert html.startswith('<table><tr><td rowspan="2">Region</td><td colspan="3">Sales</td></tr>'
                           "<tr><td>Units</td><td>Revenue</td><td>Share</td></tr>")  # fmt: skip
    assert html.endswith(body(SALES[1:]) + "</table>")


def test_partly_ruled_table_is_not_read_from_rules_but_from_alignment():
    segments, words, pieces = read(table_pdf(rules="columns"))
    (grid,) = ruled_grids(segments, words)
    assert grid.num_rows == 2 and not is_fully_ruled(grid, words)  # body rows glued: not taken from the rules
    (table,) = aligned_tables(pieces)
    assert table.html() == "<table>" + body(SALES) + "</table>"
    merged = merge_tables([], [from_grid(grid, words)], [from_alignment(table)])
    assert [b["label"] for b in merged.layout_blocks] == [ALIGNED_LABEL]
    assert merged.ruled[0]["html"] == table.html()


def test_unruled_aligned_columns_are_a_table():
    segments, words, pieces = read(table_pdf(rules="none"))
    assert ruled_grids(segments, words) == []
    (table,) = aligned_tables(pieces)
    assert (table.num_rows, table.num_cols) == (5, 4)
    assert table.html() == "<table>" + body(SALES) + "</table>"


def test_prose_lists_and_references_are_no_table():
    segments, words, pieces = read(prose_pdf())
    assert ruled_grids(segments, words) == []
    assert aligned_tables(pieces) == []


def test_ruled_table_replaces_the_overlapping_layout_box_and_keeps_other_blocks():
    segments, words, pieces = read(table_pdf(rules="grid"))
    (grid,) = ruled_grids(segments, words)
    x0, y0, x1, y1 = grid.bbox
    layout = [
        {"type": "table", "bbox": [x0 + 5, y0 - 3, x1 - 20, y1 + 4], "score": 0.8, "label": "table"},
        {"type": "text", "bbox": [x0, y1 + 20, x1, y1 + 40], "score": 0.9, "label": "plain text"},
    ]
    merged = merge_tables(layout, [from_grid(grid, words)], [from_alignment(t) for t in aligned_tables(pieces)])
    assert [(b["type"], b["label"]) for b in merged.layout_blocks] == [("text", "plain text"), ("table", RULED_LABEL)]
    assert merged.layout_blocks[1]["bbox"] == list(grid.bbox)
    assert len(merged.ruled) == 1  # the aligned table over the same cells is not a second table


def test_partly_ruled_table_under_a_layout_box_is_left_to_the_model():
    segments, words, _ = read(table_pdf(rules="columns"))
    (grid,) = ruled_grids(segments, words)
    layout = [{"type": "table", "bbox": list(grid.bbox), "score": 0.8, "label": "table"}]
    merged = merge_tables(layout, [from_grid(grid, words)])
    assert merged.ruled == [] and merged.layout_blocks == layout
    alone = merge_tables([], [from_grid(grid, words)])
    assert [b["label"] for b in alone.layout_blocks] == [PARTLY_RULED_LABEL] and alone.ruled == []


def _page_row(pdf: bytes, **render) -> dict:
    import pyarrow as pa

    from docray.operators.render import RenderOperator

    document = {
        "doc_id": "t", "source": "mem://t.pdf", "name": "t", "kind": "pdf", "bytes": pdf, "mime": "application/pdf",
        "size_bytes": len(pdf), "status": "ok", "error": None, "error_code": None, "timings": {},
    }  # fmt: skip
    (row,) = RenderOperator({"op": "render", "dpi": 72, "method": "txt", **render}).render_table(pa.Table.from_pylist([document])).to_pylist()
    return row


def test_render_keeps_line_segments_only_when_asked():
    pdf = table_pdf(rules="grid")
    assert "line_segments" not in _page_row(pdf)
    row = _page_row(pdf, line_segments=True)
    assert len(row["line_segments"]) >= 9  # 6 horizontal and 5 vertical rules, drawn per cell or whole


@pytest.mark.parametrize("rules", ["grid", "none"])
def test_a_table_the_layout_model_missed_becomes_one_table_block(rules):
    import pyarrow as pa

    from docray.datamodel import PageText
    from docray.operators.table import TableConfig, TableOperator
    from docray.operators.textlayer.document import assemble_document
    from docray.schema import FIELDS, PAGES, BlockType

    row = _page_row(table_pdf(rules=rules), line_segments=True)
    lines = [s["bbox"] for s in row["spans"]]
    cells = [b for b in lines if 100 < b[1] < 210]  # the table's rows lie between the title and the note
    cell_box = [min(b[0] for b in cells), min(b[1] for b in cells), max(b[2] for b in cells), max(b[3] for b in cells)]
    row["layout_blocks"] = [  # the layout model took the table's cells for a paragraph
        {"type": "text", "bbox": cell_box, "score": 0.5, "label": "plain text"}
    ]
    schema = pa.schema(list(PAGES) + [FIELDS["layout_blocks"], FIELDS["line_segments"]])
    config = TableConfig()
    op = TableOperator(config, output_schema=TableOperator.output_schema_for(schema, config))
    (out,) = op(pa.Table.from_pylist([row], schema=schema)).to_pylist()
    assert "line_segments" not in out and len(out["tables"]) == 1
    assert out["tables"][0]["html"] == "<table>" + body(SALES) + "</table>"
    labels = [b["label"] for b in out["layout_blocks"] if b["type"] == "table"]
    assert labels == [RULED_LABEL if rules == "grid" else ALIGNED_LABEL]

    (layout,) = assemble_document([PageText.from_row(out)])
    kinds = [b.type for b in layout.blocks]
    assert kinds.count(BlockType.TABLE) == 1
    table = kinds.index(BlockType.TABLE)
    assert "Sales by region" in layout.blocks[table - 1].text  # in reading order: title, table, note
    assert "preliminary" in layout.blocks[table + 1].text
    assert not any("1200" in (b.text or "") for b in layout.blocks)  # cell text is not a paragraph too


def test_a_paragraph_that_labels_the_table_next_to_it_becomes_its_caption():
    from docray.operators.textlayer.page_tables import mark_table_captions

    table = {"type": "table", "bbox": [100.0, 300.0, 500.0, 420.0], "score": 0.9, "label": "table"}
    above = {"type": "text", "bbox": [100.0, 250.0, 500.0, 290.0], "score": 0.9, "label": "text"}
    far = {"type": "text", "bbox": [100.0, 100.0, 500.0, 140.0], "score": 0.9, "label": "text"}
    below = {"type": "text", "bbox": [100.0, 428.0, 500.0, 450.0], "score": 0.9, "label": "text"}
    pieces = [
        ("Table 1. HPO performed in OTSL and HTML", (100.0, 252.0, 480.0, 262.0)),
        ("representation on the same architecture.", (100.0, 264.0, 400.0, 274.0)),
        ("Table 2 shows more results than we can discuss.", (100.0, 102.0, 480.0, 112.0)),
        ("The table reads as follows.", (100.0, 430.0, 300.0, 440.0)),
    ]
    out = mark_table_captions([table, above, far, below], pieces)
    assert [b["type"] for b in out] == ["table", "table_caption", "text", "text"]


def test_model_rows_that_drift_above_the_text_are_stretched_onto_it():
    from docray.models.protocols import TableCell
    from docray.models.table_cells import Word, assign_words, cell_text, stretch_rows_to_text

    # 6 text rows 20 points apart from y=100; the model's rows are 16 points apart: the last row's text lies
    # below every box and the rows above it read the text of the row above.
    words = [Word(f"r{r}c{c}", (100.0 + 60 * c, 102.0 + 20 * r, 140.0 + 60 * c, 114.0 + 20 * r)) for r in range(6) for c in range(2)]
    cells = [TableCell(row=r, col=c, box=(100.0 + 60 * c, 101.0 + 16 * r, 140.0 + 60 * c, 115.0 + 16 * r)) for r in range(6) for c in range(2)]
    region = (96.0, 96.0, 224.0, 224.0)
    drifted = [cell_text(ws) for ws in assign_words(words, cells, region)]
    assert drifted != [w.text for w in words]  # the bug: values moved a row and the last row was lost
    stretched = stretch_rows_to_text(cells, words, region)
    assert [cell_text(ws) for ws in assign_words(words, stretched, region)] == [w.text for w in words]
    on_text = [TableCell(row=r, col=c, box=(100.0 + 60 * c, 101.0 + 20 * r, 140.0 + 60 * c, 115.0 + 20 * r)) for r in range(6) for c in range(2)]
    assert stretch_rows_to_text(on_text, words, region) == on_text  # boxes that cover the text stay


SIDEWAYS = [("Group", "Units", "Rate", "Share", "Total", "Count")] + [
    (f"Region {k}", f"{k}.{k}", f"{10 + k}", "0.5", f"{k}", f"{100 * k}") for k in range(1, 9)
]
HEADING = [(1, "Modern contraceptive method"), (4, "Traditional method")]  # over columns 1-3 and 4-5


@pytest.mark.parametrize("angle", [90, 270])
def test_an_unruled_table_set_sideways_keeps_its_short_cells(angle):
    from docray.operators.textlayer.page_tables import Upright, turned_spans
    from docray.testing.tables import sideways_table_pdf

    row = _page_row(sideways_table_pdf(SIDEWAYS, angle=angle, heading=HEADING), line_segments=True)
    assert row["vertical_text"] in (90, 270)
    turned = turned_spans(row["spans"], row["turned_spans"])  # "7.4", "12", "1": too short to be twice as tall as wide
    assert {s["text"] for s in row["spans"]} == {s["text"] for s in turned}
    upright = Upright(row["vertical_text"], row["width"], row["height"])
    (table,) = aligned_tables([(s["text"], upright.box(s["bbox"])) for s in turned])
    assert table.num_cols == 6  # the heading crosses the gutters; the body rows still make the columns
    for cells in SIDEWAYS:
        assert "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" in table.html()


def test_numbers_under_vertical_headings_are_not_turned():
    from docray.testing.tables import vertical_header_pdf

    rows = [("Registered voters", "Poll book totals", "Governor", "Senator")]
    rows += [(f"{100 + k}", f"{20 + k}", f"{k}", f"{300 + 7 * k}") for k in range(1, 9)]
    row = _page_row(vertical_header_pdf(rows), line_segments=True)
    assert row["vertical_text"] == 270
    turned = {row["spans"][i]["text"] for i in row["turned_spans"]}
    assert turned == set(rows[0])  # the numbers' boxes are as tall as the headings' are wide; their glyphs are upright
