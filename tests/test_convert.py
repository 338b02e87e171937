"""Office, web, e-book and CSV inputs: sniffing from bytes, native conversion to blocks, and mixed runs.

Every document is built by the test (:mod:`docray.testing.office`); nothing is read from shared data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from docray.formats.mineru import to_content_list, to_markdown, to_middle_json
from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.operators.base import DocrayError
from docray.operators.convert import converted_page_fields
from docray.operators.convert.blocks import Cell, PageBuilder
from docray.operators.convert.layout import converted_page_layout
from docray.operators.convert.libreoffice import office_to_pdf, soffice
from docray.operators.convert.sniff import sniff_container
from docray.operators.ingest import IngestOperator
from docray.operators.render import RenderOperator
from docray.pipelines.executors import LocalExecutor, RayExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.schema import DOCUMENTS, BlockType, DocKind, ErrorCode, RouteReason
from docray.testing import office, pdfs

SAMPLES = {
    DocKind.DOCX: office.docx_file,
    DocKind.PPTX: office.pptx_file,
    DocKind.XLSX: office.xlsx_file,
    DocKind.HTML: office.html_file,
    DocKind.EPUB: office.epub_file,
    DocKind.ODT: office.odt_file,
    DocKind.ODS: office.ods_file,
    DocKind.ODP: office.odp_file,
    DocKind.CSV: office.csv_file,
}


@pytest.fixture(scope="module")
def samples() -> dict[DocKind, bytes]:
    return {kind: make() for kind, make in SAMPLES.items()}


def ingest(rows: list[dict]) -> list[dict]:
    operator = IngestOperator(output_schema=DOCUMENTS)
    return operator(pa.Table.from_pylist(rows, schema=pa.schema([("source", pa.string()), ("name", pa.string()), ("bytes", pa.binary())]))).to_pylist()


def converted(kind: DocKind, data: bytes):
    """(page rows, layouts, markdown) of a converted document, its JSON outputs validated against MinerU's schema."""
    rows = list(converted_page_fields(kind.value, data, range))
    layouts = [converted_page_layout(row) for row in rows]
    validate_content_list(to_content_list(layouts))
    validate_middle_json(to_middle_json(layouts, parse_method="auto", version="test"))
    return rows, layouts, to_markdown(layouts)


# ---------------------------------------------------------------------------- sniffing


