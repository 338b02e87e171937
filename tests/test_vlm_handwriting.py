"""The handwriting pipeline with a scripted general VLM (a 7B model cannot run here): contexts, fields, files.

The answers are hand-written in the shape a Qwen2.5-VL-style model gives for the bundled prompts; what is tested
is docray's handling (prompts chosen by context, the schema sent as a structured-output constraint with
log-probabilities asked, per-field confidence and boxes, the _fields.json file), not recognition accuracy.
"""

from __future__ import annotations

import io
import json
import math

import pyarrow.dataset as pads
import pytest

from docray.cli import main
from docray.operators.vlmparse.prompts import load_contexts
from docray.testing.pdfs import text_image
from docray.testing.vlm_scripted import ScriptedVlm
from docray.vlm_serve import VlmServer

LINES = [
    {"text": "City Hospital", "bbox": [80, 40, 420, 90]},
    {"text": "Patient: Zhang San  M  68", "bbox": [80, 120, 700, 170]},
    {"text": "Dx: hypertension", "bbox": [80, 190, 520, 240]},
    {"text": "Amlodipine 5 mg qd x14d", "bbox": [80, 280, 760, 330]},
    {"text": "Atorvastatin 20mg qn 30 days", "bbox": [80, 350, 820, 400]},
    {"text": "Dr. Li  2025-04-05", "bbox": [560, 880, 940, 930]},
]
FIELDS = {
    "patient_name": "Zhang San",
    "gender": "M",
    "age": 68,
    "diagnosis": "hypertension",
    "medications": [
        {"name": "Amlodipine", "dosage": "5 mg", "frequency": "qd", "duration": "x14d"},
        {"name": "Atorvastatin", "dosage": "20mg", "frequency": "qn", "duration": "30 days"},
    ],
    "doctor_signature": "Dr. Li",
    "hospital": "City Hospital",
    "date": "2025-04-05",
}


@pytest.fixture(scope="module")
def served():
    contexts = load_contexts()
    prescription = contexts["medical_prescription"]
    engine = ScriptedVlm([
        (prescription.fields.prompt[:60], "```json\n" + json.dumps(FIELDS, indent=1) + "\n```"),
        (prescription.page.prompt[:60], json.dumps(LINES)),
        (contexts["general_handwriting"].page.prompt[:60], json.dumps(LINES[:2])),
    ])  # fmt: skip
    with VlmServer(engine) as server:
        yield server, engine


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("rx")
    image = text_image([line["text"] for line in LINES], (850, 1100), font_px=28, margin_px=60)
    out = io.BytesIO()
    image.save(out, format="PNG")
    (root / "rx.png").write_bytes(out.getvalue())
    return root


def run(out, server, context: str) -> int:
    return main([
        "run", "handwriting", "-i", str(out.parent / "in"), "-o", str(out), "--executor", "local", "--no-progress",
        "--set", f"vlm.engine={{kind: http, url: '{server.url}'}}", "--set", "vlm.resources.num_gpus=0",
        "--set", f"vlm.context={context}",
    ])  # fmt: skip


def test_prescription_fields_with_confidence_and_boxes(tmp_path, served, scan):
    server, engine = served
    (tmp_path / "in").symlink_to(scan)
    out = tmp_path / "out"
    assert run(out, server, "medical_prescription") == 0
    fields_request = next(r for r in engine.requests if r.json_schema is not None)
    assert fields_request.logprobs and fields_request.json_schema == load_contexts()["medical_prescription"].fields.schema_
    result = json.loads((out / "files" / "rx" / "vlm" / "rx_fields.json").read_text())
    [page] = result["pages"]
    assert page["context"] == "medical_prescription" and page["page_idx"] == 0
    assert page["fields"] == FIELDS and page["errors"] == []
    confidence = page["confidence"]
    assert set(confidence) >= {"patient_name", "age", "medications[0].dosage", "medications[1].frequency", "date"}
    assert all(0.0 < value <= 1.0 for value in confidence.values())
    assert page["confidence_score"] == pytest.approx(sum(confidence.values()) / len(confidence), abs=1e-3)
    # the dosage box is the line it was read from (boxes are page fractions; the prompt's 0..1000 divided)
    assert page["bbox"]["medications[0].name"] == pytest.approx([0.08, 0.28, 0.76, 0.33])
    assert page["bbox"]["hospital"] == pytest.approx([0.08, 0.04, 0.42, 0.09])
    md = (out / "files" / "rx" / "vlm" / "rx.md").read_text()
    assert "Amlodipine 5 mg qd x14d" in md and "Atorvastatin 20mg qn 30 days" in md
    [record] = pads.dataset(out / "pages").to_table(columns=["vlm_fields", "vlm_blocks"]).to_pylist()
    assert json.loads(record["vlm_fields"])["fields"]["age"] == 68 and len(record["vlm_blocks"]) == len(LINES)
    [width, height] = [850, 1100]  # an image input's page is its pixel size in points
    assert record["vlm_blocks"][3]["bbox"] == pytest.approx([0.08 * width, 0.28 * height, 0.76 * width, 0.33 * height])


def test_general_context_reads_text_only(tmp_path, served, scan):
    server, engine = served
    (tmp_path / "in").symlink_to(scan)
    out = tmp_path / "out"
    before = len(engine.requests)
    assert run(out, server, "general_handwriting") == 0
    assert all(r.json_schema is None for r in engine.requests[before:])  # no fields for the general context
    assert not (out / "files" / "rx" / "vlm" / "rx_fields.json").exists()
    assert "Patient: Zhang San" in (out / "files" / "rx" / "vlm" / "rx.md").read_text()


def test_unknown_context_is_refused_when_the_pipeline_is_built(tmp_path, served, scan, capsys):
    server, _ = served
    (tmp_path / "in").symlink_to(scan)
    assert run(tmp_path / "out", server, "legal_contracts") == 2
    err = capsys.readouterr().err
    assert "unknown context 'legal_contracts'" in err and "medical_prescription" in err


def test_field_confidence_follows_the_token_log_probabilities():
    from docray.models.protocols import TokenLogprob
    from docray.operators.vlmparse.fields import field_confidences

    answer = '{"dosage": "5 mg", "frequency": "qd"}'
    tokens = [TokenLogprob(ch, math.log(0.2) if ch == "5" else 0.0) for ch in answer]
    confidence = field_confidences(answer, tokens)
    assert confidence["frequency"] == pytest.approx(1.0) and confidence["dosage"] < 0.9
