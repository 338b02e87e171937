"""``docray serve`` answers mineru-api's client: a real uvicorn server on loopback, real PDFs, the standard pipeline
run in-process (``--executor local``)."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")
requests = pytest.importorskip("requests")

from docray.formats.mineru_schema import validate_content_list  # noqa: E402
from docray.testing import office  # noqa: E402
from docray.testing.mineru_api_client import parse_file  # noqa: E402
from docray.testing.pdfs import corrupt_pdf, image_file, not_a_pdf, simple_pdf  # noqa: E402
from docray.testing.report import TITLE, report_with_table_and_figure  # noqa: E402
from docray.testing.serve import ServeProcess  # noqa: E402
from docray.testing.tables import prose_pdf  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    with ServeProcess(str(root / "out"), "--executor", "local") as running:
        yield running


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "quarterly report.pdf"
    path.write_bytes(report_with_table_and_figure().pdf)
    return path


def wait_done(server: ServeProcess, task_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = requests.get(f"{server.url}/tasks/{task_id}", timeout=10).json()
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} not done: {status}\n{server.output()}")


def test_seed_client_script_gets_mineru_shaped_json(server, report_pdf, tmp_path):
    """The seed's parse_file, with its own request fields (lang_list overwritten, output_dir sent, end_page_id 0)."""
    code, written = parse_file(
        report_pdf, output_dir=str(tmp_path / "output"), api_url=f"{server.url}/file_parse", lang_list=["ch", "en"],
        backend="pipeline", parse_method="auto", table_enable=True, formula_enable=False, return_md=True,
        return_middle_json=True, return_model_output=True, return_content_list=True,
    )  # fmt: skip
    assert code == 200, server.output()
    folder = tmp_path / "output" / "quarterly report"
    debug = json.loads((folder / "quarterly report_debug.json").read_text(encoding="utf-8"))
    assert debug["backend"] == "pipeline" and debug["version"]
    assert list(debug["results"]) == ["quarterly report"]
    markdown = (folder / "quarterly report.md").read_text(encoding="utf-8")
    assert markdown.startswith(f"# {TITLE}")
    assert "<table>" in markdown  # table_enable=true: the table is HTML
    # as mineru-api, the JSON files come back as their text; the client saves that string as JSON
    middle = json.loads(json.loads((folder / "quarterly report_middle.json").read_text(encoding="utf-8")))
    assert [page["page_idx"] for page in middle["pdf_info"]] == [0]  # end_page_id 0: the first page only
    content = json.loads(json.loads((folder / "quarterly report_content_list.json").read_text(encoding="utf-8")))
    assert {"text", "table", "image"} <= {item["type"] for item in content}
    model = json.loads(json.loads((folder / "quarterly report_model_output.json").read_text(encoding="utf-8")))
    assert isinstance(model, list) and model
    assert not (Path(str(folder)) / "out").exists()  # output_dir names a client folder: the server never writes there


def test_seed_client_zip_is_laid_out_like_mineru_output(server, report_pdf, tmp_path):
    code, written = parse_file(
        report_pdf, output_dir=str(tmp_path / "output"), api_url=f"{server.url}/file_parse", backend="pipeline",
        return_md=True, return_middle_json=True, return_content_list=True, return_images=True, response_format_zip=True,
    )  # fmt: skip
    assert code == 200 and len(written) == 1
    names = zipfile.ZipFile(written[0]).namelist()
    stem = "quarterly report/auto/quarterly report"
    assert {f"{stem}.md", f"{stem}_middle.json", f"{stem}_content_list.json"} <= set(names)
    assert any(n.startswith("quarterly report/auto/images/") and n.endswith(".jpg") for n in names), names
    assert all(".." not in n and not n.startswith("/") for n in names)


def test_images_come_back_as_data_uris_and_files_as_named(server, report_pdf):
    with report_pdf.open("rb") as pdf:
        files = [("files", ("report.pdf", pdf.read(), "application/pdf")), ("files", ("scan.png", image_file("png"), "image/png"))]
    answer = requests.post(f"{server.url}/file_parse", files=files, data={"return_images": "true", "parse_method": "txt"}, timeout=120)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert set(results) == {"report", "scan"}
    images = results["report"]["images"]
    assert images and all(uri.startswith("data:image/jpeg;base64,") for uri in images.values())
    referenced = re.findall(r"!\[[^]]*\]\(images/([^)]+)\)", results["report"]["md_content"])
    assert referenced and set(referenced) <= set(images)
    assert results["scan"]["status"] in ("ok", "partial")