def test_ingest_sniffs_each_format_from_its_bytes_whatever_its_name(samples) -> None:
    rows = ingest([{"source": f"inline://mislabelled-{kind.value}.pdf", "name": kind.value, "bytes": data} for kind, data in samples.items()])
    assert {row["name"]: (row["status"], row["kind"]) for row in rows} == {kind.value: ("ok", kind.value) for kind in samples}
    by_kind = {row["kind"]: row["mime"] for row in rows}
    assert by_kind["docx"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert by_kind["epub"] == "application/epub+zip" and by_kind["odt"] == "application/vnd.oasis.opendocument.text"


def test_unusable_office_files_are_one_error_row_each_with_a_clear_code() -> None:
    bad = office.bad_office_inputs()
    rows = ingest([{"source": f"inline://{name}", "name": name, "bytes": data} for name, (data, _) in bad.items()])
    assert len(rows) == len(bad)
    assert {row["name"]: row["error_code"] for row in rows} == {name: code.value for name, (_, code) in bad.items()}
    assert all(row["status"] == "error" and row["bytes"] is None and row["doc_id"] for row in rows)
    by_name = {row["name"]: row["error"] for row in rows}
    assert "password-protected" in by_name["protected.docx"] and ".docx/.xlsx/.pptx" in by_name["old.doc"]


def test_plain_text_is_not_csv_unless_its_fields_line_up_or_its_name_says_so() -> None:
    assert sniff_container(b"Dear ducks,\nthe pond opens at nine.\nRegards\n") is None
    assert sniff_container(b"a;b;c\n1;2;3\n4;5\n") == (DocKind.CSV, "text/csv")  # ragged rows still agree mostly
    one_column = b"Industry\nFinance\nHealthcare\n"
    assert sniff_container(one_column) is None
    assert sniff_container(one_column, "s3://bucket/industries.csv") == (DocKind.CSV, "text/csv")
    assert sniff_container(pdfs.not_a_pdf()) is None
    assert sniff_container(b"<div><p>a fragment</p></div>") == (DocKind.HTML, "text/html")


# ---------------------------------------------------------------------------- converters


def test_word_blocks_titles_lists_table_figure_equations_code_and_furniture(samples) -> None:
    rows, layouts, md = converted(DocKind.DOCX, samples[DocKind.DOCX])
    assert len(rows) == 2  # the hard page break
    assert md.startswith(f"# {office.TITLE}\n\n## {office.HEADING}\n\n{office.PARAGRAPH}")
    assert "$x^{2}$" in md and "$$\n\\frac{a}{b}\n$$" in md
    assert f"- {office.BULLETS[0]}\n- {office.BULLETS[1]}\n    - {office.NESTED}\n\n1. {office.NUMBERED[0]}\n2. {office.NUMBERED[1]}" in md
    assert f'<td colspan="3">{office.MERGED}</td>' in md
    assert f"```\n{office.CODE}\n```" in md
    [figure] = [b for b in layouts[0].blocks if b.type == BlockType.IMAGE]
    assert [c.text for c in figure.children] == [office.CAPTION] and figure.img_path in layouts[0].image_files
    assert layouts[0].image_files[figure.img_path].startswith(b"\x89PNG")
    assert office.HEADER not in md and office.FOOTER not in md
    assert {(b.type, b.text) for b in layouts[0].discarded} == {(BlockType.HEADER, office.HEADER), (BlockType.FOOTER, office.FOOTER)}
    assert {r["route_reason"] for r in rows} == {RouteReason.CONVERTED.value} and all(r["image"] is None for r in rows)


def test_word_footnotes_are_marked_in_the_text_and_listed_at_the_end() -> None:
    _, _, md = converted(DocKind.DOCX, office.docx_with_footnote())
    assert md == f"{office.PARAGRAPH}[1]\n\n[1] {office.FOOTNOTE}"


def test_powerpoint_pages_are_slides_with_their_shapes_boxes(samples) -> None:
    rows, layouts, md = converted(DocKind.PPTX, samples[DocKind.PPTX])
    assert len(rows) == 2 and (rows[0]["width"], rows[0]["height"]) == (720.0, 540.0)
    assert md.count(f"# {office.TITLE}") == 1 and f"# {office.HEADING}" in md
    assert f"- {office.BULLETS[1]}\n    - {office.NESTED}" in md
    assert f'<td colspan="3">{office.MERGED}</td>' in md and "![](images/" in md
    second = layouts[1]
    assert [b.type for b in second.blocks] == [BlockType.TITLE, BlockType.LIST, BlockType.TABLE, BlockType.IMAGE]
    table = second.blocks[2]
    assert table.bbox == pytest.approx((36.0, 230.4, 396.0, 338.4))  # the table shape's box, points


def test_excel_pages_are_sheets_and_touching_cells_are_tables(samples) -> None:
    rows, layouts, md = converted(DocKind.XLSX, samples[DocKind.XLSX])
    assert len(rows) == 2 and rows[1]["num_pages"] == 2
    assert md.startswith(f"# Survey\n\n{office.TITLE}\n\n<html><body><table><tr><td colspan=\"3\">{office.MERGED}</td></tr>")
    assert "<tr><td>North</td><td>12</td><td>3</td></tr>" in md and "# Notes" in md


def test_opendocument_text_spreadsheet_and_presentation(samples) -> None:
    _, _, text = converted(DocKind.ODT, samples[DocKind.ODT])
    assert f"## {office.HEADING}" in text and f"1. {office.NUMBERED[0]}\n2. {office.NUMBERED[1]}\n    - {office.NESTED}" in text
    assert f'<td colspan="3">{office.MERGED}</td>' in text and "![](images/" in text
    rows, _, sheet = converted(DocKind.ODS, samples[DocKind.ODS])
    assert len(rows) == 1 and sheet.startswith("# Ponds\n\n<html><body><table><tr><td>Pond</td>")
    rows, _, slides = converted(DocKind.ODP, samples[DocKind.ODP])
    assert len(rows) == 2 and slides.startswith(f"# {office.TITLE}\n\n{office.PARAGRAPH}")


def test_html_keeps_furniture_scripts_and_styles_out(samples) -> None:
    _, layouts, md = converted(DocKind.HTML, samples[DocKind.HTML])
    assert md.startswith(f"# {office.TITLE}\n\n## {office.HEADING}")
    assert "var x" not in md and "color: red" not in md and "ignored title" not in md
    assert office.HEADER not in md and office.FOOTER not in md and "All ponds" not in md
    assert [b.type for b in layouts[0].discarded] == [BlockType.HEADER, BlockType.FOOTER, BlockType.ASIDE_TEXT]
    assert f"- {office.BULLETS[0]}\n    - {office.NESTED}\n- {office.BULLETS[1]}" in md
    assert f"3. {office.NUMBERED[0]}\n4. {office.NUMBERED[1]}" in md  # <ol start="3">
    assert f"Ducks per pond\n<html><body><table><tr><td colspan=\"3\">{office.MERGED}</td>" in md
    assert f"```\n{office.CODE}\n```" in md and "![](images/" in md and office.CAPTION in md


def test_epub_pages_follow_the_spine_and_images_come_from_the_package(samples) -> None:
    rows, layouts, md = converted(DocKind.EPUB, samples[DocKind.EPUB])
    assert len(rows) == 2  # the navigation document is not content
    assert md.index(office.TITLE) < md.index(office.HEADING)
    assert "Table of contents" not in md and len(layouts[1].image_files) == 1


def test_csv_ragged_rows_are_padded(samples) -> None:
    _, layouts, md = converted(DocKind.CSV, samples[DocKind.CSV])
    assert md.count("<tr>") == 4 and "<tr><td>North</td><td>12</td><td></td></tr>" in md


def test_table_rows_left_empty_at_the_end_are_dropped_unless_a_span_reaches_them() -> None:
    builder = PageBuilder()
    builder.table([[Cell("a"), Cell("b")], [Cell(""), Cell("")]])
    builder.table([[Cell("a", rowspan=2), Cell("b")], [Cell("")], [Cell(""), Cell("")]])
    first, second = builder.page().blocks
    assert first.html == "<table><tr><td>a</td><td>b</td></tr></table>"
    assert second.html == '<table><tr><td rowspan="2">a</td><td>b</td></tr><tr><td></td></tr></table>'


def test_render_page_range_selects_slides(samples) -> None:
    [document] = ingest([{"source": "inline://deck.pptx", "name": "deck", "bytes": samples[DocKind.PPTX]}])
    render = RenderOperator({"op": "render", "start_page": 1, "image_format": "none"})
    pages = render.render_table(pa.Table.from_pylist([document], schema=DOCUMENTS)).to_pylist()
    assert [(p["page_idx"], p["num_pages"], p["status"]) for p in pages] == [(1, 2, "ok")]
    assert {b["type"] for b in pages[0]["converted_blocks"]} >= {"title", "list", "table", "image"}
    beyond = RenderOperator({"op": "render", "start_page": 5, "image_format": "none"})
    [failed] = beyond.render_table(pa.Table.from_pylist([document], schema=DOCUMENTS)).to_pylist()
    assert (failed["page_idx"], failed["error_code"]) == (-1, ErrorCode.EMPTY_PAGE_RANGE.value)


def test_render_office_pdf_without_libreoffice_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(DocrayError) as failure:
        office_to_pdf(b"PK", DocKind.DOCX)
    assert failure.value.code == ErrorCode.MODEL_UNAVAILABLE and "LibreOffice" in str(failure.value)


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed: render_office: pdf untested here")
def test_render_office_pdf_prints_word_with_libreoffice_and_takes_the_pdf_route(samples) -> None:
    [document] = ingest([{"source": "inline://report.docx", "name": "report", "bytes": samples[DocKind.DOCX]}])
    render = RenderOperator({"op": "render", "render_office": "pdf", "image_format": "none"})
    pages = render.render_table(pa.Table.from_pylist([document], schema=DOCUMENTS)).to_pylist()
    assert len(pages) >= 2 and {p["kind"] for p in pages} == {"docx"}  # the hard page break is a printed page too
    assert all(p["status"] == "ok" and p["converted_blocks"] is None and p["route_reason"] == "text_layer" for p in pages)
    text = " ".join(span["text"] for page in pages for span in page["spans"])
    assert office.TITLE in text and office.MERGED in text


# ---------------------------------------------------------------------------- mixed folders through the pipelines


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, samples) -> tuple[Path, dict[str, str]]:
    """PDF, image, every converted format (one mislabelled), and the bad Office files: {stem: expected status/code}."""
    root = tmp_path_factory.mktemp("mixed")
    (root / "paper.pdf").write_bytes(pdfs.simple_pdf(1))
    (root / "scan.png").write_bytes(pdfs.image_file("png", size=(850, 400), text_lines=("Pond survey results",)))
    expected = {"paper": "ok", "scan": "ok"}
    suffix = {DocKind.ODT: "odt", DocKind.ODS: "ods", DocKind.ODP: "odp"}
    for kind, data in samples.items():
        (root / f"sample_{kind.value}.{suffix.get(kind, kind.value)}").write_bytes(data)
        expected[f"sample_{kind.value}"] = "ok"
    (root / "really_word.pdf").write_bytes(samples[DocKind.DOCX])  # mislabelled: sniffed as Word
    expected["really_word"] = "ok"
    for name, (data, code) in office.bad_office_inputs().items():
        (root / name).write_bytes(data)
        expected[Path(name).stem] = code.value
    return root, expected


