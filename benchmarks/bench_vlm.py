"""VLM backend without a real VLM: docray's own costs around the model, HTTP concurrency, retries, tiny-model overhead.

    .venv/bin/python benchmarks/bench_vlm.py [--parts concurrency,retry,reader,pipeline,tiny]
                                             [--executors local,local+nodelay,inprocess,ray]
                                             [--inputs ../shared/eval/olmocr_bench_sample/pdfs] [--max-load 1.5]

MinerU2.5's weights are not available here, so NO accuracy is measured.  Every model below is a stand-in:

* ``reader``: where the ``vlm`` stage's own time goes on each page of the input folder (rendered at 200 dpi as the
  vlm pipeline does): page PNG decode, layout resize, layout PNG encode (zlib level 6 as the reader does, and 3 as
  the render stage does), block crops + parsing; the scripted engine's time is subtracted.
* ``pipeline``: ``docray run vlm`` over a PDF folder (local and Ray executors) with the hand-written MinerU2.5
  answers (:mod:`docray.testing.mineru25_script`) served by :class:`~docray.vlm_serve.VlmServer` in this process and
  reached by the ``http`` engine; the scripted engine answers at once, so the ``vlm`` stage's time is docray's
  own per-page cost (resizing, cropping, PNG encoding, base64 + JSON + HTTP on both sides, parsing).  ``inprocess``
  runs the same with the scripted engine inside the stage (the ``http`` engine's construction is replaced in this
  process; local executor only), which isolates the HTTP share.  Every page gets the same 9-region layout answer,
  so requests per page are the script's, not a real page's.
* ``concurrency``: 64 block-sized requests through :class:`~docray.models.vlm_http.HttpVlm` against a VlmServer whose
  scripted model sleeps ``--delay`` seconds per ``generate`` call whatever the batch size (like a GPU batch), for
  client ``max_concurrency`` x server ``max_batch``; with the server as found and, where it does not have them, with
  TCP_NODELAY on its connections (its answers are two writes: without it a keep-alive client waits ~40 ms for the
  delayed ACK on every answer) and a listen backlog of 128 (http.server's 5 makes some of 16+ clients connecting
  at once retry their SYN 1 s later); plus one-at-a-time round trips of a block and a layout request.
  ``local+nodelay`` runs the local pipeline with TCP_NODELAY too.
* ``retry``: the same requests through :class:`~docray.testing.vlm_scripted.FlakyUpstream`, which answers the first
  N requests 429 with ``Retry-After: 0`` (and one case of 503 without Retry-After, i.e. the client's backoff).
* ``tiny``: :class:`~docray.models.vlm_transformers.TransformersVlm` on a ~1 MB random Qwen2-VL
  (:func:`docray.testing.tiny_vlm.save_tiny_qwen2_vl`): new tokens/s at batch 1 vs 8 -- engine overhead, not the
  speed of any real model.

Each part first waits (up to ``--wait-s``) for the 1-minute load average to fall below ``--max-load`` and records
the load it ran under.  Writes ``benchmarks/results/vlm.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

RESULTS = Path(__file__).resolve().parent / "results" / "vlm.json"
DEFAULT_INPUTS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "olmocr_bench_sample" / "pdfs"
LAYOUT_MARK = "Layout Detection"


# --------------------------------------------------------------------------- helpers


def wait_quiet(max_load: float, wait_s: float) -> dict[str, Any]:
    """Wait until the 1-minute load average is below ``max_load`` (at most ``wait_s`` s); the load seen."""
    began = time.monotonic()
    while os.getloadavg()[0] > max_load and time.monotonic() - began < wait_s:
        time.sleep(10)
    load = os.getloadavg()
    quiet = load[0] <= max_load
    if not quiet:
        print(f"warning: load {load[0]:.2f} > {max_load} after waiting {wait_s:.0f} s; measuring anyway", file=sys.stderr)
    return {"load_at_start": [round(x, 2) for x in load], "waited_s": round(time.monotonic() - began, 1), "quiet": quiet}


class TimedEngine:
    """A VLM engine wrapper that adds up the seconds spent inside the wrapped engine's ``generate``."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.model_name = engine.model_name
        self.seconds = 0.0
        self._lock = threading.Lock()

    def generate(self, requests: list) -> list:
        began = time.perf_counter()
        try:
            return self.engine.generate(requests)
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - began

    def close(self) -> None:
        self.engine.close()


