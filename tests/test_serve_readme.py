"""The README's ``docray serve`` section: its command lines parse, and its curl examples run as written against a
real server (``URL`` and ``KEY`` set, ``paper.pdf`` and ``scan.png`` in the working folder)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")

from docray.cli import build_parser  # noqa: E402
from docray.testing.pdfs import image_file  # noqa: E402
from docray.testing.serve import ServeProcess  # noqa: E402
from docray.testing.tables import prose_pdf  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"


def section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Parsing service (`docray serve`)\n")
    end = text.index("\n## ", start + 10)
    return re.findall(r"```bash\n(.*?)```", text[start:end], flags=re.S)


def test_serve_command_lines_parse():
    block = section_blocks()[0].replace("\\\n", " ")
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines() if "docray serve" in line]
    assert len(lines) == 3
    for line in lines:
        argv = shlex.split(line)
        argv = argv[argv.index("docray") + 1 :]
        args = build_parser().parse_args(argv)
        assert args.command == "serve" and args.func.__name__ == "cmd_serve"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_examples_run_against_a_server(tmp_path):
    (tmp_path / "paper.pdf").write_bytes(prose_pdf())
    (tmp_path / "scan.png").write_bytes(image_file("png"))
    with ServeProcess(str(tmp_path / "root"), "--executor", "local", "--pipeline", "fast", "--api-key", "readme-key") as server:
        script = section_blocks()[1]
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env={"PATH": "/usr/bin:/bin", "URL": server.url, "KEY": "readme-key"})  # fmt: skip
        assert done.returncode == 0, done.stderr + server.output()
    paper = json.loads((tmp_path / "paper.json").read_text())["results"]["paper"]
    assert paper["md_content"].startswith("# Introduction") and json.loads(paper["content_list"])
    assert "paper/auto/paper.md" in zipfile.ZipFile(tmp_path / "paper.zip").namelist()
    assert set(json.loads((tmp_path / "task.json").read_text())["results"]) == {"paper", "scan"}
    assert {"paper/auto/paper.md", "scan/auto/scan.md"} <= set(zipfile.ZipFile(tmp_path / "task.zip").namelist())
    assert '"tasks"' in done.stdout  # the /health line printed
