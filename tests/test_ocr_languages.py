"""``-l`` languages: checked before any work starts, and a missing recogniser never fails pages that need no OCR."""

from __future__ import annotations

import pyarrow.dataset as pads
import pytest

from docray.cli import main, ocr_unavailable
from docray.models.ocr_langs import PPOCRV4_CODES, PPOCRV6_CODES, family
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.schema import ErrorCode, Route, Status
from docray.testing.pdfs import scanned_page, simple_pdf


@pytest.fixture()
def empty_models_dir(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("DOCRAY_MODELS_DIR", str(models))
    return models


def test_mineru_codes_map_onto_the_shipped_recognisers_or_a_script_family():
    assert {"ch", "en", "japan", "chinese_cht", "latin", "fr", "de", "es", "pl", "tr"} <= PPOCRV6_CODES
    assert PPOCRV4_CODES == {"ch", "ch_lite", "ch_server", "en"}
    assert not {"korean", "ta", "te", "ka", "ru", "ar", "hi", "vi"} & PPOCRV6_CODES
    assert [family(c) for c in ("ru", "uk", "ar", "fa", "hi", "mr", "vi", "korean", "ta")] == [
        "cyrillic", "cyrillic", "arabic", "arabic", "devanagari", "devanagari", "latin", "korean", "ta",
    ]  # fmt: skip


def test_lang_is_checked_before_any_work(tmp_path, empty_models_dir, capsys):
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(scanned_page())
    out = tmp_path / "out"
    assert main(["parse", str(pdf), "-o", str(out), "-l", "korean", "--executor", "local"]) == 2
    err = capsys.readouterr().err
    assert "korean" in err and "ppocr/korean_rec.onnx" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before the run started
    standard = load_pipeline("standard")
    assert ocr_unavailable(apply_overrides(standard, ["ocr.lang=fr"])) is None  # v6 reads French
    assert "ppocr/latin_rec.onnx" in ocr_unavailable(apply_overrides(standard, ["ocr.lang=fr", "ocr.model.version=v4"]))
    # a text-layer-only run needs no recogniser
    assert ocr_unavailable(apply_overrides(standard, ["ocr.lang=korean", "render.method=txt"])) is None


def test_missing_recogniser_fails_only_the_pages_that_need_ocr(tmp_path, empty_models_dir):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "digital.pdf").write_bytes(simple_pdf(1, text="Born digital text needs no OCR"))
    (tmp_path / "in" / "scan.pdf").write_bytes(scanned_page())
    spec = apply_overrides(load_pipeline("standard"), ["ocr.lang=korean"])  # not installed; the API does not refuse
    report = run_pipeline(spec, [str(tmp_path / "in")], str(tmp_path / "out"), executor=LocalExecutor())
    pages = {p["name"]: p for p in pads.dataset(tmp_path / "out" / "pages", format="parquet").to_table().to_pylist()}
    digital, scan = pages["digital"], pages["scan"]
    assert digital["status"] == Status.OK.value and digital["route"] == Route.TXT.value
    assert "Born digital text" in " ".join(block["text"] or "" for block in digital["blocks"] or [])
    assert scan["route"] == Route.OCR.value and scan["status"] == Status.ERROR.value
    assert scan["error_code"] == ErrorCode.MODEL_UNAVAILABLE.value and "ppocr/korean_rec.onnx" in scan["error"]
    assert report.stats.pages == 2
