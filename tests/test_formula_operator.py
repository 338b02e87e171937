"""The ``formula`` operator on page rows: scans read by an image recogniser, unconfident reconstructions re-read,
no recogniser configured, rows in error.

The image recogniser here is a tiny randomly initialised VisionEncoderDecoder (ViT + TrOCR) saved as a models-dir
folder (see tests/test_formula_ved.py): it tests the plumbing (crops, batching, what wins), not accuracy.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from docray.operators.formula import FormulaOperator, crop_image
from docray.operators.textlayer.pdf_pages import PageRequest, pdf_page_fields
from docray.schema import BlockType, Status
from docray.testing.latex import compile_latex, pdflatex

pytestmark = pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed (make install installs texlive)")

BODY = r"Some text before the formula, long enough to be a paragraph of its own on the page." "\n" r"\[ \frac{a+b}{c}=x^{2} \]"


@pytest.fixture(scope="module")
def page_fields() -> dict:
    pdf = compile_latex(BODY)
    (fields,) = pdf_page_fields(pdf, PageRequest(dpi=144, image_format="png", glyphs="math"))
    return fields


def page_row(fields: dict, **changes) -> dict:
    row = {"doc_id": "d", "source": "s.pdf", "name": "s", "page_idx": 0, "timings": {}, **fields, **changes}
    return row


@pytest.fixture(scope="module")
def formula_box(page_fields) -> list[float]:
    """The display formula's box as the text layer finds it (where a layout model would box it on a scan)."""
    (out,) = FormulaOperator({"op": "formula"}).process_rows([page_row(page_fields, route="txt")])
    (display,) = [f for f in out["formulas"] if f["kind"] == "display"]
    return display["bbox"]


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (pip install 'docray[formula]')")
    pytest.importorskip("transformers", reason="transformers is not installed (pip install 'docray[formula]')")
    from test_formula_ved import save_tiny_model

    root = tmp_path_factory.mktemp("models")
    save_tiny_model(root / "tiny-mfr")
    return root


def operator(models_root=None, monkeypatch=None, **config) -> FormulaOperator:
    if models_root is not None:
        monkeypatch.setenv("DOCRAY_MODELS_DIR", str(models_root))
        config["image_model"] = {"kind": "vision_encoder_decoder", "model": "models-dir:tiny-mfr", "max_new_tokens": 8}
    return FormulaOperator({"op": "formula", **config})


def test_text_layer_page_without_a_model(page_fields):
    (out,) = operator().process_rows([page_row(page_fields, route="txt")])
    displays = [f for f in out["formulas"] if f["kind"] == "display"]
    assert len(displays) == 1 and displays[0]["source"] == "text_layer"
    assert displays[0]["latex"].replace(" ", "") == r"\frac{a+b}{c}=x^{2}"
    assert all("+" not in s["text"] for s in out["spans"])  # the formula's glyphs left the text
    assert out["timings"]["formula"] > 0


def test_scanned_formula_is_read_from_the_page_image(page_fields, formula_box, models_root, monkeypatch):
    box = formula_box
    scan = page_row(
        page_fields, route="ocr", glyphs=None, rules=None, spans=[],
        layout_blocks=[{"type": BlockType.INTERLINE_EQUATION.value, "bbox": box, "score": 0.9, "label": "isolated"}],
    )  # fmt: skip
    op = operator(models_root, monkeypatch)
    op.ensure_setup()
    crops, recognize = [], op.recognizer.recognize
    op.recognizer.recognize = lambda images: crops.extend(images) or recognize(images)
    (out,) = op.process_rows([scan])
    (formula,) = out["formulas"]
    (crop,) = crops  # one crop: the formula's box (plus the margin) at the page image's dpi
    scale = 300 / 72  # crops are resampled to crop_dpi (300) whatever the page image's dpi
    assert crop.shape[0] == pytest.approx((box[3] - box[1] + 4) * scale, abs=6)  # edges round outwards at 144 dpi
    assert crop.shape[1] == pytest.approx((box[2] - box[0] + 4) * scale, abs=6)
    (expected,) = recognize([crop])  # what the recogniser reads there becomes the formula (random weights: any text)
    assert formula["kind"] == "display" and formula["bbox"] == pytest.approx(box)
    if expected.latex.strip():
        assert formula["source"] == "image_model" and formula["latex"] == expected.latex.strip()
        assert formula["score"] == pytest.approx(expected.score)
    else:
        assert formula["source"] == "none" and formula["latex"] is None


