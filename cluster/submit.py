"""``docray submit``: run a pipeline as a Ray job on a running cluster (Ray's Job Submission SDK).

    docray submit pipelines/standard.yaml --input s3://bucket/pdfs --output s3://bucket/out \\
        --address http://127.0.0.1:8265 --set layout.resources.num_gpus=0.25

The job runs ``python -m docray.cli run PIPELINE --input ... --output ... --address auto --no-progress`` on the
cluster (``--address auto``: the driver joins the cluster it runs on), after one line that prints which
docray it imported. docray travels as described in :mod:`docray.cluster.runtime_env` (``--install``); a local
pipeline file travels in the job's working directory. Local paths given to ``--input``/``--output`` are made
absolute: they must exist on the cluster's nodes (a shared file system, or one machine); use URLs (``s3://``)
for a remote cluster. The pipeline and ``--set`` overrides are checked here before anything is submitted
(with ``--install none`` the cluster's docray may differ, so they are not).

With ``--wait`` (default) the command polls the job until it ends, prints the tail of its logs and exits 0 only
when the job SUCCEEDED (1: FAILED or STOPPED, 2: not submitted, 3: ``--timeout`` passed, 130: interrupted); a
job whose ``docray run`` exited with one of its outcome codes (4: some inputs failed, 5: every input failed,
6: no input found; :mod:`docray.exitcodes`) exits with that code.
Ctrl-C stops waiting, not the job, unless ``--stop-on-interrupt``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from docray.cluster.jobs import JobResult, job_client, submit, tail, wait
from docray.cluster.runtime_env import INSTALL_MODES, JOB_MANIFEST, SubmitError, build_runtime_env, stage_job
from docray.exitcodes import ExitCode, job_exit_code
from docray.secrets import redact_argv

__all__ = ["JobResult", "add_submit_arguments", "build_entrypoint", "build_runtime_env", "cmd_submit", "main",
           "submit", "wait"]  # fmt: skip

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
ADDRESS_ENV_VARS = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")  # read when the command runs, as `ray job submit` does
ORIGIN_CODE = 'import docray; print("docray", docray.__version__, "from", docray.__file__, flush=True)'
EXIT_FAILED, EXIT_NOT_SUBMITTED, EXIT_TIMEOUT, EXIT_INTERRUPTED = 1, 2, 3, 130


def cluster_path(value: str, cwd: str | Path | None = None) -> str:
    """An input/output argument as the cluster must see it: URLs unchanged, local paths absolute."""
    if "://" in value:
        return value
    return str((Path(cwd) if cwd is not None else Path.cwd()) / Path(value).expanduser())


def build_entrypoint(
    pipeline: str,
    inputs: list[str],
    output: str,
    *,
    overrides: list[str] | tuple[str, ...] = (),
    run_options: list[str] | tuple[str, ...] = (),
    python: str = "python",
    show_origin: bool = True,
) -> str:
    """The job's shell command: ``docray run`` against the job's own cluster, every argument shell-quoted.

    ``run_options`` are further ``docray run`` flags (``--shard-size N``, ``--retry-errors``, ``--fresh``).
    """
    run = [python, "-m", "docray.cli", "run", pipeline]
    for item in inputs:
        run += ["--input", item]
    run += ["--output", output, "--address", "auto", "--no-progress", *run_options]
    for item in overrides:
        run += ["--set", item]
    command = shlex.join(run)
    return f"{shlex.join([python, '-c', ORIGIN_CODE])} && {command}" if show_origin else command


def check_pipeline(pipeline: str, overrides: list[str] | tuple[str, ...] = ()) -> str:
    """Load the pipeline, apply the overrides and build its plan here; returns its name (raises on errors)."""
    from docray.pipelines.plan import build_plan
    from docray.pipelines.spec import apply_overrides, load_pipeline

    spec = apply_overrides(load_pipeline(pipeline), list(overrides))
    build_plan(spec)
    return spec.name


def parse_env_vars(items: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SubmitError(f"--env {item!r} must look like KEY=VALUE")
        env[key] = value
    return env


def load_runtime_env_file(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SubmitError(f"--runtime-env {path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SubmitError(f"--runtime-env {path} must hold a mapping (a Ray runtime env), got {type(data).__name__}")
    return data


# ----------------------------------------------------------------------------- command line


def add_submit_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``docray submit`` options; sets ``func=cmd_submit``."""
    parser.add_argument("pipeline", help="pipeline YAML file (uploaded with the job) or bundled name (fast)")
    parser.add_argument(
        "--input",
        "-i",
        action="append",
        required=True,
        help="file, directory, glob, URL or Parquet as the cluster sees it; repeatable",
    )
    parser.add_argument("--output", "-o", required=True, help="output directory or URL as the cluster sees it")
    parser.add_argument(
        "--address",
        default=None,
        help=f"Ray dashboard address (default: $RAY_API_SERVER_ADDRESS, $RAY_ADDRESS, {DEFAULT_ADDRESS})",
    )
    parser.add_argument(
        "--set", action="append", metavar="STAGE.KEY=VALUE", help="override a stage config value (YAML); repeatable"
    )
    parser.add_argument("--shard-size", type=int, default=None, help="passed to docray run (documents per shard)")
    parser.add_argument("--retry-errors", action="store_true", help="passed to docray run: re-run error rows")
    parser.add_argument("--fresh", action="store_true", help="passed to docray run: start the output over")
    parser.add_argument(
        "--ok-exit-on-errors", action="store_true",
        help="passed to docray run: the job succeeds (exit 0) even when inputs are error rows",
    )  # fmt: skip
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait for the job and exit with its outcome (default)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop waiting after this long (the job goes on; exit 3)",
    )
    parser.add_argument(
        "--install",
        choices=INSTALL_MODES,
        default="py-modules",
        help="how docray gets onto the cluster (default: py-modules; see docray.cluster.runtime_env)",
    )
    parser.add_argument(
        "--wheel", default=None, help="docray wheel to ship (default: built from the source checkout docray runs from)"
    )
    parser.add_argument(
        "--pip", action="append", metavar="SPEC", help="extra pip requirement for the job's runtime env; repeatable"
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="environment variable for the job's driver and workers; repeatable",
    )
    parser.add_argument(
        "--runtime-env",
        default=None,
        metavar="FILE.yaml",
        help="base Ray runtime env (YAML) that docray's settings extend",
    )
    parser.add_argument("--job-id", default=None, help="submission id (default: generated by Ray)")
    parser.add_argument("--python", default="python", help="Python interpreter on the cluster (default: python)")
    parser.add_argument(
        "--log-lines", type=int, default=40, help="lines of the job's log to print when it ends (default 40)"
    )
    parser.add_argument(
        "--stop-on-interrupt", action="store_true", help="stop the job on Ctrl-C (default: leave it running)"
    )
    parser.set_defaults(func=cmd_submit)
    return parser