def test_async_task_reports_progress_and_result(server):
    files = [("files", (f"doc{i}.pdf", prose_pdf(), "application/pdf")) for i in range(3)]
    created = requests.post(f"{server.url}/tasks", files=files, data={"return_content_list": "true"}, timeout=30)
    assert created.status_code == 202, created.text
    body = created.json()
    assert body["status"] in ("pending", "processing") and body["queued_ahead"] >= 0
    assert body["status_url"].endswith(f"/tasks/{body['task_id']}") and body["result_url"].endswith("/result")
    status = wait_done(server, body["task_id"])
    assert status["status"] == "completed"
    assert status["pages"]["total"] == 3 and status["pages"]["done"] == 3
    assert status["documents"] == {"done": 3, "total": 3}
    result = requests.get(body["result_url"], timeout=30)
    assert result.status_code == 200
    assert set(result.json()["results"]) == {"doc0", "doc1", "doc2"}
    assert all(r["md_content"].startswith("# Introduction") for r in result.json()["results"].values())
    as_zip = requests.get(body["result_url"], params={"format": "zip"}, timeout=30)
    assert "doc1/auto/doc1.md" in zipfile.ZipFile(io.BytesIO(as_zip.content)).namelist()
    health = requests.get(f"{server.url}/health", timeout=10).json()
    assert health["tasks"]["completed"] >= 1 and "pending" in health["tasks"] and health["queued"] >= 0


def test_result_is_202_until_ready(server):
    files = [("files", (f"p{i}.pdf", simple_pdf(2), "application/pdf")) for i in range(2)]
    created = requests.post(f"{server.url}/tasks", files=files, timeout=30).json()
    early = requests.get(created["result_url"], timeout=10)
    status = wait_done(server, created["task_id"])
    assert early.status_code in (202, 200)
    if early.status_code == 202:
        assert early.json()["status"] in ("pending", "processing")
    assert status["status"] == "completed"
    assert requests.get(created["result_url"], timeout=10).status_code == 200


def test_failed_task_answers_409_with_its_error_rows(server):
    created = requests.post(f"{server.url}/tasks", files=[("files", ("broken.pdf", corrupt_pdf(), "application/pdf"))], timeout=30)
    assert created.status_code == 202
    status = wait_done(server, created.json()["task_id"])
    assert status["status"] == "failed"
    result = requests.get(created.json()["result_url"], timeout=10)
    assert result.status_code == 409
    rows = result.json()["rows"]
    assert len(rows) == 1 and rows[0]["name"] == "broken" and rows[0]["status"] == "error" and rows[0]["error_code"]


def test_a_failed_document_beside_a_good_one_is_an_error_entry(server):
    files = [("files", ("good.pdf", prose_pdf(), "application/pdf")), ("files", ("bad.pdf", corrupt_pdf(), "application/pdf"))]
    answer = requests.post(f"{server.url}/file_parse", files=files, timeout=120)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert results["good"]["status"] == "ok" and results["good"]["md_content"]
    assert results["bad"]["status"] == "error" and results["bad"]["error_code"] and "md_content" not in results["bad"]


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"backend": "hybrid-auto-engine"}, "not supported"),
        ({"backend": "magic"}, "unknown backend"),
        ({"backend": "vlm-http-client", "server_url": "http://169.254.169.254/"}, "not allowed"),
        ({"backend": "vlm-http-client"}, "server URL"),
        ({"start_page_id": "3", "end_page_id": "1"}, "after end_page_id"),
    ],
)
def test_refused_options_answer_400(server, data, needle):
    answer = requests.post(f"{server.url}/file_parse", files=[("files", ("a.pdf", simple_pdf(1), "application/pdf"))], data=data, timeout=30)
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["detail"]


def test_files_are_sniffed_not_trusted_by_name(server):
    def post(name: str, data: bytes):
        return requests.post(f"{server.url}/tasks", files=[("files", (name, data, "application/pdf"))], timeout=30)

    assert post("page.pdf", not_a_pdf()).status_code == 415  # a plain-text error page named .pdf
    assert "plain text" in post("page.pdf", not_a_pdf()).json()["detail"]
    assert post("empty.pdf", b"").status_code == 400
    assert requests.post(f"{server.url}/tasks", data={"backend": "pipeline"}, timeout=30).status_code == 400  # no files
    png_named_pdf = post("scan.pdf", image_file("png"))  # a PNG named .pdf: parsed as the image it is
    assert png_named_pdf.status_code == 202
    assert wait_done(server, png_named_pdf.json()["task_id"])["status"] == "completed"


