"""``backend=vlm-http-client`` through ``docray serve``: the server's own VLM server, or a client's ``server_url``
only where the server allows it (a scripted MinerU2.5-format engine behind docray's OpenAI-compatible server)."""

from __future__ import annotations

import io
import zipfile

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")
requests = pytest.importorskip("requests")

from docray.testing import mineru25_script  # noqa: E402
from docray.testing.pdfs import simple_pdf  # noqa: E402
from docray.testing.serve import ServeProcess  # noqa: E402
from docray.testing.vlm_scripted import ScriptedVlm  # noqa: E402
from docray.vlm_serve import VlmServer  # noqa: E402


@pytest.fixture(scope="module")
def vlm():
    with VlmServer(ScriptedVlm(mineru25_script.rules())) as server:
        yield server


def post(url: str, **data: str) -> requests.Response:
    files = [("files", ("one.pdf", simple_pdf(1), "application/pdf"))]
    return requests.post(f"{url}/file_parse", files=files, data={"backend": "vlm-http-client", **data}, timeout=120)


def test_vlm_http_client_with_allowed_and_own_server_urls(vlm, tmp_path):
    args = ("--executor", "local", "--allow-server-url", vlm.url, "--vlm-server-url", vlm.url)
    with ServeProcess(str(tmp_path / "root"), *args) as server:
        chosen = post(server.url, server_url=vlm.url)
        assert chosen.status_code == 200, chosen.text + server.output()
        assert chosen.json()["backend"] == "vlm-http-client"
        assert "# 1 Introduction" in chosen.json()["results"]["one"]["md_content"]
        own = post(server.url, response_format_zip="true")
        assert own.status_code == 200
        assert "one/vlm/one.md" in zipfile.ZipFile(io.BytesIO(own.content)).namelist()
        assert post(server.url, server_url="http://127.0.0.1:9/").status_code == 400
