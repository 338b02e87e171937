"""The README's command examples (sections Usage and Corpus scale) run as written, against small inputs.

Each ``docray ...`` line of those sections' ``bash`` blocks runs in a subprocess, in a folder that holds the files it
names; ``s3://corpus/...`` is a real S3-compatible server on loopback (``docray.testing.s3``) that docray reaches
through ``bucket_info`` in a ``docray.json``.  ``--executor local`` is added to ``run``/``parse`` (Ray is tested
elsewhere); ``docray submit`` needs a Ray cluster and is skipped here (tests/test_cluster_submit.py submits to a
``ray start --head`` on loopback).  Every example must exit 0.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from docray.testing.pdfs import encrypt_pdf as encrypt
from docray.testing.pdfs import text_pdf

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = ("## Usage", "## Corpus scale")
NEEDS_A_CLUSTER = {"submit": "needs a Ray cluster; tests/test_cluster_submit.py runs it against a local head"}


def readme_commands() -> list[str]:
    """The ``docray`` lines of the bash blocks of the README's usage sections, in order."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for heading in SECTIONS:
        start = text.index(heading + "\n")
        end = text.find("\n## ", start + len(heading))
        section = text[start : end if end >= 0 else len(text)]
        for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
            commands += [line.strip() for line in block.splitlines() if line.strip().startswith("docray ")]
    return commands


def test_the_readme_has_command_examples():
    commands = readme_commands()
    assert len(commands) >= 10 and any(c.startswith("docray parse") for c in commands)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    work = root / "work"
    for path, word in (("shared/eval/docling_tests/x.pdf", "Docling"), ("work/pdfs/a.pdf", "Alpha"),
                       ("work/pdfs/sub/b.pdf", "Bravo"), ("work/paper.pdf", "Paper"), ("work/other_dir/c.pdf", "Charlie")):  # fmt: skip
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text_pdf(word))
    (work / "locked.pdf").write_bytes(encrypt(text_pdf("Locked"), "readme-pw"))
    (work / "more.jsonl").write_text(json.dumps({"source": "pdfs/a.pdf", "name": "more-a"}) + "\n")
    return work


@pytest.fixture(scope="module")
def corpus_bucket(sandbox):
    from docray.testing.s3 import S3Server

    with S3Server() as s3:
        s3.make_bucket("corpus")
        fs = s3.filesystem()
        for name in ("d1", "d2"):
            fs.pipe_file(f"corpus/pdfs/{name}.pdf", text_pdf(name.upper()))
        fs.pipe_file("corpus/lists/batch-07.txt", b"s3://corpus/pdfs/d1.pdf\ns3://corpus/pdfs/gone.pdf\n")
        config = sandbox / "docray.json"
        config.write_text(json.dumps(s3.bucket_info_config("corpus")))
        yield config


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command, sandbox, corpus_bucket):
    args = shlex.split(command, comments=True)
    if args[1] in NEEDS_A_CLUSTER:
        pytest.skip(NEEDS_A_CLUSTER[args[1]])
    env = {**os.environ, "PDF_PASSWORD": "readme-pw", "DOCRAY_CONFIG": str(corpus_bucket)}
    args = [os.path.expandvars(a.replace("$PDF_PASSWORD", env["PDF_PASSWORD"])) for a in args]
    if args[1] in ("run", "parse") and "--executor" not in args:
        args += ["--executor", "local"]
    result = subprocess.run([sys.executable, "-m", "docray.cli", *args[1:]], cwd=sandbox, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "readme-pw" not in result.stdout + result.stderr
