"""MinerU's indent-4 JSON files from the assemble stage's compact text: the same bytes json.dumps(indent=4) writes."""

from __future__ import annotations

import json

import pytest

from docray.formats.indented_json import indent_json_text
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.pdfs import two_column_article

TRICKY = {
    "text": 'brackets [ ] { } and separators , : inside strings, quotes \\" \\\\" \\, a tab\t, a NUL \x00, é, 数学',
    "lone_surrogate": "\ud800",
    "empty": [[], {}, [[]], {"a": {}}, [{}]],
    "numbers": [1.5e-05, float("nan"), float("inf"), -float("inf"), 1e300, -0.0, 10**30, True, False, None],
    "nested": [{"bbox": [1.25, 2, 3.5, 4]}, 1, "s", [[1], 2], {"x": {"y": {"z": []}}}],
    "": "empty key",
}


@pytest.mark.parametrize("value", [TRICKY, [TRICKY, TRICKY], "plain", 3.25, None, [], {}, ["\\"], {"a, b": "c: d"}])
def test_same_bytes_as_json_dumps_indent_4(value):
    compact = json.dumps(value, ensure_ascii=False)
    assert indent_json_text(compact) == json.dumps(value, ensure_ascii=False, indent=4)


@pytest.mark.parametrize("text", ['{"a":1,"b":[1,2]}', '{\n  "a": [1,\n 2]}', '{"a": "\\u00e9 \\u0001"}', ' [1, 2] '])
def test_other_json_text_gets_the_same_value_indented(text):
    """Not the assemble stage's compact form (other separators, whitespace, ASCII escapes): parsed and dumped."""
    assert indent_json_text(text) == json.dumps(json.loads(text), ensure_ascii=False, indent=4)


def test_pipeline_json_files_are_mineru_indented(tmp_path):
    pdf = tmp_path / "in" / "paper.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(two_column_article(pages=2).pdf)
    run_pipeline(load_pipeline("fast"), [str(pdf.parent)], str(tmp_path / "out"), executor=LocalExecutor())
    folder = tmp_path / "out" / "files" / "paper" / "auto"
    for name in ("paper_middle.json", "paper_content_list.json"):
        text = (folder / name).read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=4)
        assert "\n    " in text
