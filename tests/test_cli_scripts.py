"""The command line as a shell script drives it: exit codes, what an input means, passwords and secrets,
MinerU's shared output folder and flags (issue 17).  Every test runs ``python -m docray.cli`` in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.testing.pdfs import encrypt_pdf as encrypt
from docray.testing.pdfs import image_file, text_pdf

PASSWORD = "pw-Zq81-not-in-any-file"
FAST = ("--pipeline", "fast", "--executor", "local", "--no-progress")


def docray(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    """Run the CLI as a script would; returns the CompletedProcess (stdout and stderr as text)."""
    return subprocess.run(
        [sys.executable, "-m", "docray.cli", *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    (root / "alpha.pdf").write_bytes(text_pdf("Alpha"))
    (root / "bravo.pdf").write_bytes(text_pdf("Bravo"))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a PDF")
    (root / "empty.pdf").write_bytes(b"")
    (root / "bad").mkdir()
    (root / "bad" / "readme.txt").write_text("junk\n")
    (root / "list.txt").write_text("# two documents\nalpha.pdf\nbravo.pdf\n")
    (root / "locked.pdf").write_bytes(encrypt(text_pdf("Locked"), PASSWORD))
    (root / "scan.png").write_bytes(image_file())
    (root / "nothing").mkdir()
    return root


def documents(out: Path) -> dict[str, dict]:
    """The documents rows of a run (``--parquet`` / ``docray run`` outputs), by name."""
    table = pads.dataset(out / "documents", format="parquet").to_table()
    return {row["name"]: row for row in table.to_pylist()}


# --------------------------------------------------------------------------- 1. exit codes


def test_exit_codes_all_ok_some_failed_all_failed(docs, tmp_path):
    ok = docray("parse", str(docs / "alpha.pdf"), str(docs / "bravo.pdf"), "-o", str(tmp_path / "ok"), *FAST)
    assert ok.returncode == 0, ok.stderr
    some = docray("parse", str(docs / "alpha.pdf"), str(docs / "broken.pdf"), "-o", str(tmp_path / "some"), *FAST)
    assert some.returncode == 4, some.stderr
    assert "some inputs failed" in some.stderr and "corrupt 1" in some.stdout
    every = docray("run", "fast", "-i", str(docs / "broken.pdf"), "-i", str(docs / "empty.pdf"),
                   "-o", str(tmp_path / "every"), "--executor", "local")  # fmt: skip
    assert every.returncode == 5, every.stderr
    assert {d["error_code"] for d in documents(tmp_path / "every").values()} == {"corrupt", "empty_file"}
    tolerant = docray("run", "fast", "-i", str(docs / "broken.pdf"), "-i", str(docs / "alpha.pdf"),
                      "-o", str(tmp_path / "tolerant"), "--executor", "local", "--ok-exit-on-errors")  # fmt: skip
    assert tolerant.returncode == 0, tolerant.stderr
    assert documents(tmp_path / "tolerant")["broken"]["status"] == "error"  # the row is still there


def test_nothing_found_exits_before_any_work(docs, tmp_path):
    missing = docray("parse", str(docs / "nonexistent.pdf"), "-o", str(tmp_path / "out"))  # Ray executor: never starts
    assert missing.returncode == 6
    assert f"no such file or directory: {docs / 'nonexistent.pdf'}" in missing.stderr
    assert not (tmp_path / "out").exists()
    empty = docray("run", "fast", "-i", str(docs / "nothing"), "-o", str(tmp_path / "out"))
    assert empty.returncode == 6 and "directory holds no supported documents" in empty.stderr
    # a missing path beside a real one: reported up front, and still one not_found row (exit 4)
    mixed = docray("run", "fast", "-i", str(docs / "alpha.pdf"), "-i", str(docs / "gone.pdf"), "-o", str(tmp_path / "m"),
                   "--executor", "local")  # fmt: skip
    assert mixed.returncode == 4 and "no such file or directory" in mixed.stderr
    assert documents(tmp_path / "m")["gone"]["error_code"] == "not_found"


def test_usage_errors_exit_2_and_help_documents_the_codes(docs, tmp_path):
    assert docray("parse", str(docs / "alpha.pdf"), "-o", str(tmp_path / "o"), "-b", "nope").returncode == 2
    for command in ("parse", "run", "submit"):
        helptext = docray(command, "--help").stdout
        assert "--ok-exit-on-errors" in helptext
    assert "4 some inputs partial or error" in " ".join(docray("run", "--help").stdout.split())


def test_submit_exit_code_follows_the_jobs_docray_run():
    from docray.cluster.submit import add_submit_arguments, run_options
    from docray.exitcodes import ExitCode, job_exit_code

    import argparse

    args = add_submit_arguments(argparse.ArgumentParser()).parse_args(["fast", "-i", "x", "-o", "y", "--ok-exit-on-errors"])
    assert "--ok-exit-on-errors" in run_options(args)
    # Ray's message for a job whose entrypoint exited non-zero (ray.dashboard.modules.job.job_supervisor)
    message = "Job entrypoint command failed with exit code 5, last available logs (truncated to 20,000 chars):\n..."
    assert job_exit_code(message) == ExitCode.ALL_FAILED
    assert job_exit_code("Job entrypoint command failed with exit code 1, ...") == ExitCode.FAILED
    assert job_exit_code("Job was intentionally stopped.") == ExitCode.FAILED


# --------------------------------------------------------------------------- 2. inputs


def test_a_txt_document_is_an_error_row_not_a_manifest(docs, tmp_path):
    out = tmp_path / "out"
    result = docray("parse", str(docs / "bad" / "readme.txt"), "-o", str(out), *FAST, "--parquet")
    assert result.returncode == 5, result.stderr
    row = documents(out)["readme"]
    assert row["error_code"] == "unsupported_format" and "is not a PDF" in row["error"]
    assert "read as a document, not a manifest" in result.stdout  # the decision is in the summary
    # the same file named as a manifest: its line is a document that does not exist
    forced = docray("run", "fast", "--manifest", str(docs / "bad" / "readme.txt"), "-o", str(tmp_path / "forced"),
                    "--executor", "local")  # fmt: skip
    assert forced.returncode == 5 and documents(tmp_path / "forced")["junk"]["error_code"] == "not_found"
    # a .txt whose lines are existing documents is a manifest
    listed = docray("run", "fast", "-i", str(docs / "list.txt"), "-o", str(tmp_path / "listed"), "--executor", "local")
    assert listed.returncode == 0, listed.stderr
    assert set(documents(tmp_path / "listed")) == {"alpha", "bravo"}
    assert "list.txt: read as a manifest: each of its 2 lines is a URL or an existing file" in listed.stdout


# --------------------------------------------------------------------------- 3. passwords and secrets


def output_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def assert_secret_nowhere(secret: str, roots: list[Path], texts: list[str]) -> None:
    files = output_files(*roots)
    assert files
    leaks = [str(p) for p in files if secret.encode() in p.read_bytes()]
    assert leaks == [], leaks
    assert all(secret not in text for text in texts)


def test_encrypted_pdf_opens_with_password_and_the_password_is_in_no_file(docs, tmp_path):
    out = tmp_path / "out"
    wrong = docray("parse", str(docs / "locked.pdf"), "-o", str(out), *FAST, "--parquet", "--password", "wrong")
    assert wrong.returncode == 5
    row = documents(out)["locked"]
    assert row["error_code"] == "encrypted" and "password given is wrong" in row["error"] and "--password" in row["error"]
    # the right one, on Ray (its logs are outputs too), through both ways of giving it
    ray_tmp = tempfile.mkdtemp(prefix="r17", dir="/tmp")  # short: Ray's socket paths must fit
    env = {"RAY_TMPDIR": ray_tmp}
    right = docray("parse", str(docs / "locked.pdf"), "-o", str(out), "--pipeline", "fast", "--parquet",
                   "--password", PASSWORD, "--no-progress", "--executor", "ray", env=env)  # fmt: skip
    assert right.returncode == 0, right.stderr[-3000:]
    assert "Locked body line" in (out / "locked" / "auto" / "locked.md").read_text()
    status = docray("status", str(out))
    via_set = docray("run", "fast", "-i", str(docs / "locked.pdf"), "-o", str(tmp_path / "set"), "--executor", "local",
                     "--set", f"render.password={PASSWORD}")  # fmt: skip
    assert via_set.returncode == 0 and documents(tmp_path / "set")["locked"]["status"] == "ok"
    run_json = json.loads((tmp_path / "set" / "run.json").read_text())
    assert run_json["stages"]["render"]["password"] == "**********"
    try:
        assert any(Path(ray_tmp).rglob("*.log")), "Ray wrote its logs elsewhere: RAY_TMPDIR was not honoured"
        assert_secret_nowhere(PASSWORD, [out, tmp_path / "set", Path(ray_tmp)],
                              [right.stdout, right.stderr, status.stdout, via_set.stdout, via_set.stderr])  # fmt: skip
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_per_document_passwords_from_a_file_and_a_manifest_column(docs, tmp_path):
    passwords = tmp_path / "passwords.csv"
    passwords.write_text(f"source,password\n{docs / 'locked.pdf'},{PASSWORD}\n")
    by_file = docray("run", "fast", "-i", str(docs / "locked.pdf"), "-i", str(docs / "alpha.pdf"),
                     "-o", str(tmp_path / "a"), "--executor", "local", "--password-file", str(passwords))  # fmt: skip
    assert by_file.returncode == 0, by_file.stdout
    manifest = tmp_path / "corpus.jsonl"
    manifest.write_text(json.dumps({"source": str(docs / "locked.pdf"), "password": PASSWORD}) + "\n")
    by_column = docray("run", "fast", "-i", str(manifest), "-o", str(tmp_path / "b"), "--executor", "local")
    assert by_column.returncode == 0, by_column.stdout
    assert documents(tmp_path / "b")["locked"]["status"] == "ok"
    assert_secret_nowhere(PASSWORD, [tmp_path / "a", tmp_path / "b"], [by_file.stdout, by_column.stdout])


def test_credentials_in_config_are_redacted_in_records(tmp_path):
    from docray.pipelines.outputs import ResultWriter
    from docray.pipelines.plan import build_plan
    from docray.pipelines.progress import StateStore
    from docray.pipelines.spec import apply_overrides, load_pipeline

    secret = "sk-live-Hq7x"
    spec = apply_overrides(load_pipeline("vlm"), [
        f'vlm.engine={{"kind": "http", "url": "https://user:{secret}@vlm.example:8000/v1", "headers": {{"Authorization": "Bearer {secret}"}}}}',
        f'ingest.storage_options={{"key": "AKIA", "secret": "{secret}", "client_kwargs": {{"endpoint_url": "http://127.0.0.1:9"}}}}',
    ])  # fmt: skip
    plan = build_plan(spec)
    StateStore(ResultWriter(str(tmp_path), spec.output, "auto")).write_pipeline(plan)
    record = (tmp_path / "_docray" / "pipeline.json").read_text()
    assert secret not in record and "https://***@vlm.example:8000/v1" in record and "127.0.0.1:9" in record
    from docray.pipelines.ray_adapter import map_kwargs

    shipped = json.dumps(map_kwargs(plan.stage("vlm")), default=str)  # the workers do get the secret
    assert secret in shipped


# --------------------------------------------------------------------------- 4. MinerU's shared output folder


def test_two_parse_runs_with_other_options_share_one_output(docs, tmp_path):
    out = tmp_path / "out"
    local = ("--executor", "local", "--no-progress")
    first = docray("parse", str(docs / "alpha.pdf"), "-o", str(out), "-l", "en", *local)
    assert first.returncode == 0, first.stderr[-2000:]
    second = docray("parse", str(docs / "alpha.pdf"), "-o", str(out), "-l", "ch", "-m", "txt", *local)
    assert second.returncode == 0, second.stderr[-2000:]
    third = docray("parse", str(docs / "alpha.pdf"), "-o", str(out), "-l", "ch", *local)  # same method, other -l
    assert third.returncode == 0 and "resumed" not in third.stdout  # parsed again, files replaced
    for method in ("auto", "txt"):  # MinerU's layout: OUT/<name>/<method>/<name>.md ...
        folder = out / "alpha" / method
        assert "Alpha body line" in (folder / "alpha.md").read_text()
        assert (folder / "alpha_content_list.json").is_file() and (folder / "alpha_middle.json").is_file()
    again = docray("parse", str(docs / "alpha.pdf"), "-o", str(out), "-l", "en", *local)  # the first options again
    assert again.returncode == 0 and "resumed: 1 documents were already in the output" in again.stdout
    # docray run keeps its strict "different pipeline" check (tests/test_resume.py)


# --------------------------------------------------------------------------- 5. MinerU's flags


def test_every_mineru_flag_is_accepted_or_refused_with_a_reason(docs, tmp_path, capsys):
    from docray.cli import _cuda_visible, main

    out = str(tmp_path / "out")
    accepted = docray("parse", "-p", str(docs / "alpha.pdf"), "-o", out, "-m", "txt", "-b", "pipeline", "-l", "en",
                      "-s", "0", "-e", "0", "-f", "false", "-t", "false", "-d", "cpu", "--source", "local", "--dry-run")  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    assert "standard (ingest, render, layout, ocr, crop, assemble, quality)" in accepted.stdout  # -f/-t false: no stages
    http = docray("parse", str(docs / "alpha.pdf"), "-o", out, "-b", "vlm-http-client", "-u", "http://127.0.0.1:9", "--dry-run")
    assert http.returncode == 0 and "vlm" in http.stdout
    refused = {
        ("--vram", "8"): "--vram: docray shares a GPU",
        ("--source", "modelscope"): "docray never downloads weights",
        ("-d", "npu"): "docray runs on cpu, cuda, cuda:N only",
        ("-b", "vlm-http-client"): "needs the server URL: -u",
        ("-b", "sglang"): "unknown backend",
    }
    if not _cuda_visible():
        refused[("-d", "cuda:0")] = "no CUDA GPU is visible here"
    for flags, reason in refused.items():  # in-process (the refusals come before any work): the same main()
        code = main(["parse", str(docs / "alpha.pdf"), "-o", out, *flags, "--dry-run"])
        stderr = capsys.readouterr().err
        assert code == 2 and reason in stderr, (flags, stderr)
        assert len(stderr.strip().splitlines()) == 1  # one line, the reason
    assert not Path(out).exists()


def test_each_mineru_language_runs_or_is_refused_before_any_work(docs, tmp_path, capsys):
    from docray.cli import MINERU_LANGS, main

    helptext = docray("parse", "--help").stdout
    for code in MINERU_LANGS:  # in-process: the same main() a script runs
        returncode = main(["parse", str(docs / "alpha.pdf"), "-o", str(tmp_path / code), "-l", code, "--dry-run"])
        stderr = capsys.readouterr().err
        listed = next(line for line in helptext.splitlines() if line.strip().startswith(code + " "))
        if returncode == 0:
            assert "available" in listed and "refused" not in listed
        else:
            assert returncode == 2 and f"put ppocr/{code}_rec.onnx" in stderr  # what to install
            assert "refused" in listed and f"ppocr/{code}_rec.onnx" in listed
        assert not (tmp_path / code).exists()
    assert "vlm-http-client" in helptext and "available" in helptext


# --------------------------------------------------------------------------- 6. messages


def test_messages_pipelines_whole_run_help_skipped_files_and_status(docs, tmp_path):
    from docray.cli import bundled_pipelines
    from docray.pipelines.spec import load_pipeline

    listing = " ".join(docray("pipelines").stdout.split())
    for name in bundled_pipelines():
        assert " ".join(load_pipeline(name).description.split()) in listing
    run_help = " ".join(docray("run", "--help").stdout.split())
    assert all(name in run_help for name in bundled_pipelines())
    out = tmp_path / "out"
    result = docray("parse", str(docs / "scan.png"), "-o", str(out), "--executor", "local", "-m", "txt")
    assert "an image input has no original PDF" in result.stdout, result.stdout
    again = docray("parse", str(docs / "scan.png"), "-o", str(out), "--executor", "local", "-m", "txt")
    assert "resumed: 1" in again.stdout
    status = docray("status", str(out))
    assert status.returncode == 0 and " over 0 s" not in status.stdout and "rate: none" in status.stdout
