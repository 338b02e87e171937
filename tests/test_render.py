"""The ``render`` operator on Arrow tables of document rows (no Ray): real PDFs, real pdfium."""

from __future__ import annotations

import hashlib
import io

import pyarrow as pa
import pytest
from PIL import Image
from pydantic import ValidationError
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

import docray.schema
from docray.datamodel import Span
from docray.operators.render import RenderConfig, RenderOperator
from docray.schema import PAGES, ErrorCode, Route, RouteReason, Status

PAGE_TEXTS = ["Page zero has a line of text", "Page one has a line of text", None]  # page 2: a picture only


def _three_page_pdf(encrypt: str | None = None) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(612, 792), encrypt=encrypt)
    for text in PAGE_TEXTS:
        if text is None:
            picture = Image.new("L", (300, 400), 200)
            c.drawImage(ImageReader(picture), 0, 0, width=612, height=792)
        else:
            c.setFont("Helvetica", 12)
            c.drawString(72, 700, text)
        c.showPage()
    c.save()
    return buffer.getvalue()


def _png(size=(320, 200), dpi=None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="PNG", **({"dpi": dpi} if dpi else {}))
    return buffer.getvalue()


def _make_doc_row(data: bytes, name: str, kind: str = "pdf", **overrides) -> dict:
    row = {
        "doc_id": hashlib.sha256(data).hexdigest(),
        "source": f"memory://{name}",
        "name": name,
        "mime": "application/pdf" if kind == "pdf" else "image/png",
        "kind": kind,
        "size_bytes": len(data),
        "bytes": data,
        "status": Status.OK.value,
        "error": None,
        "error_code": None,
        "timings": {"ingest": 0.25},
    }
    row.update(overrides)
    return row


def _run(rows: list[dict], **config) -> list[dict]:
    operator = RenderOperator({"op": "render", **config}, output_schema=PAGES)
    tables = list(operator(pa.Table.from_pylist(rows, schema=docray.schema.DOCUMENTS)))  # one per page-range segment
    assert tables and all(table.schema.equals(PAGES) for table in tables)
    return pa.concat_tables(tables).to_pylist()


def _by_name(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["name"], []).append(row)
    return grouped


@pytest.mark.parametrize("timeout_s", [120, None], ids=["isolated", "in_process"])
def test_documents_table_becomes_pages_table_with_one_error_row_per_bad_document(timeout_s):
    good = _three_page_pdf()
    missing = _make_doc_row(b"", "missing", bytes=None, status="error", error="ingest: no such file", error_code="not_found")
    rows = _run(
        [
            _make_doc_row(good, "good"),
            _make_doc_row(_three_page_pdf(encrypt="pw"), "locked"),
            _make_doc_row(good[: len(good) // 3], "cut"),
            missing,
            _make_doc_row(_png(dpi=(144, 144)), "photo", kind="image"),
        ],
        dpi=72,
        timeout_s=timeout_s,
    )
    pages = _by_name(rows)
    assert set(pages) == {"good", "locked", "cut", "missing", "photo"}

    good_pages = pages["good"]
    assert [p["page_idx"] for p in good_pages] == [0, 1, 2]
    for page, text in zip(good_pages, PAGE_TEXTS):
        assert page["status"] == "ok" and page["error"] is None and page["error_code"] is None
        assert page["doc_id"] == hashlib.sha256(good).hexdigest() and page["num_pages"] == 3
        assert (page["width"], page["height"], page["rotation"], page["image_dpi"]) == (612, 792, 0, 72)
        with Image.open(io.BytesIO(page["image"])) as image:
            assert image.size == (612, 792)
        timings = dict(page["timings"])  # an Arrow map reads back as (key, value) pairs
        assert timings.get("ingest") == (0.25 if page["page_idx"] == 0 else None), "ingest time counted once"
        assert timings["render"] > 0
        spans = [Span.from_row(s) for s in page["spans"]]
        if text is None:
            assert spans == [] and page["route"] == "ocr" and page["route_reason"] == "image_only"
            assert page["image_coverage"] > 0.99 and len(page["image_boxes"]) == 1
        else:
            assert [s.text for s in spans] == [text] and spans[0].font == "Helvetica"
            assert page["route"] == "txt" and page["route_reason"] == "text_layer"
            assert page["num_chars"] == len(text.replace(" ", "")) and page["garbled_ratio"] == 0

    for name, code in (("locked", "encrypted"), ("cut", "corrupt"), ("missing", "not_found")):
        (error_row,) = pages[name]
        assert error_row["page_idx"] == -1 and error_row["status"] == "error" and error_row["error_code"] == code
        assert error_row["source"] == f"memory://{name}" and error_row["spans"] is None
    assert pages["missing"][0]["error"] == "ingest: no such file"
    assert pages["locked"][0]["error"].startswith("render: ")

    (photo,) = pages["photo"]
    assert (photo["route"], photo["route_reason"], photo["page_idx"], photo["num_pages"]) == ("ocr", "image_input", 0, 1)
    assert (photo["width"], photo["height"], photo["image_dpi"]) == (160, 100, 144)


def test_password_opens_encrypted_documents():
    rows = _run([_make_doc_row(_three_page_pdf(encrypt="pw"), "locked")], password="pw", image_format="none")
    assert [r["page_idx"] for r in rows] == [0, 1, 2]
    assert all(r["status"] == "ok" and r["image"] is None and r["image_dpi"] is None for r in rows)
    assert Span.from_row(rows[0]["spans"][0]).text == PAGE_TEXTS[0]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(1, 1, [1]), (1, None, [1, 2]), (0, 99, [0, 1, 2]), (2, 2, [2])],
)
def test_page_range_is_inclusive_and_clipped(start, end, expected):
    rows = _run([_make_doc_row(_three_page_pdf(), "doc")], start_page=start, end_page=end, image_format="none")
    assert [r["page_idx"] for r in rows] == expected
    assert all(r["num_pages"] == 3 for r in rows)


