"""Handwriting fields and grounded lines: JSON in model answers, value spans, confidences, boxes, validation."""

from __future__ import annotations

import json
import math
import re

import pytest

from docray.models.protocols import TokenLogprob
from docray.operators.vlmparse.blocks import VlmBlock
from docray.operators.vlmparse.fields import (
    FieldsResult,
    contained,
    extract_json,
    field_boxes,
    field_confidences,
    leaf_values,
    validate_fields,
    value_spans,
)
from docray.operators.vlmparse.grounded import GroundedLine, parse_grounded_lines
from docray.operators.vlmparse.prompts import load_contexts
from docray.schema import BlockType

PRESCRIPTION = {
    "patient_name": "张某某",
    "gender": "男",
    "age": 68,
    "diagnosis": "高血压二级",
    "medications": [
        {"name": "Amlodipine", "dosage": "5mg", "frequency": "qd", "duration": "14天"},
        {"name": "Atorvastatin", "dosage": "20mg", "frequency": "qn", "duration": "30天"},
    ],
    "doctor_signature": "李XX",
    "hospital": "某市人民医院",
    "date": "2025-04-05",
}


def tokenise(text: str, size: int = 3) -> list[str]:
    """Cut ``text`` into pieces of ``size`` characters (a stand-in for a tokeniser: only the join matters)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


# --------------------------------------------------------------------------- extract_json


def test_extract_json_from_fenced_and_prose_answers():
    body = json.dumps(PRESCRIPTION, ensure_ascii=False)
    fenced = f"Here are the fields:\n```json\n{body}\n```\nLet me know if you need more."
    value, (start, end) = extract_json(fenced)
    assert value == PRESCRIPTION
    assert fenced[start:end] == body

    prose = f"I read {{the page}} carefully. The result is {body} as requested."
    value, (start, end) = extract_json(prose)  # "{the page}" is prose in braces, skipped whole
    assert value == PRESCRIPTION and prose[start:end] == body


def test_extract_json_forgives_trailing_commas_and_rejects_truncation():
    value, span = extract_json('{"a": [1, 2,], "b": {"c": "}",},}')
    assert value == {"a": [1, 2], "b": {"c": "}"}} and span == (0, 33)
    # cut at max_tokens: the complete inner object is a part, not the answer
    assert extract_json('{"patient_name": "x", "medications": [{"name": "a"}, {"name": "b') is None
    assert extract_json("no JSON here, only [1, 2]") is None
    assert extract_json('[{"a": 1}]') == ({"a": 1}, (1, 9))  # the first object, even inside an array


# --------------------------------------------------------------------------- value_spans


def test_value_spans_cover_every_leaf_of_nested_json():
    text = json.dumps(PRESCRIPTION, ensure_ascii=False, indent=2)
    spans = value_spans(text)
    assert set(spans) == set(leaf_values(PRESCRIPTION))
    for path, (start, end) in spans.items():
        assert json.loads(text[start:end]) == leaf_values(PRESCRIPTION)[path]
    assert text[slice(*spans["medications[1].dosage"])] == '"20mg"'
    assert text[slice(*spans["age"])] == "68"


def test_value_spans_escaped_strings_numbers_literals_and_unicode():
    text = '{"q": "say \\"hi\\" \\u00e9\\n", "n": -1.5e3, "t": true, "f": false, "z": null, "a": [[1], {}, []], "ü": "ß",}'
    spans = value_spans(text)
    assert text[slice(*spans["q"])] == '"say \\"hi\\" \\u00e9\\n"'
    assert text[slice(*spans["n"])] == "-1.5e3"
    assert [text[slice(*spans[k])] for k in ("t", "f", "z")] == ["true", "false", "null"]
    assert text[slice(*spans["a[0][0]"])] == "1"
    assert "a[1]" not in spans and "a[2]" not in spans  # empty containers are not leaves
    assert text[slice(*spans["ü"])] == '"ß"'
    assert value_spans("42") == {"": (0, 2)}
    with pytest.raises(ValueError):
        value_spans('{"a": }')


# --------------------------------------------------------------------------- field_confidences


def test_one_unlikely_token_lowers_exactly_its_field():
    answer = "```json\n" + json.dumps(PRESCRIPTION, ensure_ascii=False) + "\n```"
    pieces = tokenise(answer)
    start = answer.index('"5mg"') + 1  # the dosage's content
    doubtful = next(i for i, (a, p) in enumerate(zip(_offsets(pieces), pieces)) if a <= start < a + len(p))
    tokens = [TokenLogprob(p, math.log(0.02) if i == doubtful else math.log(0.99)) for i, p in enumerate(pieces)]
    confidence = field_confidences(answer, tokens)

    assert set(confidence) == set(leaf_values(PRESCRIPTION))
    assert confidence["medications[0].dosage"] < 0.5
    others = {k: v for k, v in confidence.items() if k != "medications[0].dosage"}
    assert all(v == pytest.approx(0.99) for v in others.values()), others
    dosage_tokens = [i for i, a in enumerate(_offsets(pieces)) if a < start + 3 and a + len(pieces[i]) > start]
    expected = math.exp(sum(tokens[i].logprob for i in dosage_tokens) / len(dosage_tokens))
    assert confidence["medications[0].dosage"] == pytest.approx(expected)


def test_confidences_need_tokens_that_join_to_the_answer():
    answer = '{"a": "x"}'
    assert field_confidences(answer, [TokenLogprob('{"a": "y"}', 0.0)]) == {}
    assert field_confidences("no json", [TokenLogprob("no json", 0.0)]) == {}
    # an empty string still gets the confidence of its quotes
    tokens = [TokenLogprob('{"a": ', 0.0), TokenLogprob('""', math.log(0.5)), TokenLogprob("}", 0.0)]
    assert field_confidences('{"a": ""}', tokens) == {"a": pytest.approx(0.5)}


def _offsets(pieces: list[str]) -> list[int]:
    out, pos = [], 0
    for piece in pieces:
        out.append(pos)
        pos += len(piece)
    return out


# --------------------------------------------------------------------------- field_boxes


LINES = [
    GroundedLine("某市人民医院 处方笺", (0.1, 0.02, 0.9, 0.06)),
    GroundedLine("姓名: 张某某  性别: 男  年龄: 68", (0.05, 0.1, 0.9, 0.14)),
    GroundedLine("Rp: Amlodipine 5 mg qd x14天", (0.05, 0.3, 0.8, 0.34)),
    GroundedLine("Atorvastatin 20mg qn", (0.05, 0.36, 0.7, 0.4)),
    GroundedLine("observations: the solution turned", (0.05, 0.6, 0.9, 0.64)),
    GroundedLine("blue after ten minutes at 40 C", (0.05, 0.65, 0.8, 0.69)),
    GroundedLine("no box here", None),
]


def test_field_boxes_match_values_to_lines_fuzzily():
    fields = {
        "drug": "Amlodipine 5mg",
        "drug2": "atorvastatin 20 mg",
        "age": 68,
        "hospital": "某市人民医院",
        "observations": "The solution turned blue after ten minutes at 40 C",
        "missing": "Metformin 500mg",
        "flag": True,
        "none": None,
    }
    boxes = field_boxes(fields, LINES)
    assert boxes["drug"] == LINES[2].bbox
    assert boxes["drug2"] == LINES[3].bbox
    assert boxes["age"] == LINES[1].bbox
    assert boxes["hospital"] == LINES[0].bbox
    assert boxes["observations"] == (0.05, 0.6, 0.9, 0.69)  # two lines: the union of their boxes
    assert set(boxes) == {"drug", "drug2", "age", "hospital", "observations"}
    assert field_boxes(fields, [GroundedLine("Amlodipine 5mg", None)]) == {}


def test_field_boxes_accept_vlm_blocks():
    blocks = [VlmBlock(type=BlockType.TEXT, bbox=(0.1, 0.2, 0.3, 0.4), text="Amlodipine 5 mg qd")]
    assert field_boxes({"medications": [{"name": "Amlodipine 5mg"}]}, blocks) == {"medications[0].name": (0.1, 0.2, 0.3, 0.4)}


def test_contained_scores_partial_occurrences():
    assert contained("amlodipine5mg", "rp:amlodipine5mgqd") == 1.0
    assert contained("amlodipine5mcg", "rp:amlodipine5mgqd") < 1.0
    assert contained("metformin", "amlodipine5mgqd") < 0.6
    assert contained("", "x") == 0.0


# --------------------------------------------------------------------------- validation and the bundle


def test_validate_fields_reports_schema_violations():
    schema = load_contexts()["medical_prescription"].fields.schema_
    assert validate_fields(PRESCRIPTION, schema) == []
    broken = json.loads(json.dumps(PRESCRIPTION))
    broken["age"] = "sixty-eight"
    broken["medications"][0]["dosage"] = 5
    del broken["date"]
    broken["extra"] = 1
    errors = validate_fields(broken, schema)
    assert any(e.startswith("age: ") for e in errors)
    assert any(e.startswith("medications[0].dosage: 5 is not of type") for e in errors)
    assert any("'date' is a required property" in e for e in errors)
    assert any("extra" in e and "Additional properties" in e for e in errors)


def test_fields_result_json_shape():
    result = FieldsResult(
        context="medical_prescription",
        fields={"a": "x", "b": 1},
        confidence={"a": 0.9, "b": 0.7},
        boxes={"a": (0.1, 0.2, 0.30001, 0.4)},
        errors=["e"],
    )
    out = result.to_json()
    assert out == {
        "context": "medical_prescription",
        "fields": {"a": "x", "b": 1},
        "confidence": {"a": 0.9, "b": 0.7},
        "confidence_score": 0.8,
        "bbox": {"a": [0.1, 0.2, 0.3, 0.4]},
        "errors": ["e"],
    }
    json.dumps(out)
    assert FieldsResult(context="c").to_json()["confidence_score"] is None


# --------------------------------------------------------------------------- grounded lines


def test_grounded_lines_fenced_with_trailing_commas():
    answer = (
        "```json\n[\n"
        '  {"text": "Rp: Amlodipine 5 mg qd", "bbox": [100, 200, 900, 260]},\n'
        '  {"text": "bid", "bbox": [500, 300, 450, 340],},\n'
        '  {"text": "no box"},\n'
        '  {"bbox": [0, 0, 10, 10]},\n'
        "]\n```"
    )
    lines = parse_grounded_lines(answer)
    assert lines == [
        GroundedLine("Rp: Amlodipine 5 mg qd", (0.1, 0.2, 0.9, 0.26)),
        GroundedLine("bid", (0.45, 0.3, 0.5, 0.34)),  # corners put in order
        GroundedLine("no box", None),
    ]


def test_grounded_lines_truncated_keeps_complete_items():
    answer = '[{"text": "line one", "bbox": [0, 0, 500, 50]}, {"text": "line two", "bbox": [0, 60, 5'
    assert parse_grounded_lines(answer) == [GroundedLine("line one", (0.0, 0.0, 0.5, 0.05))]
    assert parse_grounded_lines('[{"text": "cut off') == []


def test_grounded_lines_qwen_bbox_2d_and_pixel_scale():
    answer = '[{"bbox_2d": [64, 32, 320, 96], "text_content": "qd"}, {"bbox_2d": [[0, 0], [640, 480]], "label": "x"}]'
    assert parse_grounded_lines(answer, scale=(640, 480)) == [
        GroundedLine("qd", (0.1, 32 / 480, 0.5, 0.2)),
        GroundedLine("x", (0.0, 0.0, 1.0, 1.0)),
    ]
    fractions = parse_grounded_lines('[{"text": "a", "bbox": [0.1, 0.2, 0.3, 0.4]}]')
    assert fractions == [GroundedLine("a", (0.1, 0.2, 0.3, 0.4))]


def test_grounded_lines_plain_text_answer():
    assert parse_grounded_lines("Rp: Amlodipine 5mg qd\n\n  Atorvastatin 20mg qn \n") == [
        GroundedLine("Rp: Amlodipine 5mg qd"),
        GroundedLine("Atorvastatin 20mg qn"),
    ]
    assert parse_grounded_lines('```\n["first", "second"]\n```') == [GroundedLine("first"), GroundedLine("second")]
    assert parse_grounded_lines("") == []


# --------------------------------------------------------------------------- the bundled contexts


def _objects(schema: dict, path: str = ""):
    if schema.get("type") == "object" or "properties" in schema:
        yield path, schema
        for key, sub in schema.get("properties", {}).items():
            yield from _objects(sub, f"{path}.{key}")
    if "items" in schema:
        yield from _objects(schema["items"], f"{path}[]")


def test_bundled_handwriting_contexts_load_with_valid_strict_schemas():
    from jsonschema import Draft202012Validator

    contexts = load_contexts()
    assert set(contexts) == {"general_handwriting", "medical_prescription", "scientific_handwriting", "educational_notes"}
    for name, context in contexts.items():
        assert context.page is not None and context.page.output == "grounded_lines", name
        assert "0 to 1000" in context.page.prompt and '"bbox"' in context.page.prompt
        assert context.text is not None and context.text.output == "text"
        if context.fields is None:
            continue
        schema = context.fields.schema_
        Draft202012Validator.check_schema(schema)
        for path, obj in _objects(schema):  # strict structured-output form at every level
            assert obj.get("additionalProperties") is False, (name, path)
            assert sorted(obj["required"]) == sorted(obj["properties"]), (name, path)
    assert contexts["general_handwriting"].fields is None
    medical = contexts["medical_prescription"]
    assert {"qd", "bid", "mcg"} <= set(re.findall(r"\w+", medical.page.prompt))
    assert set(medical.fields.schema_["properties"]["medications"]["items"]["properties"]) == {
        "name", "dosage", "frequency", "duration"
    }
    assert "LaTeX" in contexts["scientific_handwriting"].page.prompt
    assert validate_fields(PRESCRIPTION, medical.fields.schema_) == []
