"""docray's command line: ``docray run`` (pipelines), ``parse`` (MinerU-style), ``serve`` (an API) and ``eval``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from docray import __version__
from docray.evaluation.cli_eval import add_eval_arguments
from docray.exitcodes import EXIT_CODES_HELP, ExitCode, outcome
from docray.secrets import redact_url

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


def _execute(spec, inputs: list[str], output: str, args: argparse.Namespace, *, retry_errors: bool | None = None) -> int:
    """Check, expand and run; the exit code follows :mod:`docray.exitcodes`."""
    from docray.operators.ingest import expand_inputs
    from docray.pipelines.plan import build_plan
    from docray.pipelines.runner import format_summary, make_executor, run_pipeline

    build_plan(spec)  # an invalid pipeline or --set is a usage error (PipelineError), before the inputs are looked at
    problem = ocr_unavailable(spec)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        expanded = expand_inputs(inputs, manifests=list(getattr(args, "manifest", None) or []))
        passwords = read_password_file(args.password_file) if getattr(args, "password_file", None) else {}
    except ValueError as exc:  # an unknown URL scheme, a malformed manifest or password file
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    for warning in expanded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for decision in expanded.decisions:
        print(f"input: {decision}", file=sys.stderr)
    nothing = expanded.empty or (not expanded.parquet and len(expanded.missing) == len(expanded.files))
    for missing in expanded.missing:  # reported before any work starts
        print(f"{'error' if nothing else 'warning'}: no such file or directory: {missing}"
              + ("" if nothing else " (it gets a not_found row)"), file=sys.stderr)  # fmt: skip
    if nothing:
        print("error: no input documents found; nothing was run", file=sys.stderr)
        return ExitCode.NO_INPUTS
    problem = apply_passwords(spec, getattr(args, "password", None), {**expanded.passwords, **passwords})
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    total = len(expanded.files)
    if getattr(args, "dry_run", False):
        print(f"dry run: {spec.name} ({', '.join(st.stage_name for st in spec.stages)}) would run {total} input "
              f"documents{' + Parquet inputs' if expanded.parquet else ''} into {output}; nothing was run")  # fmt: skip
        return ExitCode.OK
    print(f"docray {spec.name}: {total} input documents{' + Parquet inputs' if expanded.parquet else ''} -> {output}", file=sys.stderr)
    name = choose_executor(args.executor, expanded, args.address)
    executor = make_executor(
        name, address=args.address, progress=_progress_printer(total), progress_bars=args.verbose, verbose=args.verbose
    )
    report = run_pipeline(
        spec, expanded, output, executor=executor, shard_size=args.shard_size,
        retry_errors=args.retry_errors if retry_errors is None else retry_errors, fresh=args.fresh,
        live=name == "ray" and not args.no_progress and not args.verbose,
    )  # fmt: skip
    print(format_summary(report))
    for decision in expanded.decisions:
        print(f"input: {decision}")
    code = outcome(report.input_status or report.output_status, complete=report.complete,
                   ok_exit_on_errors=args.ok_exit_on_errors)  # fmt: skip
    if code in (ExitCode.SOME_FAILED, ExitCode.ALL_FAILED):
        print(f"exit status {int(code)}: {'every input failed' if code == ExitCode.ALL_FAILED else 'some inputs failed'} "
              "(--ok-exit-on-errors exits 0 when error rows are expected)", file=sys.stderr)  # fmt: skip
    return code


def read_password_file(path: str) -> dict[str, str]:
    """Source -> password from a ``.csv`` (header: source/path/url/uri and password) or ``.jsonl`` password file;
    relative paths resolve against the file's folder.  Raises ValueError when it lists no password."""
    from docray.operators.ingest_manifest import read_manifest, resolve_uri
    from docray.storage import full_uri, url_to_fs

    fs, where = url_to_fs(path)
    if not fs.isfile(where):
        raise ValueError(f"--password-file {path}: no such file")
    entries, _ = read_manifest(fs, where, path)
    base = full_uri(fs, where.rsplit("/", 1)[0]) if "/" in where else full_uri(fs, ".")
    found = {resolve_uri(entry.uri, base): entry.password for entry in entries if entry.password is not None}
    if not found:
        raise ValueError(f"--password-file {path}: no entry has a password (a .csv with a header "
                         "'source,password', or .jsonl objects {\"source\": ..., \"password\": ...})")  # fmt: skip
    return found