def request_mix(calls: list[tuple]) -> dict[str, Any]:
    """Counts and image bytes of layout vs block requests over ``calls`` (a ScriptedVlm's ``calls`` slice)."""
    layout = [r for call in calls for r in call if LAYOUT_MARK in r.prompt]
    blocks = [r for call in calls for r in call if LAYOUT_MARK not in r.prompt]
    return {
        "layout_requests": len(layout),
        "block_requests": len(blocks),
        "layout_image_bytes_mean": round(statistics.fmean(len(r.image) for r in layout)) if layout else 0,
        "block_image_bytes_mean": round(statistics.fmean(len(r.image) for r in blocks)) if blocks else 0,
        "engine_calls": len(calls),
        "engine_batch_sizes": dict(sorted(Counter(len(c) for c in calls).items())),
    }


@contextlib.contextmanager
def nagle_off(*handlers: type) -> Iterator[None]:
    """Within the block, the given ``http.server`` handler classes set TCP_NODELAY on their connections."""
    before = [h.disable_nagle_algorithm for h in handlers]
    for handler in handlers:
        handler.disable_nagle_algorithm = True
    try:
        yield
    finally:
        for handler, value in zip(handlers, before):
            handler.disable_nagle_algorithm = value


@contextlib.contextmanager
def tuned_server() -> Iterator[None]:
    """Within the block, VlmServer answers with TCP_NODELAY and listens with a backlog of 128 (http.server: 5)."""
    from docray.vlm_serve import _Handler, _HttpServer

    with nagle_off(_Handler), mock.patch.object(_HttpServer, "request_queue_size", 128):
        yield


def server_variants() -> list[tuple[str, Any]]:
    """The VlmServer as found; with TCP_NODELAY when it does not set it (its answers are two writes); and with
    TCP_NODELAY and a listen backlog of 128 when its backlog is smaller (16+ clients connecting at once)."""
    from docray.vlm_serve import _Handler, _HttpServer

    nodelay, backlog = _Handler.disable_nagle_algorithm, _HttpServer.request_queue_size
    variants = [(f"as found ({'TCP_NODELAY' if nodelay else 'Nagle on'}, backlog {backlog})", contextlib.nullcontext)]
    if not nodelay:
        variants.append((f"TCP_NODELAY, backlog {backlog}", lambda: nagle_off(_Handler)))
    if backlog < 128:
        variants.append(("TCP_NODELAY, backlog 128", tuned_server))
    return variants


@contextlib.contextmanager
def engine_in_process(engine: Any) -> Iterator[None]:
    """Within the block, every ``vlm`` engine this process builds is ``engine`` (the configured one is not built)."""
    from docray.models import registry

    original = registry.create

    def create(task: str, options: Any, threads: int = 1) -> Any:
        return engine if task == "vlm" else original(task, options, threads=threads)

    registry.create = create
    try:
        yield
    finally:
        registry.create = original


# --------------------------------------------------------------------------- part 1: the vlm pipeline


def run_vlm(inputs: Path, executor: str, url: str, out: Path) -> tuple[list[str], float, dict[str, Any]]:
    """``docray run vlm`` in this process; the arguments, the call's wall seconds and the run's run.json."""
    from docray.cli import main

    argv = ["run", "vlm", "-i", str(inputs), "-o", str(out), "--executor", executor, "--no-progress",
            "--set", f"vlm.engine={{kind: http, url: '{url}'}}", "--set", "vlm.resources.num_gpus=0"]  # fmt: skip
    began = time.perf_counter()
    rc = main(argv)
    wall = time.perf_counter() - began
    if rc != 0:
        raise RuntimeError(f"docray {' '.join(argv)} exited {rc}")
    return argv, wall, json.loads((out / "run.json").read_text())


