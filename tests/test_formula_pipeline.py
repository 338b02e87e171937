"""Formulas end to end: a LaTeX paper compiled with pdflatex, run through pipelines with the formula stage.

The paper's formulas are the ground truth; each one found must render in KaTeX like its source (the KaTeX check
needs node and tools/katex; without it the LaTeX is compared by its symbols).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.cli import main
from docray.evaluation.katex_math import KatexRenderer
from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import PipelineSpec, load_pipeline
from docray.testing.latex import compile_latex, pdflatex

pytestmark = pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed (make install installs texlive)")

INLINE = [r"\alpha_{i}", r"x^{2}+y^{2}", r"\sum_{k=1}^{n} a_{k}"]
DISPLAY = [r"\frac{a+b}{c}=\sqrt{x^{2}+1}", r"\int_{0}^{\infty} e^{-t^{2}} dt"]
PAPER = rf"""
\section*{{Results}}
The weights ${INLINE[0]}$ are positive, and the norm ${INLINE[1]}$ stays bounded for every sample we drew
in the experiments of 2024 described in Table 3 of the appendix.
The partial sums ${INLINE[2]}$ converge quickly. We also use the identity
\[ {DISPLAY[0]} \]
which holds for all positive values, and the integral
\begin{{equation}} {DISPLAY[1]} \end{{equation}}
that appears in the normalisation of the density.
"""


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("paper") / "paper.pdf"
    path.write_bytes(compile_latex(PAPER))
    return path


def text_pipeline() -> PipelineSpec:
    """The fast-math pipeline: text layer only, formulas included."""
    spec = load_pipeline("fast-math")
    assert [s.op for s in spec.stages].count("formula") == 1 and spec.stage("render").config["glyphs"] == "math"
    return spec


def same_rendering(found: str, truth: str) -> bool:
    renderer = KatexRenderer.find()
    if renderer is None:
        return found.replace(" ", "") == truth.replace(" ", "")
    a, b = renderer.symbols(found), renderer.symbols(truth)
    return not isinstance(a, str) and a == b


def test_text_layer_formulas_end_to_end(tmp_path, paper):
    out = tmp_path / "out"
    report = run_pipeline(text_pipeline(), [str(paper)], str(out), executor=LocalExecutor())
    assert report.complete and report.stats.by_status == {"ok": 1}
    folder = out / "files" / "paper" / "auto"
    markdown = (folder / "paper.md").read_text()
    content = json.loads((folder / "paper_content_list.json").read_text())
    middle = json.loads((folder / "paper_middle.json").read_text())
    validate_content_list(content)
    validate_middle_json(middle)

    equations = [item for item in content if item["type"] == "equation"]
    assert len(equations) == len(DISPLAY)
    for item, truth in zip(equations, DISPLAY):
        assert item["text_format"] == "latex" and item["text"].startswith("$$\n") and item["text"].endswith("\n$$")
        latex = item["text"][3:-3].strip()
        assert same_rendering(latex.removesuffix("\\tag{1}").strip(), truth), (item["text"], truth)
    # the numbered equation carries its number as a tag, and the number is not left behind as text
    assert [item["text"].count("\\tag{1}") for item in equations] == [0, 1]
    assert "(1)" not in markdown

    inline = [s["content"] for page in middle["pdf_info"] for block in page["para_blocks"] for line in block.get("lines", [])
              for s in line["spans"] if s["type"] == "inline_equation"]  # fmt: skip
    assert len(inline) == len(INLINE)
    for found, truth in zip(inline, INLINE):
        assert same_rendering(found, truth), (found, truth)
        assert f"${found}$" in markdown
    for word in ("2024", "Table 3", "positive", "normalisation"):  # text stays text
        assert word in markdown and f"${word}$" not in markdown

    pages = pads.dataset(out / "pages", format="parquet").to_table().to_pylist()
    assert "glyphs" not in pages[0]  # intermediate characters never reach the output
    formulas = pages[0]["formulas"]
    assert {f["kind"] for f in formulas} == {"inline", "display"}
    assert all(f["source"] == "text_layer" and 0 < f["score"] <= 1 for f in formulas)


def stroked_rects(pdf: Path) -> list[tuple[tuple[int, int, int], tuple[float, float, float, float]]]:
    """(stroke colour, user-space bounds) of the path objects pdfium finds on page 1 of ``pdf``."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    document = pdfium.PdfDocument(str(pdf))
    page = document[0]
    found = []
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for i in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, i)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        if pdfium_c.FPDFPageObj_GetStrokeColor(obj, r, g, b, a) and pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            found.append(((r.value, g.value, b.value), (left.value, bottom.value, right.value, top.value)))
    document.close()
    return found


def test_span_pdf_boxes_formulas(tmp_path, paper):
    from docray.formats.debug_pdf import SPAN_COLOURS

    out = tmp_path / "out"
    spec = text_pipeline()
    spec.output.files = ["markdown", "content_list", "middle", "span_pdf"]
    run_pipeline(spec, [str(paper)], str(out), executor=LocalExecutor())
    colours = [colour for colour, _ in stroked_rects(out / "files" / "paper" / "auto" / "paper_span.pdf")]
    assert colours.count(SPAN_COLOURS["inline_equation"]) == len(INLINE)
    assert colours.count(SPAN_COLOURS["interline_equation"]) == len(DISPLAY)


FAST_FORMULA_YAML = """
name: fast-formula
stages:
  - op: ingest
  - op: render
    image_format: none
    glyphs: math
  - op: formula
  - op: assemble
output:
  tables: []
  files: [markdown, content_list, middle]
"""


def test_parse_formula_switch(tmp_path, paper):
    pipeline = tmp_path / "fast-formula.yaml"
    pipeline.write_text(FAST_FORMULA_YAML)
    common = [str(paper), "--pipeline", str(pipeline), "--executor", "local", "--no-progress"]
    markdown = {}
    for flag in ("true", "false"):
        out = tmp_path / flag
        assert main(["parse", *common, "-o", str(out), "-f", flag]) == 0
        markdown[flag] = (out / "paper" / "auto" / "paper.md").read_text()
    assert markdown["true"].count("$$") == 2 * len(DISPLAY)
    assert "$" not in markdown["false"]  # no formula stage: the formulas stay text-layer characters