def apply_passwords(spec, password: str | None, passwords: dict[str, str]) -> str | None:
    """Put ``--password`` and per-document passwords into the render stage's config (typed secrets: never
    written to run records); a message when the pipeline has no render stage to take them."""
    if password is None and not passwords:
        return None
    stage = next((st for st in spec.stages if st.op == "render"), None)
    if stage is None:
        return f"pipeline {spec.name!r} has no render stage to open encrypted PDFs with a password"
    if password is not None:
        stage.config["password"] = password
    if passwords:
        stage.config["passwords"] = {**stage.config.get("passwords", {}), **passwords}
    return None


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

    if not args.input and not args.manifest:
        print("error: give at least one --input or --manifest", file=sys.stderr)
        return ExitCode.USAGE
    spec = apply_overrides(load_pipeline(args.pipeline), args.set or [])
    return _execute(spec, list(args.input or []), args.output, args)


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


def parse_state_dir(spec) -> str:
    """``docray parse``'s run state folder: one per set of options (``_docray/parse-<fingerprint>``), so runs with
    other options (method, language, pages) share an output root as MinerU's do, and the same options resume."""
    from docray.pipelines.plan import build_plan
    from docray.pipelines.progress import fingerprint

    return f"_docray/parse-{fingerprint(build_plan(spec))}"


MINERU_DEBUG_FILES = ("layout_pdf", "span_pdf")  # MinerU's f_draw_layout_bbox / f_draw_span_bbox, on by default


class ParseOptionError(ValueError):
    """A MinerU option that cannot run here (an unknown backend, a missing server URL ...): a usage error."""


def mineru_parse_spec(
    *,
    backend: str = "pipeline",
    pipeline: str | None = None,
    url: str | None = None,
    vlm_model: str | None = None,
    method: str = "auto",
    start: int = 0,
    end: int | None = None,
    lang: str | None = None,
    formula: bool = True,
    table: bool = True,
    device: str | None = None,
    sets: list[str] | None = None,
    parquet: bool = False,
    note: Any = None,
):
    """The pipeline spec ``docray parse`` (and ``docray serve``) runs for MinerU's options; raises
    :class:`ParseOptionError` for options that cannot run.  ``note(message)`` receives advisory notes."""
    from docray.pipelines.spec import apply_overrides, load_pipeline

    note = note or (lambda message: None)
    vlm = backend in VLM_BACKENDS
    if backend != "pipeline" and not vlm:
        raise ParseOptionError(f"unknown backend {backend!r}; choose from pipeline, {', '.join(VLM_BACKENDS)}")
    spec = load_pipeline(pipeline or ("vlm" if vlm else "standard"))
    if vlm:
        engine_overrides, problem = vlm_engine_override(backend, spec, url, vlm_model)
        if problem:
            raise ParseOptionError(problem)
        spec = apply_overrides(spec, engine_overrides)
    elif url:
        note(f"-u {redact_url(url)} is for -b vlm-http-client; backend pipeline ignores it")
    overrides = [f"render.method={method}", f"render.start_page={start}"]
    if end is not None:
        overrides.append(f"render.end_page={end}")
    lang_stages = [s.stage_name for s in spec.stages if s.op in ("ocr",)]
    if lang:
        overrides += [f"{stage}.lang={lang}" for stage in lang_stages]
    if lang and not lang_stages:
        note(f"pipeline {spec.name!r} has no OCR stage; -l {lang} has no effect")
    if not formula:  # MinerU's -f false: no formula stage, no glyphs kept for it
        formula_stages = [s for s in spec.stages if s.op == "formula"]
        spec.stages = [s for s in spec.stages if s.op != "formula"]
        if formula_stages:
            overrides.append("render.glyphs=none")
    if not table:  # MinerU's -t false: no table stage (table regions stay images), no line segments for it
        table_stages = [s for s in spec.stages if s.op == "table"]
        spec.stages = [s for s in spec.stages if s.op != "table"]
        if table_stages and any("line_segments" in s.config for s in spec.stages if s.op == "render"):
            overrides.append("render.line_segments=false")
    overrides += device_overrides(device, spec)
    if not vlm:  # MinerU's pipeline backend draws both debug PDFs by default; corpus pipelines only on request
        spec.output.files = list(dict.fromkeys([*spec.output.files, *MINERU_DEBUG_FILES]))
    spec = apply_overrides(spec, overrides + list(sets or []))
    spec.output.files_dir = ""
    if not parquet:
        spec.output.tables = []
        spec.output.state_dir = parse_state_dir(spec)  # --parquet: one set of tables, so one set of options
    return spec


