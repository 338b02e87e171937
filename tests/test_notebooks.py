"""Every notebook in notebooks/ runs, cell by cell, on a small run of the standard pipeline made here.

The run: a two-column article, a report with a table and a figure, a scanned page (OCR) and a corrupt
PDF.  Each notebook gets the run through ``DOCRAY_RUN`` and executes in a kernel of this interpreter
(a kernelspec written to a temporary ``JUPYTER_PATH``, so no user or system kernel is picked up).  A
cell that raises fails the test with the cell's traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.pdfs import corrupt_pdf, scanned_page, two_column_article
from docray.testing.report import report_with_table_and_figure

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REQUIRED = ("01_explore_run.ipynb", "02_inspect_page.ipynb", "03_quality_filtering.ipynb")
USES_RAY = {"01_explore_run.ipynb"}
KERNEL_NAME = "docray-notebook-tests"
CELL_TIMEOUT_S = 120
MIN_QUALITY = 0.5  # notebook 03's default threshold; the test passes it explicitly


def _notebook_params():
    return [
        pytest.param(path.name, marks=[pytest.mark.ray] if path.name in USES_RAY else [], id=path.stem)
        for path in sorted(NOTEBOOKS.glob("*.ipynb"))
    ]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    inputs = tmp_path_factory.mktemp("notebook_inputs")
    (inputs / "article.pdf").write_bytes(two_column_article(pages=2).pdf)
    (inputs / "report.pdf").write_bytes(report_with_table_and_figure().pdf)
    (inputs / "scan.pdf").write_bytes(scanned_page())
    (inputs / "corrupt.pdf").write_bytes(corrupt_pdf())
    out = tmp_path_factory.mktemp("notebook_run")
    report = run_pipeline(load_pipeline("standard"), [str(inputs)], str(out), executor=LocalExecutor())
    assert report.complete and report.stats.by_status["ok"] == 3 and report.stats.by_status["error"] == 1
    return out


@pytest.fixture(scope="module")
def jupyter_dir(tmp_path_factory) -> Path:
    """A JUPYTER_PATH holding one kernelspec that starts ``sys.executable -m ipykernel_launcher``."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = write_kernel_spec(root / "kernels" / KERNEL_NAME, overrides={"display_name": "docray tests"})
    argv = json.loads((Path(spec_dir) / "kernel.json").read_text())["argv"]
    assert argv[0] == sys.executable
    return root


def execute(name: str, run_dir: Path, jupyter_dir: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Run every cell of notebooks/<name> on ``run_dir``; a failing cell raises CellExecutionError."""
    monkeypatch.setenv("DOCRAY_RUN", str(run_dir))
    monkeypatch.setenv("DOCRAY_MIN_QUALITY", str(MIN_QUALITY))
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_dir))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter_dir / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    for parameter in ("DOCRAY_DOC", "DOCRAY_PAGE"):  # notebook 02 picks its page itself
        monkeypatch.delenv(parameter, raising=False)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    """The ``mime`` payloads of every display and result output, in cell order."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if mime in output.get("data", {}):
                found.append(output["data"][mime])
    return found


def streams(notebook: nbformat.NotebookNode) -> list[str]:
    return [out["text"] for cell in notebook.cells for out in cell.get("outputs", []) if out["output_type"] == "stream"]


def documents(run_dir: Path) -> list[dict]:
    columns = ["doc_id", "name", "status", "quality_score"]
    return pads.dataset(str(run_dir / "documents")).to_table(columns=columns).to_pylist()


def check_explore_run(notebook, run_dir: Path) -> None:
    failed = [doc["name"] for doc in documents(run_dir) if doc["status"] == "error"]
    text = "\n".join(outputs(notebook, "text/plain"))
    assert failed and all(name in text for name in failed), "the error rows are not shown"
    assert outputs(notebook, "image/png"), "no chart"


def check_inspect_page(notebook, run_dir: Path) -> None:
    routes = pads.dataset(str(run_dir / "pages")).to_table(columns=["route"]).column("route").to_pylist()
    chosen = next(text for text in streams(notebook) if " page " in text and ": route " in text)
    other_ocr_pages = routes.count("ocr") - (1 if ": route ocr " in chosen else 0)
    figures = outputs(notebook, "image/png")
    assert len(figures) == 1 + (other_ocr_pages > 0), "expected the chosen page, then an OCR page if there is another"
    markdown = outputs(notebook, "text/markdown")
    assert markdown and markdown[0].strip(), "the page's Markdown is not shown"


def check_quality_filtering(notebook, run_dir: Path) -> None:
    out = run_dir / "filtered" / f"min_quality_{MIN_QUALITY:g}"
    docs = documents(run_dir)
    expected = {
        doc["doc_id"]
        for doc in docs
        if doc["status"] in ("ok", "partial")
        and doc["quality_score"] is not None
        and doc["quality_score"] >= MIN_QUALITY
    }
    assert expected, "the run should have documents above the threshold"
    written = pq.read_table(out / "documents.parquet")
    assert set(written.column("doc_id").to_pylist()) == expected
    assert written.num_rows == len(expected)
    lines = [json.loads(line) for line in (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {line["id"] for line in lines} == expected
    assert all(line["text"].strip() for line in lines)


CHECKS = {
    "01_explore_run.ipynb": check_explore_run,
    "02_inspect_page.ipynb": check_inspect_page,
    "03_quality_filtering.ipynb": check_quality_filtering,
}


def test_the_notebooks_exist():
    found = {path.name for path in NOTEBOOKS.glob("*.ipynb")}
    assert set(REQUIRED) <= found, sorted(set(REQUIRED) - found)


@pytest.mark.parametrize("name", _notebook_params())
def test_notebook_runs_on_a_small_run(name, run_dir, jupyter_dir, monkeypatch):
    notebook = execute(name, run_dir, jupyter_dir, monkeypatch)
    executed = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert executed and all(cell.get("execution_count") for cell in executed)
    check = CHECKS.get(name)
    if check:
        check(notebook, run_dir)