def pipeline_row(name: str, argv: list[str], wall: float, manifest: dict, timed: TimedEngine, calls: list) -> dict:
    """One pipeline measurement from a run's manifest and the requests the scripted engine saw."""
    report, stages = manifest["report"], manifest["throughput"]["stages"]
    pages = report["pages"]
    mix = request_mix(calls)
    vlm_s = stages.get("vlm", {}).get("worker_seconds", 0.0)
    row = {
        "executor": name,
        "command": "docray " + " ".join(a if " " not in a and "{" not in a else repr(a) for a in argv),
        "documents": report["documents"],
        "pages": pages,
        "status": report["status"],
        "run_wall_seconds": report["wall_seconds"],
        "call_wall_seconds": round(wall, 3),
        "pages_per_second": report["pages_per_second"],
        "ms_per_page_by_stage": {k: v["ms_per_page"] for k, v in stages.items()},
        **mix,
        "requests_per_page": round((mix["layout_requests"] + mix["block_requests"]) / max(1, pages), 2),
        "engine_seconds": round(timed.seconds, 3),
        "vlm_stage_ms_per_page": round(1000 * vlm_s / max(1, pages), 2),
        "vlm_stage_ms_per_page_excluding_engine": round(1000 * (vlm_s - timed.seconds) / max(1, pages), 2),
    }
    return row


def pipeline_once(name: str, inputs: Path, out: Path, url: str, timed: TimedEngine, scripted: Any) -> dict[str, Any]:
    """One ``docray run vlm`` run of executor variant ``name`` (local, local+nodelay, inprocess, ray) as a row."""
    from docray.vlm_serve import _Handler

    first, timed.seconds = len(scripted.calls), 0.0
    if name == "inprocess":
        with engine_in_process(timed):
            argv, wall, manifest = run_vlm(inputs, "local", "http://in-process.invalid", out)
    elif name == "local+nodelay":  # the server's answers sent with TCP_NODELAY (see server_variants)
        with nagle_off(_Handler):
            argv, wall, manifest = run_vlm(inputs, "local", url, out)
    else:
        argv, wall, manifest = run_vlm(inputs, name, url, out)
    return pipeline_row(name, argv, wall, manifest, timed, scripted.calls[first:])