def cmd_parse(args: argparse.Namespace) -> int:
    problem = refused_mineru_flags(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        spec = mineru_parse_spec(
            backend=args.backend, pipeline=args.pipeline, url=args.url, vlm_model=args.vlm_model, method=args.method,
            start=args.start, end=args.end, lang=args.lang, formula=args.formula, table=args.table, device=args.device,
            sets=args.set, parquet=args.parquet, note=lambda message: print(f"note: {message}", file=sys.stderr),
        )  # fmt: skip
    except ParseOptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    inputs = list(args.paths) + list(args.path or [])
    if not inputs and not args.manifest:
        print("error: give at least one file or directory (positional or -p)", file=sys.stderr)
        return ExitCode.USAGE
    # MinerU re-parses whatever it is given: error rows run again; ok/partial ones parsed with these options are kept
    return _execute(spec, inputs, args.output, args, retry_errors=True)


MINERU_DEVICES = "cpu, cuda, cuda:N"


def refused_mineru_flags(args: argparse.Namespace) -> str | None:
    """A one-line reason when a MinerU flag's value has no docray equivalent here, else None."""
    if args.vram is not None:
        return ("--vram: docray shares a GPU between workers by Ray resources, not a memory cap; "
                "use --set STAGE.resources.num_gpus=FRACTION (e.g. --set layout.resources.num_gpus=0.25)")  # fmt: skip
    if args.source not in (None, "local"):
        return (f"--source {args.source}: docray never downloads weights; put them in the models directory "
                "(DOCRAY_MODELS_DIR or 'models-dir' in docray.json, e.g. after mineru-models-download) and use --source local")  # fmt: skip
    device = (args.device or "").strip().lower()
    if device and not (device in ("cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        return f"-d {args.device}: docray runs on {MINERU_DEVICES} only (no npu/mps)"
    if device.startswith("cuda") and args.executor == "ray" and args.address and device != "cuda":
        return f"-d {args.device}: on a Ray cluster (--address) Ray places GPU work; use -d cuda"
    if device.startswith("cuda") and not args.address and not _cuda_visible():
        return f"-d {args.device}: no CUDA GPU is visible here (torch.cuda.is_available() is false); use -d cpu"
    return None


def device_overrides(device: str | None, spec) -> list[str]:
    """MinerU's ``-d``: ``cpu`` -> no stage reserves a GPU and none is visible to the workers; ``cuda:N`` -> GPU N
    only (CUDA_VISIBLE_DEVICES for the embedded Ray and this process); ``cuda`` -> the pipeline as written."""
    import os

    device = (device or "").strip().lower()
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # set before Ray or any model starts; 'auto' devices then pick CPU
        return [f"{st.stage_name}.resources.num_gpus=0" for st in spec.stages]
    if device.startswith("cuda:"):
        os.environ["CUDA_VISIBLE_DEVICES"] = device[5:]
    return []


def cmd_pipelines(args: argparse.Namespace) -> int:
    import textwrap

    from docray.pipelines.spec import load_pipeline

    for name in bundled_pipelines():
        spec = load_pipeline(name)
        text = " ".join(spec.description.split())
        print(f"{spec.name}\n" + "".join(f"    {line}\n" for line in textwrap.wrap(text, 96)))
    return 0


def bundled_pipelines() -> list[str]:
    """The names of the pipelines that ship with docray (``pipelines/*.yaml``)."""
    from importlib import resources

    return sorted(e.name[: -len(".yaml")] for e in resources.files("docray.pipelines").iterdir() if e.name.endswith(".yaml"))


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
    p.add_argument(
        "--ok-exit-on-errors", action="store_true",
        help="exit 0 even when some or all inputs are error/partial rows (corpus jobs where error rows are expected)",
    )  # fmt: skip
    p.add_argument("--manifest", action="append", metavar="FILE",
                   help="a file listing documents (.txt: one path/URL a line; .jsonl/.csv: source/path/url/uri column, "
                        "optional name and password columns), read as a manifest whatever its content; repeatable")  # fmt: skip
    p.add_argument("--password", default=None, help="password for encrypted PDFs (never written to any output or log)")
    p.add_argument("--password-file", default=None, metavar="FILE",
                   help="per-document PDF passwords: a .csv with header source,password (or a .jsonl of objects)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="check the options, languages and inputs, print what would run, and exit (nothing is run)")  # fmt: skip


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


MINERU_LANGS = ("ch", "ch_server", "ch_lite", "en", "korean", "japan", "chinese_cht", "ta", "te", "ka")


def language_availability(pipeline: str = "standard") -> list[tuple[str, str | None]]:
    """MinerU's ``-l`` codes and, for each, why the pipeline's OCR could not read it here (None: it can)."""
    from docray.pipelines.spec import apply_overrides, load_pipeline

    spec = load_pipeline(pipeline)
    stages = [s.stage_name for s in spec.stages if s.op == "ocr"]
    return [(code, ocr_unavailable(apply_overrides(spec, [f"{st}.lang={code}" for st in stages]))) for code in MINERU_LANGS]


def backend_availability() -> list[tuple[str, str | None]]:
    """MinerU's ``-b`` backends and, for each, why it cannot run here (None: it can)."""
    from importlib.util import find_spec

    found = {"pipeline": None, "vlm-http-client": None}
    found["vlm-transformers"] = None if find_spec("transformers") and find_spec("torch") else "pip install 'docray[vlm]' (transformers, torch)"
    vllm = None if find_spec("vllm") else "pip install vllm (needs a CUDA GPU)"
    found["vlm-vllm-engine"] = found["vlm-vllm-async-engine"] = vllm
    return list(found.items())


def _short(why: str) -> str:
    """The what-to-install part of a refusal (its last clause when that says where to put weights)."""
    last = why.rsplit("; ", 1)[-1]
    return f"{last} (DOCRAY_MODELS_DIR or 'models-dir' in docray.json)" if last.startswith("for ") else why


def parse_epilog(with_availability: bool) -> str:
    langs = ", ".join(MINERU_LANGS)
    if not with_availability:
        return f"languages (-l): {langs}; backends (-b): pipeline, {', '.join(VLM_BACKENDS)}"
    lines = ["languages (-l), as installed here:"]
    lines += [f"  {code:12s} {'available' if why is None else 'refused: ' + _short(why)}" for code, why in language_availability()]
    lines.append("  (other MinerU codes: latin, fr, de, ... read with the shipped recogniser; see models/ocr_langs.py)")
    lines.append("backends (-b), as installed here:")
    lines += [f"  {name:22s} {'available' if why is None else 'unavailable: ' + why}" for name, why in backend_availability()]
    return "\n".join(lines)


def build_parser(with_availability: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docray", description=__doc__, epilog=EXIT_CODES_HELP)
    parser.add_argument("--version", action="version", version=f"docray {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    bundled = ", ".join(bundled_pipelines())
    run = sub.add_parser(
        "run", help="run a pipeline YAML over inputs, writing Parquet and per-document files",
        description=f"Run a pipeline over inputs. Bundled pipelines: {bundled} (docray pipelines describes them). "
        + EXIT_CODES_HELP,
    )  # fmt: skip
    run.add_argument("pipeline", help=f"pipeline YAML path or bundled name: {bundled}")
    run.add_argument("--input", "-i", action="append", help="file, directory, glob, URL or Parquet; repeatable")
    run.add_argument("--output", "-o", required=True, help="output directory or URL")
    _add_executor_options(run)
    run.set_defaults(func=cmd_run)

    parse = sub.add_parser(
        "parse", help="MinerU-style parsing of files or directories to .md and JSON",
        description="MinerU-style parsing: OUTPUT/<name>/<method>/<name>.md, _content_list.json, _middle.json. "
        "Runs with other options (-m, -l, -s/-e ...) may share OUTPUT: each document's files are replaced, and "
        "documents already parsed with the same options are skipped. " + EXIT_CODES_HELP,
        epilog=parse_epilog(with_availability),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
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
    parse.add_argument("-l", "--lang", default=None, help="document language for OCR (MinerU's codes; see the list below)")
    parse.add_argument("-s", "--start", type=int, default=0, help="first page (0-based)")
    parse.add_argument("-e", "--end", type=int, default=None, help="last page (0-based, inclusive)")
    parse.add_argument(
        "-f", "--formula", type=_true_false, default=True, metavar="{true,false}", help="formula parsing (default true)"
    )
    parse.add_argument(
        "-t", "--table", type=_true_false, default=True, metavar="{true,false}", help="table parsing (default true)"
    )
    parse.add_argument("-d", "--device", default=None, help=f"MinerU's device: {MINERU_DEVICES} (default: what the pipeline asks for)")
    parse.add_argument("--vram", type=int, default=None, help="MinerU's GPU memory cap: refused (docray shares GPUs by Ray resources)")
    parse.add_argument("--source", default=None, help="MinerU's model source: local (docray never downloads; huggingface/modelscope refused)")
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

    from docray.serve.cli import add_arguments as add_api_arguments

    add_api_arguments(sub.add_parser("serve", help="serve a MinerU-compatible parsing API (POST /file_parse, /tasks) and a web page"))

    lst = sub.add_parser("pipelines", help="list bundled pipelines")
    lst.set_defaults(func=cmd_pipelines)
    add_eval_arguments(sub.add_parser("eval", help="score a run's outputs against olmOCR-bench or OmniDocBench"))
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    wants_parse_help = bool(given) and given[0] == "parse" and any(a in ("-h", "--help") for a in given)
    args = build_parser(with_availability=wants_parse_help).parse_args(argv)
    from docray.pipelines.spec import PipelineError

    try:
        return int(args.func(args))
    except (PipelineError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