def test_uploaded_names_never_become_paths(server, tmp_path):
    root = Path(server.output_root)
    answer = requests.post(
        f"{server.url}/file_parse", timeout=60, data={"response_format_zip": "true"},
        files=[("files", ("../../../escape.pdf", prose_pdf(), "application/pdf")), ("files", ("..\\..\\win.pdf", prose_pdf(), "application/pdf"))],
    )  # fmt: skip
    assert answer.status_code == 200
    members = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert all(".." not in m.split("/") and "\\" not in m and not m.startswith("/") for m in members), members
    assert {"escape/auto/escape.md", "win/auto/win.md"} <= set(members)
    outside = [p for p in root.parent.rglob("*escape*") if root not in p.parents]
    assert outside == []


def test_other_clients_tasks_are_not_found(server):
    assert requests.get(f"{server.url}/tasks/0123456789abcdef", timeout=10).status_code == 404
    assert requests.get(f"{server.url}/tasks/..%2F..%2Fetc/result", timeout=10).status_code == 404


def test_openapi_docs_list_mineru_form_fields(server):
    assert requests.get(f"{server.url}/docs", timeout=10).status_code == 200
    schema = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert {"/file_parse", "/tasks", "/tasks/{task_id}", "/tasks/{task_id}/result", "/health"} <= set(schema["paths"])
    ref = schema["paths"]["/file_parse"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    fields = set(schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"])
    expected = {"files", "lang_list", "backend", "parse_method", "formula_enable", "table_enable", "server_url", "return_md",
                "return_middle_json", "return_model_output", "return_content_list", "return_images", "response_format_zip",
                "start_page_id", "end_page_id", "output_dir"}  # fmt: skip
    assert expected <= fields


def test_office_uploads_are_parsed_like_pdfs(server):
    """A Word and an Excel file (named without a suffix, sent as octet-stream: sniffed from their bytes) come back as
    Markdown with their text and tables and a MinerU-shaped content_list; their pages count against the page cap."""
    files = [
        ("files", ("survey", office.docx_file(), "application/octet-stream")),
        ("files", ("workbook", office.xlsx_file(), "application/octet-stream")),
    ]
    created = requests.post(f"{server.url}/tasks", files=files, data={"return_content_list": "true"}, timeout=30)
    assert created.status_code == 202, created.text
    status = wait_done(server, created.json()["task_id"])
    assert status["status"] == "completed", status
    assert status["pages"]["total"] == 4  # two pages (a hard page break) + two sheets, counted at upload
    results = requests.get(created.json()["result_url"], timeout=30).json()["results"]
    page = requests.get(f"{server.url}/tasks/{created.json()['task_id']}/pages/survey/0.png", timeout=30)
    assert page.status_code == 404 and "no page images" in page.json()["detail"]  # the web page shows its Markdown
    word, excel = results["survey"], results["workbook"]
    assert word["status"] == "ok" and excel["status"] == "ok"
    assert office.TITLE in word["md_content"] and office.PARAGRAPH in word["md_content"]
    assert "<table>" in excel["md_content"] and "Survey" in excel["md_content"] and "weather" in excel["md_content"]
    for name, result in results.items():
        items = json.loads(result["content_list"])
        validate_content_list(items)
        tables = [item for item in items if item["type"] == "table"]
        assert tables and all("<td" in t["table_body"] for t in tables), name
        cells = " ".join(t["table_body"] for t in tables)
        assert all(value in cells for value in office.TABLE_ROWS[1]), name  # "North", "12", "3"


def test_a_docx_name_on_other_bytes_is_refused(server):
    def post(name: str, data: bytes):
        return requests.post(f"{server.url}/tasks", files=[("files", (name, data, "application/msword"))], timeout=30)

    noise = bytes(range(256))[::-1] * 16  # binary, no known magic
    assert post("report.docx", noise).status_code == 415
    broken = post("report.docx", office.truncated_docx())  # a ZIP header but no readable container
    assert broken.status_code == 400 and "corrupt" in broken.json()["detail"]
    legacy = post("report.docx", office.legacy_doc())  # a binary Word 97 file: not a format the pipelines read
    assert legacy.status_code == 415 and "legacy_office" in legacy.json()["detail"]
