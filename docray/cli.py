"""docray's command line: ``docray run`` (pipelines), ``docray parse`` (MinerU-style) and ``docray eval`` (scores)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from docray import __version__
from docray.evaluation.cli_eval import add_eval_arguments

VLM_BACKENDS = ("vlm-transformers", "vlm-vllm-engine", "vlm-http-client", "vlm-vllm-async-engine")  # MinerU's names


def _progress_printer(total: int):
    def show(done: int, stats: dict[str, Any]) -> None:
        status = next((k for k, v in stats["status"].items() if v), "?")
        print(f"[{done}/{total}] {status} {stats['pages']} pages", file=sys.stderr, flush=True)

    return show


def ocr_unavailable(spec) -> str | None:
    """Why an OCR stage of ``spec`` could not read (e.g. ``-l`` names a recogniser not installed), or None.

    Checked before any work starts; loads no model.  Text-layer-only runs (``-m txt``) need no OCR.
    """
    from docray.operators.ocr import OcrConfig, engine_unavailable
    from docray.pipelines.plan import build_plan

    try:
        plan = build_plan(spec)
    except Exception:  # an invalid pipeline: the runner reports it
        return None
    if plan.parse_method == "txt":
        return None
    for stage in plan.stages:
        if isinstance(stage.config, OcrConfig):
            problem = engine_unavailable(stage.config)
            if problem:
                return f"stage {stage.name!r}: {problem}"
    return None


def _execute(spec, inputs: list[str], output: str, args: argparse.Namespace) -> int:
    from docray.operators.ingest import expand_inputs
    from docray.pipelines.runner import format_summary, make_executor, run_pipeline

    problem = ocr_unavailable(spec)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        expanded = expand_inputs(inputs)
    except ValueError as exc:  # an unknown URL scheme, a malformed manifest
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for warning in getattr(expanded, "warnings", []) or []:
        print(f"warning: {warning}", file=sys.stderr)
    total = len(expanded.files)
    print(f"docray {spec.name}: {total} input documents{' + Parquet inputs' if expanded.parquet else ''} -> {output}", file=sys.stderr)
    name = choose_executor(args.executor, expanded, args.address)
    executor = make_executor(
        name, address=args.address, progress=_progress_printer(total), progress_bars=args.verbose, verbose=args.verbose
    )
    report = run_pipeline(
        spec, expanded, output, executor=executor,
        shard_size=args.shard_size, retry_errors=args.retry_errors, fresh=args.fresh,
        live=name == "ray" and not args.no_progress and not args.verbose,
    )  # fmt: skip
    print(format_summary(report))
    return 0 if report.complete else 1


SMALL_JOB_FILES = 4  # auto executor: at most this many input files ...
SMALL_JOB_BYTES = 8 * 2**20  # ... of at most this many bytes together run in-process (no Ray start-up)


def choose_executor(requested: str, expanded, address: str | None) -> str:
    """``auto``: the in-process executor for a small job on this machine (a few files, no Parquet), else Ray."""
    if requested != "auto":
        return requested
    if address is not None or expanded.parquet or len(expanded.files) > SMALL_JOB_FILES:
        return "ray"
    sizes = [row.get("size_bytes") for row in expanded.files]
    if any(size is None for size in sizes):
        sizes = [_size_of(row["source"]) for row in expanded.files]
    return "local" if sum(sizes) <= SMALL_JOB_BYTES else "ray"


def _size_of(source: str) -> int:
    try:
        from docray.storage import url_to_fs

        fs, path = url_to_fs(source)
        return int(fs.size(path) or 0)
    except Exception:
        return SMALL_JOB_BYTES + 1  # unknown: not small


def cmd_run(args: argparse.Namespace) -> int:
    from docray.pipelines.spec import apply_overrides, load_pipeline

    spec = apply_overrides(load_pipeline(args.pipeline), args.set or [])
    return _execute(spec, args.input, args.output, args)


def vlm_engine_override(backend: str, spec, url: str | None, model: str | None) -> tuple[list[str], str | None]:
    """``--set`` overrides that point the pipeline's vlm stage at ``backend``'s engine, or an error message."""
    stage = next((st for st in spec.stages if st.op == "vlm"), None)
    if stage is None:
        return [], f"pipeline {spec.name!r} has no vlm stage; backend {backend} needs one (e.g. --pipeline vlm)"
    current = dict(stage.config.get("engine") or {})
    model = model or current.get("model")
    if backend == "vlm-http-client":
        if not url:
            return [], "backend vlm-http-client needs the server URL: -u http://HOST:PORT"
        engine: dict[str, Any] = {"kind": "http", "url": url}
        if model and not str(model).startswith("models-dir:"):
            engine["model"] = model  # a served model name; models-dir: specs only mean something locally
        gpus: float | None = 0.0  # the server holds the GPUs
    else:
        engine = {"kind": "vllm" if backend.startswith("vlm-vllm") else "transformers"}
        if model:
            engine["model"] = model
        gpus = None if backend.startswith("vlm-vllm") or _cuda_visible() else 0.0
    overrides = [f"{stage.stage_name}.engine={json.dumps(engine)}"]
    if gpus is not None:
        overrides.append(f"{stage.stage_name}.resources.num_gpus={gpus}")
    return overrides, None


def _cuda_visible() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


MINERU_DEBUG_FILES = ("layout_pdf", "span_pdf")  # MinerU's f_draw_layout_bbox / f_draw_span_bbox, on by default


def cmd_parse(args: argparse.Namespace) -> int:
    from docray.pipelines.spec import apply_overrides, load_pipeline

    vlm = args.backend in VLM_BACKENDS
    if args.backend != "pipeline" and not vlm:
        print(f"error: unknown backend {args.backend!r}; choose from pipeline, {', '.join(VLM_BACKENDS)}", file=sys.stderr)
        return 2
    spec = load_pipeline(args.pipeline or ("vlm" if vlm else "standard"))
    if vlm:
        engine_overrides, problem = vlm_engine_override(args.backend, spec, args.url, args.vlm_model)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        spec = apply_overrides(spec, engine_overrides)
    overrides = [f"render.method={args.method}", f"render.start_page={args.start}"]
    if args.end is not None:
        overrides.append(f"render.end_page={args.end}")
    lang_stages = [s.stage_name for s in spec.stages if s.op in ("ocr",)]
    if args.lang:
        overrides += [f"{stage}.lang={args.lang}" for stage in lang_stages]
    if args.lang and not lang_stages:
        print(f"note: pipeline {spec.name!r} has no OCR stage; -l {args.lang} has no effect", file=sys.stderr)
    if not args.formula:  # MinerU's -f false: no formula stage, no glyphs kept for it
        formula_stages = [s for s in spec.stages if s.op == "formula"]
        spec.stages = [s for s in spec.stages if s.op != "formula"]
        if formula_stages:
            overrides.append("render.glyphs=none")
    if not vlm:  # MinerU's pipeline backend draws both debug PDFs by default; corpus pipelines only on request
        spec.output.files = list(dict.fromkeys([*spec.output.files, *MINERU_DEBUG_FILES]))
    spec = apply_overrides(spec, overrides + (args.set or []))
    spec.output.files_dir = ""
    if not args.parquet:
        spec.output.tables = []
    inputs = list(args.paths) + list(args.path or [])
    if not inputs:
        print("error: give at least one file or directory (positional or -p)", file=sys.stderr)
        return 2
    return _execute(spec, inputs, args.output, args)


def cmd_pipelines(args: argparse.Namespace) -> int:
    from importlib import resources

    from docray.pipelines.spec import load_pipeline

    for entry in sorted(resources.files("docray.pipelines").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            spec = load_pipeline(entry.name)
            print(f"{spec.name:12s} {spec.description.strip().splitlines()[0] if spec.description else ''}")
    return 0


def _true_false(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def _add_executor_options(p: argparse.ArgumentParser, default_executor: str = "ray") -> None:
    from docray.pipelines import DEFAULT_SHARD_SIZE  # not the runner: building the parser must not import pyarrow

    p.add_argument(
        "--executor", choices=("auto", "ray", "local"), default=default_executor,
        help=f"Ray Data, in-process, or auto: in-process for at most {SMALL_JOB_FILES} files of at most "
        f"{SMALL_JOB_BYTES // 2**20} MiB together (no Ray start-up), else Ray (default {default_executor})",
    )  # fmt: skip
    p.add_argument("--verbose", action="store_true", help="show Ray Data's log lines and progress bars")
    p.add_argument("--address", default=None, help="Ray address to connect to (default: start an embedded local Ray)")
    p.add_argument("--set", action="append", metavar="STAGE.KEY=VALUE", help="override a stage config value (YAML)")
    p.add_argument("--no-progress", action="store_true", help="no live progress line")
    p.add_argument(
        "--shard-size", type=int, default=DEFAULT_SHARD_SIZE,
        help=f"documents per shard (default {DEFAULT_SHARD_SIZE}): a commit record checked and marked once its "
        "documents are all written; the run is one streaming pass whatever the shard size (parts commit as written)",
    )  # fmt: skip
    p.add_argument("--retry-errors", action="store_true", help="resume: run documents whose earlier row is an error again")
    p.add_argument("--fresh", action="store_true", help="delete the output's tables and run state first instead of resuming")


def cmd_status(args: argparse.Namespace) -> int:
    import json

    from docray.pipelines.status import collect_status, format_status

    try:
        info = collect_status(args.output)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info, indent=2) if args.json else format_status(info))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docray", description=__doc__)
    parser.add_argument("--version", action="version", version=f"docray {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a pipeline YAML over inputs, writing Parquet and per-document files")
    run.add_argument("pipeline", help="pipeline YAML path or bundled name (fast)")
    run.add_argument("--input", "-i", action="append", required=True, help="file, directory, glob, URL or Parquet; repeatable")
    run.add_argument("--output", "-o", required=True, help="output directory or URL")
    _add_executor_options(run)
    run.set_defaults(func=cmd_run)

    parse = sub.add_parser("parse", help="MinerU-style parsing of files or directories to .md and JSON")
    parse.add_argument("paths", nargs="*", help="PDF / image files or directories")
    parse.add_argument("-p", "--path", action="append", help="input path (MinerU's -p); repeatable")
    parse.add_argument("-o", "--output", required=True, help="output directory")
    parse.add_argument("-m", "--method", choices=("auto", "txt", "ocr"), default="auto", help="parse method")
    parse.add_argument("-b", "--backend", default="pipeline", help=f"backend: pipeline, {', '.join(VLM_BACKENDS)}")
    parse.add_argument("-u", "--url", default=None, help="OpenAI-compatible server URL for -b vlm-http-client")
    parse.add_argument(
        "--vlm-model", default=None,
        help="VLM weights (models-dir:NAME or a path) for vlm-transformers/vlm-vllm-engine, or the served model name for vlm-http-client",
    )  # fmt: skip
    parse.add_argument("-l", "--lang", default=None, help="document language for OCR (MinerU's codes: ch, en, japan, chinese_cht, latin, fr, de, korean, ...)")
    parse.add_argument("-s", "--start", type=int, default=0, help="first page (0-based)")
    parse.add_argument("-e", "--end", type=int, default=None, help="last page (0-based, inclusive)")
    parse.add_argument(
        "-f", "--formula", type=_true_false, default=True, metavar="{true,false}", help="formula parsing (default true)"
    )
    parse.add_argument("--pipeline", default=None, help="docray pipeline to run (default: standard; vlm for vlm-* backends)")
    parse.add_argument("--parquet", action="store_true", help="also write documents/pages Parquet")
    _add_executor_options(parse, default_executor="auto")
    parse.set_defaults(func=cmd_parse)

    from docray.cluster.submit import add_submit_arguments, cmd_submit

    submit = sub.add_parser("submit", help="run a pipeline as a Ray job on a cluster (Ray's Job Submission SDK)")
    add_submit_arguments(submit)
    submit.set_defaults(func=cmd_submit)

    status = sub.add_parser("status", help="progress of a running or finished run, from its output")
    status.add_argument("output", help="the run's output directory or URL")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=cmd_status)

    from docray.vlm_serve import add_arguments as add_serve_arguments

    add_serve_arguments(sub.add_parser("vlm-serve", help="serve a local VLM (transformers) as an OpenAI-compatible API"))

    lst = sub.add_parser("pipelines", help="list bundled pipelines")
    lst.set_defaults(func=cmd_pipelines)
    add_eval_arguments(sub.add_parser("eval", help="score a run's outputs against olmOCR-bench or OmniDocBench"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from docray.pipelines.spec import PipelineError

    try:
        return args.func(args)
    except (PipelineError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