def _check_run(out: Path, expected: dict[str, str]) -> list[dict]:
    docs = pads.dataset(out / "documents", format="parquet").to_table().to_pylist()
    assert sorted(d["name"] for d in docs) == sorted(expected)  # exactly one row per input
    for doc in docs:
        assert (doc["status"] if doc["status"] == "ok" else doc["error_code"]) == expected[doc["name"]], (doc["name"], doc["error"])
        if doc["status"] == "ok" and doc["kind"] not in ("pdf", "image"):
            folder = out / "files" / doc["name"] / "auto"
            validate_content_list(json.loads((folder / f"{doc['name']}_content_list.json").read_text()))
            validate_middle_json(json.loads((folder / f"{doc['name']}_middle.json").read_text()))
    by_name = {d["name"]: d for d in docs}
    assert by_name["really_word"]["kind"] == "docx" and by_name["sample_docx"]["num_pages"] == 2
    word = (out / "files" / "sample_docx" / "auto" / "sample_docx.md").read_text()
    assert word.startswith(f"# {office.TITLE}") and "$$\n\\frac{a}{b}\n$$" in word
    image_link = next(line for line in word.splitlines() if line.startswith("![](images/"))
    assert (out / "files" / "sample_docx" / "auto" / image_link[4:].split(")")[0]).is_file()
    pages = pads.dataset(out / "pages", format="parquet").to_table()
    assert "converted_blocks" not in pages.column_names
    return docs


def test_mixed_folder_through_standard_in_one_run(tmp_path, mixed_folder) -> None:
    root, expected = mixed_folder
    report = run_pipeline(load_pipeline("standard"), [str(root)], str(tmp_path / "out"), executor=LocalExecutor())
    assert report.complete and report.stats.documents == len(expected)
    docs = _check_run(tmp_path / "out", expected)
    scan = next(d for d in docs if d["name"] == "scan")
    assert "Pond" in (scan["markdown"] or "")  # the image still took the OCR route in the same run


@pytest.mark.ray
def test_mixed_folder_through_fast_on_ray_in_one_run(tmp_path, mixed_folder) -> None:
    root, expected = mixed_folder
    spec = apply_overrides(load_pipeline("fast"), [])
    report = run_pipeline(spec, [str(root)], str(tmp_path / "out"), executor=RayExecutor(num_cpus=2, progress_bars=False))
    assert report.complete and report.stats.documents == len(expected)
    _check_run(tmp_path / "out", {**expected, "scan": "needs_ocr"})  # fast has no OCR: the image is an error row
