"""``docray submit``: the runtime env and entrypoint it builds, and real jobs on a real Ray head on 127.0.0.1.

The head (``docray.testing.ray_head.RayHead``) has its own ports and temp dir and is stopped by its session id,
never with ``ray stop``. A submitted job's outputs must equal an in-process run of the same local pipeline file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.cli import build_parser
from docray.cluster.runtime_env import WORKING_DIR_PLACEHOLDER, SubmitError, build_runtime_env, docray_wheel, stage_job
from docray.cluster.submit import (
    ORIGIN_CODE,
    add_submit_arguments,
    build_entrypoint,
    cluster_path,
    cmd_submit,
    resolve_address,
    run_options,
)
from docray.testing.corpus import write_corpus
from docray.testing.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


def run_submit(argv: list[str]) -> int:
    args = add_submit_arguments(argparse.ArgumentParser(prog="docray submit")).parse_args(argv)
    return cmd_submit(args)


# ----------------------------------------------------------------------------- entrypoint and paths (no Ray)


def test_entrypoint_survives_a_real_shell_with_spaces_and_quotes(tmp_path):
    """Run the entrypoint in bash with a stand-in `python` that records its argv."""
    recorder = tmp_path / "fake python"
    recorder.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    recorder.chmod(0o755)
    inputs = ["/data/in puts", "s3://bucket/it's a.pdf"]
    overrides = ["render.dpi=200", "quality.lang_hint='en us'"]
    entrypoint = build_entrypoint("my fast.yaml", inputs, "/out dir/$HOME", overrides=overrides, python=str(recorder))
    result = subprocess.run(["bash", "-c", entrypoint], capture_output=True, text=True, check=True)
    origin, run = (json.loads(line) for line in result.stdout.splitlines())
    assert origin == ["-c", ORIGIN_CODE]
    assert run[:3] == ["-m", "docray.cli", "run"]
    args = build_parser().parse_args(run[2:])
    assert (args.pipeline, args.input, args.output) == ("my fast.yaml", inputs, "/out dir/$HOME")
    assert args.address == "auto" and args.no_progress and args.set == overrides


def test_entrypoint_without_origin_is_exactly_docray_run():
    entrypoint = build_entrypoint("fast", ["s3://b/in"], "s3://b/out", show_origin=False)
    assert (
        entrypoint == "python -m docray.cli run fast --input s3://b/in --output s3://b/out --address auto --no-progress"
    )


def test_run_options_pass_through_to_docray_run():
    parser = add_submit_arguments(argparse.ArgumentParser(prog="docray submit"))
    args = parser.parse_args(["fast", "-i", "s3://b/in", "-o", "s3://b/out", "--shard-size", "500", "--retry-errors"])
    entrypoint = build_entrypoint("fast", ["s3://b/in"], "s3://b/out", run_options=run_options(args), show_origin=False)
    parsed = build_parser().parse_args(shlex.split(entrypoint)[3:])
    assert (parsed.shard_size, parsed.retry_errors, parsed.fresh) == (500, True, False)
    plain = parser.parse_args(["fast", "-i", "s3://b/in", "-o", "s3://b/out"])
    assert run_options(plain) == []


def test_cluster_paths(tmp_path):
    assert cluster_path("s3://bucket/a b/") == "s3://bucket/a b/"
    assert cluster_path("in puts/x.pdf", cwd=tmp_path) == str(tmp_path / "in puts" / "x.pdf")
    assert cluster_path("/abs/path") == "/abs/path"
    assert cluster_path("~/pdfs") == str(Path.home() / "pdfs")


def test_address_from_the_environment_at_call_time(monkeypatch):
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_address(None) == "http://127.0.0.1:8265"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")  # a GCS address is not a dashboard address
    assert resolve_address(None) == "http://127.0.0.1:8265"
    monkeypatch.setenv("RAY_ADDRESS", "http://head:8265")
    assert resolve_address(None) == "http://head:8265"
    assert resolve_address("http://other:8265") == "http://other:8265"


# ----------------------------------------------------------------------------- runtime env (no Ray)


def test_runtime_env_py_modules_merges_base_and_env(tmp_path):
    from ray.runtime_env import RuntimeEnv

    package, extra = tmp_path / "modules" / "docray", tmp_path / "extra"
    for folder in (package, extra, tmp_path / "job"):
        folder.mkdir(parents=True)
    base = {
        "py_modules": [str(extra)],
        "env_vars": {"A": "base", "B": "base"},
        "pip": {"packages": ["x"], "pip_check": False},
    }
    env = build_runtime_env(install="py-modules", working_dir=tmp_path / "job", package_dir=package,
                            pip=["y==1"], env_vars={"B": "cli", "C": 3}, base=base)  # fmt: skip
    assert env["working_dir"] == str(tmp_path / "job")
    assert env["py_modules"] == [str(extra), str(package)]
    assert env["env_vars"] == {"A": "base", "B": "cli", "C": "3"}
    assert env["pip"] == {"packages": ["x", "y==1"], "pip_check": False}
    assert base["py_modules"] == [str(extra)], "the base is not modified"
    RuntimeEnv(**env)  # Ray accepts it


def test_runtime_env_pip_installs_the_wheel_from_the_working_dir(tmp_path):
    from ray.runtime_env import RuntimeEnv

    env = build_runtime_env(
        install="pip", working_dir=tmp_path, wheel_name="docray-0.1.0-py3-none-any.whl", pip=["s3fs"]
    )
    assert env["pip"] == [f"{WORKING_DIR_PLACEHOLDER}/docray-0.1.0-py3-none-any.whl", "s3fs"]
    assert "py_modules" not in env
    RuntimeEnv(**env)


def test_runtime_env_none_and_errors(tmp_path):
    assert build_runtime_env(install="none", working_dir=tmp_path) == {"working_dir": str(tmp_path)}
    with pytest.raises(SubmitError, match="working_dir"):
        build_runtime_env(install="none", working_dir=tmp_path, base={"working_dir": "/elsewhere"})
    with pytest.raises(SubmitError, match="package folder"):
        build_runtime_env(install="py-modules", working_dir=tmp_path, package_dir=tmp_path / "src")
    with pytest.raises(SubmitError, match="wheel"):
        build_runtime_env(install="pip", working_dir=tmp_path)
    with pytest.raises(SubmitError, match="install mode"):
        build_runtime_env(install="conda", working_dir=tmp_path)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("setuptools")
    return docray_wheel(tmp_path_factory.mktemp("wheel"))  # built from this editable checkout


def test_staged_py_modules_tree_imports_on_its_own(tmp_path, wheel):
    pipeline = tmp_path / "my fast.yaml"
    pipeline.write_text((ROOT / "pipelines" / "fast.yaml").read_text().replace("name: fast", "name: fast-copy"))
    staged = stage_job(tmp_path / "stage", str(pipeline), "py-modules", wheel=wheel)
    assert staged.pipeline_arg == "my fast.yaml"
    assert (staged.working_dir / "my fast.yaml").read_text() == pipeline.read_text()
    package = staged.package_dir
    assert package.name == "docray" and not package.is_relative_to(staged.working_dir)
    for module in ("cli.py", "operators/base.py", "pipelines/fast.yaml", "cluster/submit.py", "models/onnx.py"):
        assert (package / module).is_file(), module
    code = "import docray, docray.pipelines.spec as s; print(docray.__file__); print(s.load_pipeline('fast').name)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(package.parent)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    origin, name = result.stdout.split()
    assert Path(origin).is_relative_to(package) and name == "fast"


def test_a_regular_install_ships_its_installed_package(tmp_path, wheel):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True)  # fmt: skip
    code = (
        "import json, sys; from pathlib import Path; import docray.cluster.runtime_env as r;"
        "assert r.source_checkout() is None, r.source_checkout();"
        "tree = r.docray_package_tree(Path(sys.argv[1]));"
        "print(tree); print(json.dumps(sorted(str(p.relative_to(tree)) for p in tree.rglob('*.py'))))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "modules")], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(site)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    tree, modules = result.stdout.splitlines()
    assert tree == str(tmp_path / "modules" / "docray")
    installed = sorted(str(p.relative_to(site / "docray")) for p in (site / "docray").rglob("*.py"))
    assert json.loads(modules) == installed and "cluster/submit.py" in installed
    assert not list((tmp_path / "modules").rglob("__pycache__"))


def test_staged_pip_job_carries_the_wheel_and_bundled_names_pass(tmp_path, wheel):
    staged = stage_job(tmp_path, "fast", "pip", wheel=wheel)
    assert staged.pipeline_arg == "fast" and staged.package_dir is None
    assert (staged.working_dir / staged.wheel_name).read_bytes() == wheel.read_bytes()
    assert sorted(p.name for p in staged.working_dir.iterdir()) == [wheel.name]


def test_refused_before_submitting(tmp_path, capsys):
    nobody = f"http://127.0.0.1:{free_port()}"
    assert run_submit(["no-such-pipeline", "-i", "x.pdf", "-o", str(tmp_path), "--address", nobody]) == 2
    assert "no bundled pipeline named 'no-such-pipeline'" in capsys.readouterr().err
    assert run_submit(["fast", "-i", "x.pdf", "-o", str(tmp_path), "--set", "render.nope=1", "--address", nobody]) == 2
    assert "nope" in capsys.readouterr().err
    assert run_submit(["fast", "-i", "x.pdf", "-o", str(tmp_path), "--env", "NOVALUE", "--address", nobody]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert run_submit(["fast", "-i", "x.pdf", "-o", str(tmp_path), "--address", nobody]) == 2
    assert f"cannot reach the Ray dashboard at {nobody}" in capsys.readouterr().err


# ----------------------------------------------------------------------------- real jobs on a real head


@pytest.fixture(scope="module")
def head():
    pytest.importorskip("ray.job_submission")
    from docray.testing.ray_head import RayHead

    ray_head = RayHead(num_cpus=2)
    ray_head.start()
    try:
        yield ray_head
    finally:
        left = ray_head.stop()
        assert not left, f"processes of the test head still alive: {left}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from docray.testing.pdfs import corrupt_pdf, simple_pdf, two_column_article

    root = tmp_path_factory.mktemp("corpus") / "in puts"
    root.mkdir()
    (root / "letter.pdf").write_bytes(simple_pdf(2, text="Letter page {page} of two"))
    (root / "article.pdf").write_bytes(two_column_article(2).pdf)
    (root / "broken.pdf").write_bytes(corrupt_pdf())
    return root


@pytest.fixture(scope="module")
def local_pipeline(tmp_path_factory) -> Path:
    """fast.yaml, renamed and writing Markdown only: outputs only this file can produce."""
    path = tmp_path_factory.mktemp("pipeline") / "my fast.yaml"
    text = (ROOT / "pipelines" / "fast.yaml").read_text().replace("name: fast", "name: fast-local")
    path.write_text(text.replace("files: [markdown, content_list, middle]", "files: [markdown]"))
    return path


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, corpus, local_pipeline) -> Path:
    from docray.pipelines.executors import LocalExecutor
    from docray.pipelines.runner import run_pipeline
    from docray.pipelines.spec import load_pipeline

    out = tmp_path_factory.mktemp("local") / "out"
    run_pipeline(load_pipeline(local_pipeline), [str(corpus)], str(out), executor=LocalExecutor())
    return out


def documents(out: Path) -> list[dict]:
    table = pads.dataset(out / "documents", format="parquet").to_table(
        columns=["name", "status", "error_code", "markdown"]
    )
    return sorted(table.to_pylist(), key=lambda row: row["name"])


def markdown_files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted((out / "files").rglob("*.md"))}


def job_logs(head, job_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(head.dashboard_url).get_job_logs(job_id)


def shipped_docray(logs: str) -> Path:
    line = next(line for line in logs.splitlines() if line.startswith("docray ") and " from " in line)
    return Path(line.split(" from ", 1)[1].strip())


def assert_same_as_local(out: Path, local_run: Path) -> None:
    got, want = documents(out), documents(local_run)
    assert [(r["name"], r["status"], r["error_code"]) for r in got] == [
        ("article", "ok", None), ("broken", "error", "corrupt"), ("letter", "ok", None)]  # fmt: skip
    assert got == want
    assert markdown_files(out) == markdown_files(local_run) and markdown_files(out)
    assert not list((out / "files").rglob("*_content_list.json")), "the job ran the bundled fast, not the local file"
    assert json.loads((out / "run.json").read_text())["pipeline"]["name"] == "fast-local"


def submit_and_check(head, corpus, local_pipeline, local_run, out: Path, install: str, capsys, *extra: str) -> Path:
    """Submit the corpus (one of its 3 documents is corrupt): the job's ``docray run`` exits 4 (some inputs failed),
    so the job is FAILED and ``docray submit`` exits 4; with ``--ok-exit-on-errors`` it SUCCEEDS and exits 0."""
    job_id = f"docray-test-{install}-{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    code = run_submit([str(local_pipeline), "-i", str(corpus), "-o", str(out), "--address", head.dashboard_url,
                       "--install", install, "--job-id", job_id, "--timeout", "400", *extra])  # fmt: skip
    captured = capsys.readouterr()
    seconds = time.monotonic() - t0
    if "--ok-exit-on-errors" in extra:
        assert code == 0, captured.err + captured.out
        assert f"job {job_id} SUCCEEDED" in captured.err
    else:
        assert code == 4, captured.err + captured.out
        assert f"job {job_id} FAILED" in captured.err and "exit status 4" in captured.err
    assert "docray fast-local (ray executor): 3 documents (ok 2, partial 0, error 1)" in captured.out  # the log tail
    print(
        f"\n[timing] head start {head.start_seconds:.1f} s; submit --install {install}: {seconds:.1f} s",
        file=sys.stderr,
    )
    assert_same_as_local(out, local_run)
    origin = shipped_docray(job_logs(head, job_id))
    assert origin.is_relative_to(head.temp_dir), f"the job imported {origin}, not the shipped docray"
    assert not origin.is_relative_to(ROOT)
    return origin


@pytest.mark.ray
def test_submitted_job_equals_a_local_run(head, corpus, local_pipeline, local_run, tmp_path, capsys):
    origin = submit_and_check(head, corpus, local_pipeline, local_run, tmp_path / "out dir", "py-modules", capsys)
    assert "py_modules_files" in origin.parts


@pytest.mark.ray
def test_pip_install_mode_equals_a_local_run(head, corpus, local_pipeline, local_run, tmp_path, capsys):
    origin = submit_and_check(head, corpus, local_pipeline, local_run, tmp_path / "out", "pip", capsys, "--ok-exit-on-errors")
    assert "pip" in origin.parts and "site-packages" in origin.parts  # installed into the job's virtualenv


@pytest.mark.ray
def test_failed_job_exits_nonzero_with_its_error(head, tmp_path, capsys):
    # --install none: the cluster's own docray runs, so nothing is checked locally and the job itself fails
    code = run_submit(["no-such-pipeline", "-i", str(tmp_path), "-o", str(tmp_path / "out"), "--install", "none",
                       "--address", head.dashboard_url, "--log-lines", "5"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED" in captured.err
    assert "no bundled pipeline named 'no-such-pipeline'" in captured.out + captured.err


@pytest.mark.ray
def test_no_wait_then_wait_from_the_library(head, tmp_path, capsys):
    from docray.cluster.submit import wait

    job_id = f"docray-test-nowait-{uuid.uuid4().hex[:8]}"
    code = run_submit(["no-such-pipeline", "-i", str(tmp_path), "-o", str(tmp_path / "out"), "--install", "none",
                       "--address", head.dashboard_url, "--job-id", job_id, "--no-wait"])  # fmt: skip
    assert code == 0 and f"ray job logs --address {head.dashboard_url} --follow {job_id}" in capsys.readouterr().err
    early = wait(head.dashboard_url, job_id, timeout_s=0)  # the job needs seconds just to start its driver
    assert early.timed_out and early.status in ("PENDING", "RUNNING") and not early.succeeded
    statuses = []
    result = wait(head.dashboard_url, job_id, timeout_s=120, poll_s=0.5, on_status=lambda s, t: statuses.append(s))
    assert result.status == "FAILED" and not result.succeeded and not result.timed_out
    assert statuses[-1] == "FAILED" and len(statuses) == len(set(statuses)), statuses
    assert "no bundled pipeline named 'no-such-pipeline'" in result.logs
    assert "exit code 2" in result.message  # docray run's exit status for a pipeline error


@pytest.mark.ray
def test_interrupt_stops_waiting_not_the_job(head, corpus, tmp_path):
    from ray.job_submission import JobSubmissionClient

    job_id = f"docray-test-interrupt-{uuid.uuid4().hex[:8]}"
    # enough documents that the job cannot finish between its RUNNING line and our SIGINT on a loaded machine
    many = write_corpus(tmp_path / "many", 150, corrupt_fraction=0.0).directory
    command = [sys.executable, "-m", "docray.cluster.submit", "fast", "-i", str(many),
               "-o", str(tmp_path / "out"), "--install", "none", "--address", head.dashboard_url,
               "--job-id", job_id, "--timeout", "300"]  # fmt: skip
    # A shell running the suite in the background (nohup, `make test &`, some CI runners) starts it with SIGINT
    # ignored, and an ignored signal is inherited: give the submit process Ctrl-C's default handling back.
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        seen = ""
        while "RUNNING" not in seen:  # the status line the waiting loop prints
            line = process.stderr.readline()
            assert line, f"submit ended early: {seen}"
            seen += line
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert (
        f"job {job_id} is still running" in err and f"ray job stop --address {shlex.quote(head.dashboard_url)}" in err
    )
    client = JobSubmissionClient(head.dashboard_url)
    deadline = time.monotonic() + 300
    while not client.get_job_status(job_id).is_terminal() and time.monotonic() < deadline:
        time.sleep(1)
    assert client.get_job_status(job_id).value == "SUCCEEDED"