def test_page_range_past_the_end_and_too_many_pages_are_error_rows():
    (row,) = _run([_make_doc_row(_three_page_pdf(), "doc")], start_page=5, image_format="none")
    assert (row["page_idx"], row["status"], row["error_code"]) == (-1, "error", ErrorCode.EMPTY_PAGE_RANGE.value)
    assert "3 pages" in row["error"]
    (row,) = _run([_make_doc_row(_three_page_pdf(), "doc")], max_pages=2, image_format="none")
    assert (row["page_idx"], row["error_code"]) == (-1, ErrorCode.TOO_MANY_PAGES.value)


def test_forced_methods_and_jpeg_images():
    rows = _run([_make_doc_row(_three_page_pdf(), "doc")], method="ocr", image_format="jpeg", dpi=36)
    assert {(r["route"], r["route_reason"]) for r in rows} == {(Route.OCR.value, RouteReason.FORCED.value)}
    with Image.open(io.BytesIO(rows[0]["image"])) as image:
        assert image.format == "JPEG" and image.size == (306, 396)
    rows = _run([_make_doc_row(_three_page_pdf(), "doc")], method="txt", image_format="none")
    assert {(r["route"], r["route_reason"]) for r in rows} == {(Route.TXT.value, RouteReason.FORCED.value)}


def test_unknown_kind_and_empty_bytes_are_error_rows():
    rows = _run([_make_doc_row(b"abc", "odd", kind="spreadsheet"), _make_doc_row(b"", "empty", bytes=b"")])
    codes = {r["name"]: (r["page_idx"], r["error_code"]) for r in rows}
    assert codes == {"odd": (-1, "unsupported_format"), "empty": (-1, "empty_file")}


def test_config_validation_and_schema_contract():
    with pytest.raises(ValidationError):
        RenderConfig(start_page=3, end_page=1)
    with pytest.raises(ValidationError):
        RenderConfig(dpi=144, unknown_option=True)
    with pytest.raises(ValidationError):
        RenderConfig(image_format="gif")
    for name, info in RenderConfig.model_fields.items():
        if name not in ("op", "batch_size", "concurrency", "resources"):
            assert info.description, f"RenderConfig.{name} has no description"
    assert RenderOperator.output_schema_for(docray.schema.DOCUMENTS, RenderConfig()) is PAGES
    assert set(RenderOperator.reads) <= set(docray.schema.DOCUMENT_COLUMNS)


def test_a_page_that_fails_becomes_its_own_error_row():
    from docray.operators.textlayer.pdf_pages import PageRequest, pdf_page_fields

    # an image format the encoder does not know makes every page fail at its last step
    pages = pdf_page_fields(_three_page_pdf(), PageRequest(image_format="bmp", start_page=1))  # type: ignore[arg-type]
    assert [p["page_idx"] for p in pages] == [1, 2]
    for page in pages:
        assert page["status"] == "error" and page["error_code"] == ErrorCode.RENDER_FAILED.value
        assert page["error"].startswith(f"render: page {page['page_idx']}: ValueError") and page["num_pages"] == 3


def test_pages_routed_to_ocr_can_be_rendered_at_their_own_dpi():
    from docray.testing.pdfs import scanned_page

    rows = _run([_make_doc_row(scanned_page(), "scan"), _make_doc_row(_three_page_pdf(), "text")],
                dpi=72, ocr_dpi=200, image_format="jpeg")  # fmt: skip
    by_route = {(r["name"], r["route"]): r["image_dpi"] for r in rows}
    assert by_route[("scan", "ocr")] == 200
    assert {dpi for (name, route), dpi in by_route.items() if route == "txt"} == {72}