def part_pipeline(inputs: Path, executors: list[str], repeat: int, max_load: float, wait_s: float) -> dict[str, Any]:
    """The ``vlm`` pipeline over ``inputs`` with the scripted MinerU2.5 served over HTTP (and in process).

    One untimed local run over the first PDF warms the process up (imports, first use); then ``repeat`` rounds
    of every executor variant, interleaved so that load drift spreads over all; the median run (by wall time)
    of each variant is kept."""
    from docray.testing import mineru25_script
    from docray.testing.vlm_scripted import ScriptedVlm
    from docray.vlm_serve import VlmServer

    result: dict[str, Any] = {"inputs": str(inputs), "repeat": repeat, "runs": []}
    if "ray" in executors:
        from docray.pipelines.executors import init_ray

        began = time.perf_counter()
        init_ray()
        result["ray_init_seconds"] = round(time.perf_counter() - began, 2)
    scripted = ScriptedVlm(mineru25_script.rules())
    timed = TimedEngine(scripted)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in executors}
    with VlmServer(timed) as server, tempfile.TemporaryDirectory() as scratch:
        result["server"] = {"max_batch": server.max_batch, "batch_wait_ms": server.batch_wait_ms}
        warmup = Path(scratch) / "warmup"
        warmup.mkdir()
        (warmup / "first.pdf").symlink_to(sorted(inputs.rglob("*.pdf"))[0])
        began = time.perf_counter()
        pipeline_once("local", warmup, Path(scratch) / "warmup-out", server.url, timed, scripted)
        result["warmup_seconds"] = round(time.perf_counter() - began, 2)
        for round_ in range(repeat):
            for name in executors:
                load = wait_quiet(max_load, wait_s)
                row = pipeline_once(name, inputs, Path(scratch) / f"{name}-{round_}", server.url, timed, scripted)
                row.update(load, load_at_end=[round(x, 2) for x in os.getloadavg()])
                rows[name].append(row)
                print(f"pipeline {name}: {row['pages']} pages, {row['run_wall_seconds']:.2f} s, "
                      f"{row['pages_per_second']:.2f} pages/s, stages {row['ms_per_page_by_stage']}, "
                      f"{row['requests_per_page']} requests/page, batches {row['engine_batch_sizes']}", flush=True)  # fmt: skip
    for name, runs in rows.items():
        median = dict(sorted(runs, key=lambda r: r["run_wall_seconds"])[len(runs) // 2])
        median["run_wall_seconds_all"] = [r["run_wall_seconds"] for r in runs]
        median["vlm_stage_ms_per_page_all"] = [r["vlm_stage_ms_per_page"] for r in runs]
        result["runs"].append(median)
    return result


def encode_ms(image: Any, level: int, repeat: int = 3) -> tuple[float, int]:
    """Median milliseconds and bytes of encoding ``image`` as PNG at zlib ``level``."""
    times, size = [], 0
    for _ in range(repeat):
        out = io.BytesIO()
        began = time.perf_counter()
        image.save(out, format="PNG", compress_level=level)
        times.append(1000 * (time.perf_counter() - began))
        size = out.tell()
    return statistics.median(times), size


def part_reader(inputs: Path, dpi: float, max_load: float, wait_s: float) -> dict[str, Any]:
    """Where the vlm stage's own time goes, per page: decoding the page PNG, the layout image, block crops.

    Pages are rendered as the vlm pipeline's render stage does (``dpi``, PNG); :class:`PageReader` reads each
    with the scripted engine in process (its time inside ``generate`` is subtracted).
    """
    import pypdfium2 as pdfium
    from PIL import Image

    from docray.operators.render import RenderConfig
    from docray.operators.textlayer.pdf_image import render_page_image
    from docray.operators.vlmparse.prompts import load_prompt_set
    from docray.operators.vlmparse.reader import PageReader
    from docray.testing import mineru25_script
    from docray.testing.vlm_scripted import ScriptedVlm

    prompts = load_prompt_set("mineru25")
    layout_size = prompts.layout.image_size if prompts.layout else None
    timed = TimedEngine(ScriptedVlm(mineru25_script.rules()))
    reader = PageReader(timed, prompts)
    max_pixels = RenderConfig().max_pixels
    result: dict[str, Any] = {"dpi": dpi, "layout_image_size": layout_size, **wait_quiet(max_load, wait_s)}
    steps: dict[str, list[float]] = {k: [] for k in ("decode_page_png", "layout_resize", "layout_png_level6",
                                                       "layout_png_level3", "read_excluding_engine",
                                                       "blocks_and_parsing")}  # fmt: skip
    sizes: dict[str, list[int]] = {"page_png": [], "layout_png_level6": [], "layout_png_level3": []}
    for path in sorted(inputs.rglob("*.pdf")):
        document = pdfium.PdfDocument(str(path))
        for index in range(len(document)):
            data, _ = render_page_image(document[index], dpi, "png", 90, max_pixels)
            began = time.perf_counter()
            with Image.open(io.BytesIO(data)) as opened:
                page = opened.convert("RGB")
            steps["decode_page_png"].append(1000 * (time.perf_counter() - began))
            began = time.perf_counter()
            small = page.resize(tuple(layout_size), Image.BICUBIC) if layout_size else page
            steps["layout_resize"].append(1000 * (time.perf_counter() - began))
            for level in (6, 3):
                ms, size = encode_ms(small, level)
                steps[f"layout_png_level{level}"].append(ms)
                sizes[f"layout_png_level{level}"].append(size)
            timed.seconds = 0.0
            began = time.perf_counter()
            reader.read([page])
            read_ms = 1000 * (time.perf_counter() - began - timed.seconds)
            steps["read_excluding_engine"].append(read_ms)
            steps["blocks_and_parsing"].append(read_ms - steps["layout_resize"][-1] - steps["layout_png_level6"][-1])
            sizes["page_png"].append(len(data))
        document.close()
    result["pages"] = len(sizes["page_png"])
    result["ms_per_page_median"] = {k: round(statistics.median(v), 1) for k, v in steps.items()}
    result["ms_per_page_mean"] = {k: round(statistics.fmean(v), 1) for k, v in steps.items()}
    result["bytes_median"] = {k: round(statistics.median(v)) for k, v in sizes.items()}
    result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"reader: {result['pages']} pages, ms/page median {result['ms_per_page_median']}, "
          f"bytes {result['bytes_median']}", flush=True)  # fmt: skip
    return result


# --------------------------------------------------------------------------- parts 2 and 3: HTTP engine


def sample_requests() -> tuple[Any, Any]:
    """A text-block request and a layout request as the reader builds them, from a synthetic 200 dpi letter page
    full of text lines (the block is the region 0.1-0.9 x 0.16-0.30; the layout image is the page at 1036x1036)."""
    from PIL import Image, ImageDraw

    from docray.operators.vlmparse.mineru25 import crop_box
    from docray.operators.vlmparse.prompts import load_prompt_set
    from docray.operators.vlmparse.reader import PageReader, block_image, encode_png

    page = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(page)
    for line in range(115):
        draw.text((170, 60 + 18 * line), f"line {line}: the quick brown fox jumps over the lazy dog " * 3, fill="black")
    box = crop_box((0.1, 0.16, 0.9, 0.30), page.width, page.height)
    prompts = load_prompt_set("mineru25")
    reader = PageReader(engine=None, prompts=prompts)  # type: ignore[arg-type] - only request() is used
    text, layout = prompts.block_prompt("text"), prompts.layout
    assert layout is not None and layout.image_size is not None
    block = reader.request(encode_png(block_image(page, box, 0)), text.prompt, text.max_tokens)
    layout_png = encode_png(page.resize(tuple(layout.image_size), Image.BICUBIC))
    return block, reader.request(layout_png, layout.prompt, layout.max_tokens)


def block_request() -> Any:
    """The text-block request of :func:`sample_requests`."""
    return sample_requests()[0]


def round_trips(count: int = 30) -> list[dict[str, Any]]:
    """Median milliseconds of one request at a time (model answering at once) through HttpVlm + VlmServer."""
    from docray.models.vlm_http import HttpVlm, HttpVlmOptions
    from docray.testing.vlm_scripted import ScriptedVlm
    from docray.vlm_serve import VlmServer

    rows = []
    for variant, context in server_variants()[:2]:  # the backlog does not matter to one connection
        for name, request in zip(("block", "layout"), sample_requests()):
            for max_batch in (1, 8):  # 1: no batching wait; 8: the server's default (waits batch_wait_ms)
                engine = ScriptedVlm([], default="some recognised words")
                with context(), VlmServer(engine, max_batch=max_batch) as server:
                    client = HttpVlm(HttpVlmOptions(url=server.url, model="m", api_key_env=None, max_concurrency=1))
                    client.generate([request])
                    times = []
                    for _ in range(count):
                        began = time.perf_counter()
                        client.generate([request])
                        times.append(1000 * (time.perf_counter() - began))
                    client.close()
                rows.append({"server": variant, "request": name, "image_bytes": len(request.image),
                             "max_batch": max_batch, "batch_wait_ms": server.batch_wait_ms,
                             "ms_median": round(statistics.median(times), 1)})  # fmt: skip
                print(f"round trip {variant}, {name} ({len(request.image)} B), max_batch {max_batch}: "
                      f"{rows[-1]['ms_median']} ms", flush=True)  # fmt: skip
    return rows


def timed_generate(url: str, requests: list, **options: Any) -> tuple[float, list]:
    """Wall seconds of one ``HttpVlm.generate`` over ``requests`` (a fresh engine) and its responses."""
    from docray.models.vlm_http import HttpVlm, HttpVlmOptions

    engine = HttpVlm(HttpVlmOptions(url=url, model="scripted-vlm", api_key_env=None, **options))
    try:
        began = time.perf_counter()
        responses = engine.generate(requests)
        return time.perf_counter() - began, responses
    finally:
        engine.close()


def part_concurrency(count: int, delay: float, repeat: int, max_load: float, wait_s: float) -> dict[str, Any]:
    """Wall time of ``count`` block requests for client concurrency x server max_batch, model ``delay`` s per call
    (the median of ``repeat`` runs where the ideal time is short; each run opens fresh connections)."""
    from docray.testing.vlm_scripted import ScriptedVlm
    from docray.vlm_serve import VlmServer

    request = block_request()
    requests = [request] * count
    result: dict[str, Any] = {"requests": count, "delay_s_per_generate_call": delay, "request_image_bytes": len(request.image),
                              "runs": [], **wait_quiet(max_load, wait_s)}  # fmt: skip
    result["round_trip"] = round_trips()
    variants = server_variants()
    configs = [(variant, context, max_batch, concurrency) for variant, context in variants[:2]
               for max_batch in (1, 16) for concurrency in (1, 4, 16, 64) if max_batch > 1 or concurrency < 64]
    configs += [(variant, context, 16, concurrency) for variant, context in variants[2:] for concurrency in (4, 16, 64)]  # fmt: skip
    for variant, context, max_batch, concurrency in configs:
        bound = math.ceil(count / min(max_batch, concurrency)) * delay
        runs = []
        for _ in range(repeat if bound <= 4 else 1):  # the long rows are the model's sleeps: one run
            engine = ScriptedVlm([("Text Recognition", "some recognised words")], delay_s=delay)
            with context(), VlmServer(engine, max_batch=max_batch) as server:
                wall, responses = timed_generate(server.url, requests, max_concurrency=concurrency)
            runs.append((wall, engine.batch_sizes, server.max_in_flight, sum(r.error is not None for r in responses)))
        wall, sizes, in_flight, errors = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
        row = {
            "server": variant,
            "max_batch": max_batch,
            "max_concurrency": concurrency,
            "wall_s": round(wall, 3),
            "wall_s_all": [round(run[0], 3) for run in runs],
            "requests_per_s": round(count / wall, 1),
            "ideal_wall_s": round(bound, 2),
            "engine_calls": len(sizes),
            "engine_batch_sizes": dict(sorted(Counter(sizes).items())),
            "server_max_in_flight": in_flight,
            "errors": errors,
        }
        result["runs"].append(row)
        print(f"{variant}: concurrency {concurrency:>2}, max_batch {max_batch:>2}: {wall:6.2f} s (ideal {bound:.2f}, "
              f"runs {row['wall_s_all']}), batches {row['engine_batch_sizes']}", flush=True)  # fmt: skip
    result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def part_retry(count: int, delay: float, repeat: int, max_load: float, wait_s: float) -> dict[str, Any]:
    """Added wall time when the first N requests get 429 (Retry-After: 0), or 503 with the client's own backoff."""
    from docray.testing.vlm_scripted import Fault, FlakyUpstream, ScriptedVlm, _FlakyHandler, _FlakyHttp
    from docray.vlm_serve import VlmServer

    request = block_request()
    requests = [request] * count
    options = {"max_concurrency": 16, "max_retries": 10}
    cases = [("none", 0, None), ("429 Retry-After: 0", 16, Fault(429, {"Retry-After": "0"}, "slow down")),
             ("429 Retry-After: 0", 64, Fault(429, {"Retry-After": "0"}, "slow down")),
             ("503, client backoff 1 s", 16, Fault(503, {}, "overloaded"))]  # fmt: skip
    result: dict[str, Any] = {"requests": count, "delay_s_per_generate_call": delay, "server_max_batch": 16,
                              "client": options, "repeat": repeat, "proxy_and_server": "TCP_NODELAY, backlog 128",
                              "runs": [], **wait_quiet(max_load, wait_s)}  # fmt: skip
    engine = ScriptedVlm([("Text Recognition", "some recognised words")], delay_s=delay)
    # both servers answer with TCP_NODELAY and listen with a backlog of 128 (http.server's 5 drops connections
    # when 16 arrive at once: a SYN retry 1, 3 or 7 s later), so that the proxy adds little beside the retries
    queue = mock.patch.object(_FlakyHttp, "request_queue_size", 128)
    with nagle_off(_FlakyHandler), queue, tuned_server(), VlmServer(engine, max_batch=16) as server:
        for label, faults, fault in cases:
            walls, errors, attempts, messages = [], 0, 0, set()
            for _ in range(repeat):
                with FlakyUpstream(server.url, [fault] * faults if fault else []) as flaky:
                    wall, responses = timed_generate(flaky.url, requests, **options)
                    attempts = len(flaky.attempts_at("/v1/chat/completions"))
                walls.append(wall)
                errors += sum(r.error is not None for r in responses)
                messages |= {r.error for r in responses if r.error}
            row = {"fault": label, "faulty_answers": faults, "wall_s_median": round(statistics.median(walls), 3),
                   "wall_s_all": [round(w, 3) for w in walls], "attempts": attempts, "errors": errors,
                   "error_messages": sorted(messages)[:3]}  # fmt: skip
            result["runs"].append(row)
            print(f"retry {label} x{faults}: {row['wall_s_median']:.2f} s (runs {row['wall_s_all']}), "
                  f"{attempts} attempts, {errors} errors", flush=True)  # fmt: skip
    base = result["runs"][0]["wall_s_median"]
    for row in result["runs"]:
        row["added_s"] = round(row["wall_s_median"] - base, 3)
    result["sequential"] = retry_sequential(request, count, repeat)
    result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def retry_sequential(request: Any, count: int, repeat: int) -> list[dict[str, Any]]:
    """One request at a time, model answering at once: the cost of each 429 (Retry-After: 0) answer."""
    from docray.testing.vlm_scripted import Fault, FlakyUpstream, ScriptedVlm, _FlakyHandler
    from docray.vlm_serve import VlmServer, _Handler

    rows = []
    engine = ScriptedVlm([], default="some recognised words")
    with nagle_off(_Handler, _FlakyHandler), VlmServer(engine, max_batch=1) as server:
        for faults in (0, count // 4, count):
            walls = []
            for _ in range(repeat):
                with FlakyUpstream(server.url, [Fault(429, {"Retry-After": "0"}, "slow down")] * faults) as flaky:
                    wall, responses = timed_generate(flaky.url, [request] * count, max_concurrency=1, max_retries=count)
                assert not any(r.error for r in responses), "a request failed"
                walls.append(wall)
            rows.append({"faulty_answers": faults, "wall_s_median": round(statistics.median(walls), 3),
                         "wall_s_all": [round(w, 3) for w in walls]})  # fmt: skip
    for row in rows[1:]:
        row["ms_per_faulty_answer"] = round(1000 * (row["wall_s_median"] - rows[0]["wall_s_median"]) / row["faulty_answers"], 2)
        print(f"retry sequential x{row['faulty_answers']}: {row['wall_s_median']:.3f} s, "
              f"{row['ms_per_faulty_answer']} ms per 429", flush=True)  # fmt: skip
    return rows


# --------------------------------------------------------------------------- part 4: tiny transformers engine


def part_tiny(count: int, tokens: int, repeat: int, max_load: float, wait_s: float) -> dict[str, Any]:
    """New tokens/s of TransformersVlm on the tiny random Qwen2-VL, threads 1 and 2, batch 1 and 8."""
    import numpy as np
    from PIL import Image

    from docray.models.protocols import VlmRequest
    from docray.models.vlm_transformers import TransformersVlm, TransformersVlmOptions
    from docray.testing.tiny_vlm import save_tiny_qwen2_vl

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1036, 1036, 3), dtype=np.uint8))
    png = io.BytesIO()
    image.save(png, format="PNG")
    requests = [VlmRequest(image=png.getvalue(), prompt="\nText Recognition:", max_tokens=tokens) for _ in range(count)]
    result: dict[str, Any] = {"requests": count, "max_tokens": tokens, "image": "1036x1036 random RGB PNG",
                              "repeat": repeat, "runs": [], **wait_quiet(max_load, wait_s)}  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        folder = save_tiny_qwen2_vl(Path(scratch) / "tiny-qwen2-vl")
        result["model_bytes"] = sum(f.stat().st_size for f in folder.iterdir())
        for threads in (1, 2):
            engine = TransformersVlm.from_options(TransformersVlmOptions(model=str(folder), threads=threads, batch_size=1))
            inputs = engine.prompt_inputs(requests[:1])
            result["prompt_tokens"] = int(inputs["input_ids"].shape[1])
            result["image_tokens"] = int(inputs["image_grid_thw"].prod(-1).item() // 4)
            for batch in (1, 8):
                engine.options.batch_size = batch
                engine.generate(requests[:batch])  # warm-up
                walls, responses = [], []
                for _ in range(repeat):
                    began = time.perf_counter()
                    responses = engine.generate(requests)
                    walls.append(time.perf_counter() - began)
                full = sum(r.finish_reason == "length" for r in responses)
                wall = statistics.median(walls)
                row = {"threads": threads, "batch_size": batch, "wall_s_median": round(wall, 3),
                       "wall_s_all": [round(w, 3) for w in walls], "answers_at_max_tokens": full,
                       "new_tokens_per_s": round(full * tokens / wall, 1),
                       "s_per_request": round(wall / count, 4)}  # fmt: skip
                result["runs"].append(row)
                print(f"tiny threads {threads} batch {batch}: {wall:.2f} s for {count} x {tokens} tokens "
                      f"= {row['new_tokens_per_s']} tokens/s ({full}/{count} at max_tokens)", flush=True)  # fmt: skip
            engine.close()
    result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="concurrency,retry,reader,pipeline,tiny", help="comma-separated parts")
    parser.add_argument("--inputs", type=Path, default=DEFAULT_INPUTS, help="PDF folder for the pipeline part")
    parser.add_argument("--executors", default="local,local+nodelay,inprocess,ray",
                        help="pipeline runs: local, local+nodelay, inprocess, ray")
    parser.add_argument("--pipeline-repeat", type=int, default=3, help="rounds of pipeline runs (median kept)")
    parser.add_argument("--dpi", type=float, default=200.0, help="page render dpi of the reader part (vlm.yaml's)")
    parser.add_argument("--requests", type=int, default=64, help="requests of the concurrency and retry parts")
    parser.add_argument("--delay", type=float, default=0.2, help="scripted model seconds per generate call")
    parser.add_argument("--tiny-requests", type=int, default=16, help="requests per tiny-engine measurement")
    parser.add_argument("--tiny-tokens", type=int, default=64, help="new tokens per tiny-engine answer")
    parser.add_argument("--repeat", type=int, default=3, help="runs per short concurrency / retry / tiny measurement (median)")
    parser.add_argument("--max-load", type=float, default=1.5, help="wait for a 1-minute load average below this")
    parser.add_argument("--wait-s", type=float, default=300.0, help="longest wait for a quiet machine per part")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    parts = args.parts.split(",")
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    result: dict[str, Any] = {
        **previous,  # parts not run now keep their earlier results
        "note": "no accuracy: MinerU2.5's weights are not available; every model here is scripted or tiny and random",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},  # fmt: skip
    }
    commands = dict(previous.get("commands", {}))
    command = " ".join([".venv/bin/python", "benchmarks/bench_vlm.py", *sys.argv[1:]])
    if "concurrency" in parts:
        result["concurrency"] = part_concurrency(args.requests, args.delay, args.repeat, args.max_load, args.wait_s)
        commands["concurrency"] = command
    if "retry" in parts:
        result["retry"] = part_retry(args.requests, args.delay, args.repeat, args.max_load, args.wait_s)
        commands["retry"] = command
    if "reader" in parts:
        result["reader"] = part_reader(args.inputs, args.dpi, args.max_load, args.wait_s)
        commands["reader"] = command
    if "pipeline" in parts:
        result["pipeline"] = part_pipeline(args.inputs, args.executors.split(","), args.pipeline_repeat, args.max_load,
                                           args.wait_s)
        commands["pipeline"] = command
    if "tiny" in parts:
        result["tiny"] = part_tiny(args.tiny_requests, args.tiny_tokens, args.repeat, args.max_load, args.wait_s)
        commands["tiny"] = command
    result["commands"] = commands
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