def run_options(args: argparse.Namespace) -> list[str]:
    """The ``docray run`` flags that ``docray submit`` passes through."""
    options = ["--shard-size", str(args.shard_size)] if args.shard_size is not None else []
    options += ["--ok-exit-on-errors"] if getattr(args, "ok_exit_on_errors", False) else []
    return options + (["--retry-errors"] if args.retry_errors else []) + (["--fresh"] if args.fresh else [])


def resolve_address(address: str | None) -> str:
    if address:
        return address
    for name in ADDRESS_ENV_VARS:
        value = os.environ.get(name, "")
        if value.startswith(("http://", "https://")):
            return value
    return DEFAULT_ADDRESS


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _prepare_and_submit(args: argparse.Namespace, address: str) -> str:
    overrides = list(args.set or [])
    env_vars = parse_env_vars(args.env)
    base_env = load_runtime_env_file(args.runtime_env)
    if args.install != "none":
        name = check_pipeline(args.pipeline, overrides)
        _say(f"pipeline {name!r} checked ({len(overrides)} overrides)")
    client = job_client(address)  # fail fast, before building anything
    inputs = [cluster_path(item) for item in args.input]
    output = cluster_path(args.output)
    with tempfile.TemporaryDirectory(prefix="docray-submit-") as tmp:
        staged = stage_job(Path(tmp), args.pipeline, args.install, wheel=args.wheel)
        entrypoint = build_entrypoint(
            staged.pipeline_arg, inputs, output, overrides=overrides, run_options=run_options(args), python=args.python
        )
        runtime_env = build_runtime_env(
            install=args.install,
            working_dir=staged.working_dir,
            package_dir=staged.package_dir,
            wheel_name=staged.wheel_name,
            pip=list(args.pip or []),
            env_vars=env_vars,
            base=base_env,
        )
        from docray import __version__

        manifest = {"docray_version": __version__, "install": args.install, "pipeline": args.pipeline,
                    "entrypoint": shlex.join(redact_argv(shlex.split(entrypoint))), "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        (staged.working_dir / JOB_MANIFEST).write_text(json.dumps(manifest, indent=2))
        metadata = {"docray_pipeline": args.pipeline, "docray_output": output, "docray_install": args.install,
                    "docray_version": __version__}  # fmt: skip
        return submit(client, entrypoint, runtime_env, job_id=args.job_id, metadata=metadata)


def cmd_submit(args: argparse.Namespace) -> int:
    from docray.pipelines.spec import PipelineError

    address = resolve_address(args.address)
    try:
        job_id = _prepare_and_submit(args, address)
    except (SubmitError, PipelineError, FileNotFoundError) as exc:
        _say(f"error: {exc}")
        return EXIT_NOT_SUBMITTED
    _say(f"submitted job {job_id} to {address}")
    follow = f"ray job logs --address {shlex.quote(address)} --follow {shlex.quote(job_id)}"
    if not args.wait:
        _say(f"follow it with: {follow}")
        return 0
    try:
        result = wait(
            address, job_id, timeout_s=args.timeout, on_status=lambda s, t: _say(f"job {job_id}: {s} ({t:.0f} s)")
        )
    except KeyboardInterrupt:
        if args.stop_on_interrupt:
            try:
                job_client(address).stop_job(job_id)
                _say(f"\ninterrupted: asked the cluster to stop job {job_id}")
            except Exception as exc:
                _say(f"\ninterrupted; stopping job {job_id} failed: {exc}")
        else:
            _say(f"\ninterrupted: job {job_id} is still running on the cluster.\n  follow: {follow}\n"
                 f"  stop:   ray job stop --address {shlex.quote(address)} {shlex.quote(job_id)}")  # fmt: skip
        return EXIT_INTERRUPTED
    except SubmitError as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    if result.logs:
        print(tail(result.logs, args.log_lines), flush=True)
    if result.timed_out:
        _say(f"job {job_id} is still {result.status} after {result.seconds:.0f} s; follow it with: {follow}")
        return EXIT_TIMEOUT
    if result.succeeded:
        _say(f"job {job_id} SUCCEEDED in {result.seconds:.0f} s")
        return 0
    code = job_exit_code(result.message) if result.status == "FAILED" else ExitCode.FAILED
    _say(f"job {job_id} {result.status}: {tail(result.message, 5)}")
    if code != ExitCode.FAILED:
        _say(f"exit status {int(code)}: docray run on the cluster exited {int(code)} (see docray --help)")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = add_submit_arguments(argparse.ArgumentParser(prog="docray submit", description=__doc__.split("\n\n")[0]))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
