"""`docray run vlm` end to end on a real (tiny) Qwen2-VL: the transformers engine in the stage, and
`docray vlm-serve` in a subprocess reached by the http engine.  Both produce the pipeline backend's files.

The models are tiny: a random one (its answers are noise, read here in one-shot mode as Markdown; in two-stage
mode its layout answers hold no block and the pages fail cleanly) and one taught to repeat MinerU2.5-format answers
(docray.testing.taught_vlm), which gives a genuine two-stage parse through transformers' generate, in the stage and
through `docray vlm-serve`.  No accuracy is measured here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.cli import main
from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.testing.pdfs import simple_pdf, write_bad_inputs
from docray.testing.servers import VlmServeProcess

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers")),
    reason="needs torch and transformers (pip install 'docray[vlm]')",
)

# one-shot prompts with a small token budget: a random model never stops on its own
SHORT_PAGE_PROMPTS = """
name: short-page
sampling: {temperature: 0.0}
page: {prompt: "Convert this document page to Markdown.", image_max_side: 448, max_tokens: 24, output: markdown}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from docray.testing.tiny_vlm import save_tiny_qwen2_vl

    return save_tiny_qwen2_vl(tmp_path_factory.mktemp("models") / "tiny-qwen2-vl")


@pytest.fixture(scope="session")
def taught(tmp_path_factory):
    from docray.testing.taught_vlm import taught_model_dir

    return taught_model_dir(tmp_path_factory)


# what the taught model reads on every page (docray.testing.taught_vlm.LESSONS), through the two stages
TAUGHT_TYPES = ["title", "text", "table", "interline_equation", "image"]


def assert_taught_two_stage(out: Path) -> None:
    doc = documents(out)["doc"]
    assert doc["status"] == "ok", doc["error"]
    md = assert_mineru_files(out, "doc")
    assert "Taught text with $x^{2}$." in md and "<td>a</td><td>b</td>" in md and "$$\nx^{2}+1\n$$" in md
    pages = pads.dataset(out / "pages").to_table(columns=["page_idx", "vlm_blocks"]).to_pylist()
    assert sorted(p["page_idx"] for p in pages) == [0, 1]
    assert all([b["type"] for b in p["vlm_blocks"]] == TAUGHT_TYPES for p in pages)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    (root / "doc.pdf").write_bytes(simple_pdf(pages=2))
    write_bad_inputs(root / "bad")
    prompts = tmp_path_factory.mktemp("prompts") / "short.yaml"
    prompts.write_text(SHORT_PAGE_PROMPTS)
    return root, prompts


def documents(out: Path) -> dict[str, dict]:
    return {Path(r["source"]).stem: r for r in pads.dataset(out / "documents").to_table().to_pylist()}


def assert_mineru_files(out: Path, name: str) -> str:
    folder = out / "files" / name / "vlm"
    validate_content_list(json.loads((folder / f"{name}_content_list.json").read_text()))
    validate_middle_json(json.loads((folder / f"{name}_middle.json").read_text()))
    assert (folder / f"{name}_layout.pdf").stat().st_size > 0
    return (folder / f"{name}.md").read_text()


def test_transformers_engine_in_the_stage_one_shot(tmp_path, tiny, inputs):
    root, prompts = inputs
    out = tmp_path / "out"
    rc = main([
        "run", "vlm", "-i", str(root), "-o", str(out), "--executor", "local", "--no-progress",
        "--set", f"vlm.engine={{kind: transformers, model: '{tiny}', threads: 1}}", "--set", "vlm.resources.num_gpus=0",
        "--set", "vlm.mode=page", "--set", f"vlm.prompts={prompts}",
    ])  # fmt: skip
    assert rc == 4  # a partial document and the bad inputs: some inputs failed (docray.exitcodes)
    docs = documents(out)
    # the random model never stops: every answer is cut at max_tokens, which makes the pages partial, not lost
    assert docs["doc"]["status"] == "partial" and "cut at max_tokens" in docs["doc"]["error"]
    assert sum(d["status"] == "error" for d in docs.values()) == len(docs) - 1
    assert_mineru_files(out, "doc")
    pages = pads.dataset(out / "pages").to_table(columns=["page_idx", "vlm_blocks", "vlm_raw"]).to_pylist()
    assert len(pages) == 2
    for page in pages:  # the random model's answer is in the raw column, and its blocks came from it
        answer = json.loads(page["vlm_raw"])["page"]
        assert answer and all(b["text"] in answer or b["type"] != "text" for b in page["vlm_blocks"])


def test_two_stage_with_a_random_model_gives_per_page_errors_not_a_crash(tmp_path, tiny, inputs):
    root, _ = inputs
    out = tmp_path / "out"
    rc = main([
        "run", "vlm", "-i", str(root / "doc.pdf"), "-o", str(out), "--executor", "local", "--no-progress",
        "--set", f"vlm.engine={{kind: transformers, model: '{tiny}', threads: 1}}", "--set", "vlm.resources.num_gpus=0",
        "--set", f"vlm.prompts={_layout_only_prompts(tmp_path)}",
    ])  # fmt: skip
    assert rc == 5  # its one input is an error row
    doc = documents(out)["doc"]
    assert doc["status"] == "error" and doc["error_code"] == "vlm_failed" and "no block" in doc["error"]


def _layout_only_prompts(tmp_path: Path) -> Path:
    from docray.operators.vlmparse.prompts import load_prompt_set

    prompts = load_prompt_set("mineru25").model_dump(by_alias=True)
    prompts["layout"]["max_tokens"] = 16
    path = tmp_path / "mineru25-short.yaml"
    import yaml

    path.write_text(yaml.safe_dump(prompts))
    return path


def test_two_stage_through_transformers_generate_with_the_taught_model(tmp_path, taught, inputs):
    root, _ = inputs
    out = tmp_path / "out"
    rc = main([
        "run", "vlm", "-i", str(root / "doc.pdf"), "-o", str(out), "--executor", "local", "--no-progress",
        "--set", f"vlm.engine={{kind: transformers, model: '{taught}', threads: 1}}", "--set", "vlm.resources.num_gpus=0",
    ])  # fmt: skip
    assert rc == 0
    assert_taught_two_stage(out)


@pytest.mark.ray
def test_vlm_serve_subprocess_and_http_engine_on_ray(tmp_path, taught, inputs):
    root, _ = inputs
    out = tmp_path / "out"
    with VlmServeProcess("--engine", "transformers", "--model", str(taught), "--device", "cpu", "--threads", "1") as server:
        rc = main([
            "run", "vlm", "-i", str(root), "-o", str(out), "--no-progress",
            "--set", f"vlm.engine={{kind: http, url: '{server.url}', max_concurrency: 4, timeout_s: 120}}",
            "--set", "vlm.resources.num_gpus=0",
        ])  # fmt: skip
    assert rc == 4  # the bad inputs are error rows
    assert_taught_two_stage(out)
    docs = documents(out)
    assert {d["error_code"] for name, d in docs.items() if name != "doc"} <= {
        "corrupt", "empty_file", "encrypted", "unsupported_format", "zero_pages",
    }  # fmt: skip
