"""``docray serve``: the command line of the parsing API."""

from __future__ import annotations

import argparse
import os
import sys

from docray.exitcodes import ExitCode

KEYS_ENV = "DOCRAY_API_KEYS"  # comma-separated; read when the command starts


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--address", default=None, help="Ray address for tasks run on Ray (default: an embedded local Ray)")
    p.add_argument("--output-root", default="./docray-serve", help="folder or fsspec URL for uploads and results")
    p.add_argument("--state-db", default=None, help="SQLite file of task state (default OUTPUT_ROOT/tasks.sqlite3)")
    p.add_argument("--executor", choices=("auto", "local", "ray"), default="auto",
                   help="auto: in-process for a small task, Ray for a large one (as docray parse)")  # fmt: skip
    p.add_argument("--pipeline", default=None, help="docray pipeline for backend=pipeline (default standard)")
    p.add_argument("--api-key", action="append", default=[], help=f"accepted Bearer key; repeatable (also {KEYS_ENV}=k1,k2)")
    p.add_argument("--max-upload-mb", type=float, default=100.0, help="largest request, MiB (413 above; default 100)")
    p.add_argument("--max-files", type=int, default=20, help="most files a request (default 20)")
    p.add_argument("--max-pages", type=int, default=1000, help="most pages a task, in the asked range (413 above; default 1000)")
    p.add_argument("--rate-per-minute", type=int, default=0, help="submissions a minute per key, or per client address without keys (429 above; default 0: no limit)")
    p.add_argument("--queue-size", type=int, default=64, help="most waiting tasks (503 above; default 64)")
    p.add_argument("--workers", type=int, default=1, help="tasks run at the same time (default 1)")
    p.add_argument("--request-timeout", type=float, default=600.0, help="POST /file_parse waits this long, then 504 with the task id")
    p.add_argument("--task-timeout", type=float, default=3600.0, help="a task running longer fails (checked between documents)")
    p.add_argument("--max-attempts", type=int, default=3, help="a task interrupted by this many server stops fails (default 3)")
    p.add_argument("--allow-server-url", action="append", default=[],
                   help="a VLM server URL clients may name in server_url (vlm-http-client); repeatable; default none")  # fmt: skip
    p.add_argument("--vlm-server-url", default=None, help="this server's VLM server for vlm-http-client requests without server_url")
    p.set_defaults(func=cmd_serve)


def config_from(args: argparse.Namespace, environ: dict[str, str] | None = None):
    from docray.serve.config import ServeConfig

    environ = os.environ if environ is None else environ
    keys = list(args.api_key) + [k.strip() for k in environ.get(KEYS_ENV, "").split(",") if k.strip()]
    return ServeConfig(
        output_root=args.output_root, state_db=args.state_db, address=args.address, executor=args.executor,
        pipeline=args.pipeline, api_keys=keys, max_upload_mb=args.max_upload_mb, max_files=args.max_files,
        max_pages=args.max_pages, rate_per_minute=args.rate_per_minute, queue_size=args.queue_size,
        workers=args.workers, request_timeout_s=args.request_timeout, task_timeout_s=args.task_timeout,
        max_attempts=args.max_attempts,
        allowed_server_urls=args.allow_server_url, vlm_server_url=args.vlm_server_url,
    )  # fmt: skip


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from docray.serve.app import create_app
    except ImportError as exc:
        print(f"error: docray serve needs the serve extra: pip install 'docray[serve]' ({exc})", file=sys.stderr)
        return ExitCode.USAGE
    try:
        config = config_from(args)
        config.db_path()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    where = f"http://{args.host}:{args.port}"
    print(f"docray serve: {where} (API docs {where}/docs), results in {config.output_root}, "
          f"{'API keys required' if config.api_keys else 'no API keys (anyone who can connect may parse)'}",
          file=sys.stderr, flush=True)  # fmt: skip
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")
    return ExitCode.OK