def test_display_formulas_are_reread_by_the_image_model(page_fields, models_root, monkeypatch):
    calls = []
    op = operator(models_root, monkeypatch, reread="all")
    op.ensure_setup()
    recognize = op.recognizer.recognize
    op.recognizer.recognize = lambda crops: calls.append(len(crops)) or recognize(crops)
    (out,) = op.process_rows([page_row(page_fields, route="txt")])
    (display,) = [f for f in out["formulas"] if f["kind"] == "display"]
    assert calls == [1]  # one crop, the display formula (inline formulas are not sent without image_inline)
    # with reread: all the image model's answer wins whenever it has one; else the reconstruction stays
    (kept,) = [f for f in operator().process_rows([page_row(page_fields, route="txt")])[0]["formulas"] if f["kind"] == "display"]
    if display["source"] == "text_layer":
        assert display["latex"] == kept["latex"]
    else:
        assert display["source"] == "image_model" and display["latex"] != kept["latex"]


def test_scan_without_an_image_model_keeps_the_box_without_latex(page_fields, formula_box):
    box = formula_box
    scan = page_row(page_fields, route="ocr", glyphs=None, rules=None, spans=[],
                    layout_blocks=[{"type": "interline_equation", "bbox": box, "score": 0.9, "label": "isolated"}])  # fmt: skip
    (out,) = operator().process_rows([scan])
    assert out["formulas"] == [{"kind": "display", "bbox": pytest.approx(box), "latex": None, "score": 0.0, "source": "none"}]


def test_rows_in_error_pass_through(page_fields):
    failed = page_row(page_fields, status=Status.ERROR.value, error="render: broken", error_code="render_failed")
    (out,) = operator().process_rows([failed])
    assert out["status"] == "error" and out["error"] == "render: broken" and out["formulas"] == []


def test_crop_image_is_clipped_to_the_page(page_fields):
    pixels = np.asarray(Image.open(io.BytesIO(page_fields["image"])).convert("RGB"))
    crop = crop_image(pixels, (-10.0, -10.0, 20.0, 20.0), 2.0, 2.0)
    assert crop is not None and crop.shape[:2] == (44, 44)
    assert crop_image(pixels, (10_000.0, 10_000.0, 10_010.0, 10_010.0), 2.0, 2.0) is None


class _FailsOnSecond:
    """A recogniser whose batch call fails, and whose second crop fails alone too."""

    def __init__(self):
        self.calls = 0

    def recognize(self, crops):
        from docray.models.protocols import FormulaText

        self.calls += 1
        if len(crops) > 1 or self.calls == 3:
            raise RuntimeError("recogniser exploded")
        return [FormulaText("x^{2}", 0.9)]


def test_a_failing_recogniser_fails_only_the_page_of_the_failing_crop(page_fields, formula_box):
    scan = page_row(page_fields, route="ocr", glyphs=None, rules=None, spans=[],
                    layout_blocks=[{"type": "interline_equation", "bbox": formula_box, "score": 0.9, "label": "isolated"}])  # fmt: skip
    op = operator()
    op.ensure_setup()
    op.recognizer = _FailsOnSecond()
    first, second = op.process_rows([dict(scan, page_idx=0), dict(scan, page_idx=1)])
    assert first["status"] == "ok" and first["formulas"][0]["latex"] == "x^{2}"
    assert first["formulas"][0]["source"] == "image_model"
    assert second["status"] == "error" and "recogniser exploded" in second["error"]
