"""The vlm stage and pipelines with a scripted MinerU2.5 (its weights cannot run here): reader, operator, Ray runs.

The scripted engine answers with hand-written samples of MinerU2.5's format (docray.testing.mineru25_script);
these tests check docray's plumbing and parsing, not a model's accuracy.  The same pipelines with a real (tiny,
random) Qwen2-VL through transformers and through `docray vlm-serve` are in test_vlm_tiny_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as pads
import pytest
from PIL import Image

from docray.cli import main
from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.models.protocols import VlmResponse
from docray.operators.vlm import VlmOperator
from docray.operators.vlmparse.prompts import load_prompt_set
from docray.operators.vlmparse.reader import PageReader, ReadOptions
from docray.schema import BlockType, ErrorCode
from docray.testing import mineru25_script
from docray.testing.pdfs import simple_pdf, write_bad_inputs
from docray.testing.vlm_scripted import ScriptedVlm
from docray.vlm_serve import VlmServer

PAGE = Image.new("RGB", (1224, 1584), "white")


def reader(engine, prompts: str = "mineru25", **options) -> PageReader:
    return PageReader(engine, load_prompt_set(prompts), options=ReadOptions(**options))


def test_two_stage_reads_every_region_with_its_prompt_in_two_engine_calls():
    engine = ScriptedVlm(mineru25_script.rules())
    pages = reader(engine).read([PAGE, PAGE, PAGE])
    # one call for the three layouts, one call for every block of every page (figures get no request)
    regions_with_requests = sum(1 for _, _, answer in mineru25_script.PAGE if answer is not None)
    assert engine.batch_sizes == [3, 3 * regions_with_requests]
    layout_request = engine.calls[0][0]
    assert layout_request.skip_special_tokens is False  # MinerU2.5's layout answer is special tokens
    with Image.open(__import__("io").BytesIO(layout_request.image)) as image:
        assert image.size == (1036, 1036)  # the page stretched as MinerU2.5 expects
    blocks = pages[1].blocks
    assert [b.type for b in blocks] == [
        BlockType.HEADER, BlockType.TITLE, BlockType.TEXT, BlockType.TABLE, BlockType.TABLE_CAPTION,
        BlockType.INTERLINE_EQUATION, BlockType.IMAGE, BlockType.IMAGE_CAPTION, BlockType.PAGE_NUMBER,
    ]  # fmt: skip
    by_type = {b.type: b for b in blocks}
    assert by_type[BlockType.TITLE].text == "1 Introduction" and by_type[BlockType.TITLE].level == 1
    assert "$f(x) = x^2$" in by_type[BlockType.TEXT].text
    assert by_type[BlockType.TABLE].html.count("<tr>") == 3 and "<td>alpha</td><td>1.5</td>" in by_type[BlockType.TABLE].html
    assert by_type[BlockType.INTERLINE_EQUATION].latex == "E = m c^{2}"
    assert by_type[BlockType.TABLE_CAPTION].text == "Table 1: Parameters"
    assert by_type[BlockType.IMAGE_CAPTION].text == "Figure 1: A scripted figure"
    assert by_type[BlockType.TABLE].bbox == pytest.approx((0.1, 0.32, 0.9, 0.5))
    assert pages[0].raw["layout"] == mineru25_script.LAYOUT_ANSWER and not pages[0].errors and pages[0].failed is None


def test_block_crops_are_cut_from_the_full_page_and_turned_upright():
    layout = "<|box_start|>0 0 500 100<|box_end|><|ref_start|>text<|ref_end|><|rotate_right|>"
    engine = ScriptedVlm([("Layout", layout), ("Text Recognition", "rotated words")])
    page = Image.new("RGB", (1000, 2000), "white")
    [reading] = reader(engine).read([page])
    crop = engine.calls[1][0].image
    with Image.open(__import__("io").BytesIO(crop)) as image:
        assert image.size == (200, 500)  # 500x200 px on the page, a quarter turn back to upright
    assert reading.blocks[0].angle == 90 and reading.blocks[0].text == "rotated words"


def test_failures_are_per_page_and_per_block():
    def layout(request):
        with Image.open(__import__("io").BytesIO(request.image)):
            pass
        return mineru25_script.LAYOUT_ANSWER

    rules = [("Layout", layout), ("Table Recognition", lambda r: 1 / 0)] + mineru25_script.rules()[2:]
    engine = ScriptedVlm(rules)
    good, = reader(engine).read([PAGE])
    assert good.failed is None and len(good.errors) == 1 and "table block" in good.errors[0]
    assert not any(b.type == BlockType.TABLE and b.html for b in good.blocks)

    garbage = ScriptedVlm([("Layout", "I see a page with words on it.")])
    bad, = reader(garbage).read([PAGE])
    assert bad.failed and "no block" in bad.failed and bad.blocks == []
    assert garbage.batch_sizes == [1]  # no stage 2 for a page without layout


def test_operator_rows_error_partial_and_ok(tmp_path):
    op = VlmOperator({"op": "vlm", "engine": {"kind": "http", "url": "http://127.0.0.1:9"}})
    rules = [("Layout", lambda r: mineru25_script.LAYOUT_ANSWER if r.image else "")] + mineru25_script.rules()[1:]
    op.engine = ScriptedVlm(rules)
    op.reader = PageReader(op.engine, load_prompt_set("mineru25"))
    op._is_set_up = True
    png = __import__("io").BytesIO()
    PAGE.save(png, format="PNG")
    base = {"doc_id": "d", "source": "s", "page_idx": 0, "width": 612.0, "height": 792.0, "status": "ok"}
    rows = [
        {**base, "image": png.getvalue()},
        {**base, "page_idx": 1, "image": None},
        {**base, "page_idx": 2, "image": b"not an image"},
        {**base, "page_idx": 3, "status": "error", "error": "render: boom", "image": None},
    ]
    out = op.process_rows(rows)
    assert [r["status"] for r in out] == ["ok", "error", "error", "error"]
    assert out[1]["error_code"] == ErrorCode.RENDER_FAILED.value and out[3]["error"] == "render: boom"
    table = next(b for b in out[0]["vlm_blocks"] if b["type"] == "table")
    assert table["bbox"] == pytest.approx([61.2, 253.44, 550.8, 396.0])  # fractions -> points
    assert {b["type"] for b in out[0]["layout_blocks"]} >= {"table", "image", "interline_equation"}
    assert json.loads(out[0]["vlm_raw"])["layout"] == mineru25_script.LAYOUT_ANSWER

    class Broken:
        model_name = "broken"

        def generate(self, requests):
            raise RuntimeError("CUDA out of memory")

        def close(self):
            pass

    op.reader = PageReader(Broken(), load_prompt_set("mineru25"))
    broken = op.process_rows(rows[:1])
    assert broken[0]["status"] == "error" and "CUDA out of memory" in broken[0]["error"]


def test_partial_page_makes_a_partial_document_in_assembly():
    from docray.operators.assemble import _outcome

    ok = {"page_idx": 0, "status": "ok", "vlm_blocks": []}
    partial = {"page_idx": 1, "status": "partial", "error": "vlm: table block 3: HTTP 500", "error_code": "vlm_failed", "vlm_blocks": []}
    outcome = _outcome([ok, partial], [])
    assert outcome["status"] == "partial" and "partly read" in outcome["error"] and outcome["error_code"] == "vlm_failed"


@pytest.fixture(scope="module")
def scripted_server():
    engine = ScriptedVlm(mineru25_script.rules())
    with VlmServer(engine) as server:
        yield server, engine


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("vlm-inputs")
    (root / "paper.pdf").write_bytes(simple_pdf(pages=2))
    expected = {Path(name).stem: code.value for name, code in write_bad_inputs(root / "bad").items()}
    return root, expected


@pytest.mark.ray
def test_vlm_pipeline_over_http_on_ray_writes_mineru_files_and_one_row_per_document(tmp_path, scripted_server, inputs):
    server, engine = scripted_server
    root, expected_errors = inputs
    out = tmp_path / "out"
    rc = main([
        "run", "vlm", "-i", str(root), "-o", str(out), "--no-progress",
        "--set", f"vlm.engine={{kind: http, url: '{server.url}', max_concurrency: 4}}", "--set", "vlm.resources.num_gpus=0",
    ])  # fmt: skip
    docs = {Path(r["source"]).stem: r for r in pads.dataset(out / "documents").to_table().to_pylist()}
    assert rc == 4  # bad inputs are error rows; the run completes and exits 4 (some inputs failed)
    assert docs["paper"]["status"] == "ok"
    assert {name: docs[name]["error_code"] for name in expected_errors} == expected_errors
    md = (out / "files" / "paper" / "vlm" / "paper.md").read_text()
    assert md.count("# 1 Introduction") == 2 and "Journal of Scripted Results" not in md  # header discarded
    assert "$$\nE = m c^{2}\n$$" in md and "<td>alpha</td>" in md and "![](images/" in md
    content = json.loads((out / "files" / "paper" / "vlm" / "paper_content_list.json").read_text())
    validate_content_list(content)
    assert [i["type"] for i in content if i["page_idx"] == 0] == ["text", "text", "table", "equation", "image"]
    table = next(i for i in content if i["type"] == "table")
    assert table["table_caption"] == ["Table 1: Parameters"] and table["img_path"].startswith("images/")
    middle = json.loads((out / "files" / "paper" / "vlm" / "paper_middle.json").read_text())
    validate_middle_json(middle)
    assert middle["_backend"] == "vlm"
    assert [b["type"] for b in middle["pdf_info"][0]["discarded_blocks"]] == ["header", "page_number"]
    assert (out / "files" / "paper" / "vlm" / "paper_layout.pdf").stat().st_size > 0
    pages = pads.dataset(out / "pages").to_table(columns=["page_idx", "vlm_blocks", "layout_blocks"]).to_pylist()
    assert sorted(p["page_idx"] for p in pages) == [0, 1] and all(len(p["vlm_blocks"]) == 9 for p in pages)
    assert max(engine.batch_sizes) > 1  # the server's micro-batcher merged concurrent block requests


def test_parse_cli_vlm_http_client(tmp_path, scripted_server, capsys):
    server, _ = scripted_server
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(simple_pdf(pages=1))
    rc = main(["parse", "-p", str(pdf), "-o", str(tmp_path / "out"), "-b", "vlm-http-client", "-u", server.url,
               "--executor", "local", "--no-progress"])  # fmt: skip
    assert rc == 0
    assert "# 1 Introduction" in (tmp_path / "out" / "one" / "vlm" / "one.md").read_text()
    assert main(["parse", "-p", str(pdf), "-o", str(tmp_path / "o2"), "-b", "vlm-http-client", "--executor", "local"]) == 2
    assert "needs the server URL" in capsys.readouterr().err


def test_gpu_stage_on_a_cluster_without_gpus_fails_clearly(tmp_path, inputs, capsys):
    root, _ = inputs
    rc = main(["run", "vlm", "-i", str(root / "paper.pdf"), "-o", str(tmp_path / "out"), "--no-progress",
               "--set", "vlm.engine={kind: http, url: 'http://127.0.0.1:9'}"])  # fmt: skip
    assert rc == 2
    assert "--set vlm.resources.num_gpus=0" in capsys.readouterr().err


def test_engine_answer_count_mismatch_is_an_error():
    class Short:
        model_name = "short"

        def generate(self, requests):
            return [VlmResponse(text="")]

        def close(self):
            pass

    with pytest.raises(RuntimeError, match="answered 1 of 2"):
        reader(Short()).read([PAGE, PAGE])


@pytest.mark.ray
def test_a_model_that_cannot_load_stops_the_run_with_its_own_message(tmp_path, inputs, capsys):
    root, _ = inputs
    rc = main(["run", "vlm", "-i", str(root / "paper.pdf"), "-o", str(tmp_path / "out"), "--no-progress",
               "--set", f"vlm.engine.model={tmp_path / 'no-such-model'}", "--set", "vlm.resources.num_gpus=0"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "the run stopped: WeightNotFoundError: no model folder for" in err and "no-such-model" in err
