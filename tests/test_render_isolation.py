"""Fault isolation and bounded memory in ``render``: isolated_map on plain functions, the operator on real slow
and long PDFs, and the fast pipeline end to end (local and real Ray) with a PDF that times out."""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

import docray.schema
from docray.datamodel import Span
from docray.operators.isolation import (
    Chunk,
    Completed,
    FailureKind,
    IsolationFailure,
    IsolationStats,
    Raised,
    RemoteError,
    direct_map,
    isolated_map,
)
from docray.operators.render import RenderConfig, RenderOperator
from docray.pipelines.executors import LocalExecutor, RayExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.schema import PAGES, ErrorCode, Status
from docray.testing.isolation_probes import behave
from docray.testing.pdfs import simple_pdf, two_column_article
from docray.testing.slow_pdfs import pdf_with_slow_page, slow_pdf

# The heavy page needs 12-30 s of pdfium and span grouping on this 2-core machine (more under load),
# light documents well under 0.1 s: a 3 s limit separates them with a wide margin either way.
TIMEOUT_S = 3.0

# ----------------------------------------------------------------------------- helpers


def _events(items, **kwargs) -> tuple[list[tuple[int, object]], IsolationStats, float]:
    stats = IsolationStats()
    start = time.perf_counter()
    events = list(isolated_map(behave, items, stats=stats, **kwargs))
    return events, stats, time.perf_counter() - start


def _gone(pids: list[int]) -> bool:
    """None of ``pids`` runs any more (not even as a zombie)."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
        return False
    return True


def _isolated_children() -> list[str]:
    """Processes still running under this process's multiprocessing fork server, and zombies among our children."""
    found = []
    for proc in psutil.Process().children():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                found.append(f"zombie {proc.pid}")
            elif "multiprocessing.forkserver" in " ".join(proc.cmdline()):
                found += [f"{child.pid} {child.status()}" for child in proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


# ----------------------------------------------------------------------------- isolated_map


def test_chunks_stream_in_order_with_one_terminal_event_per_item_from_one_child():
    events, stats, _ = _events([("chunks", 3), ("chunks", 0), ("chunks", 2)], timeout_s=30)
    assert events == [
        (0, Chunk("3:0")), (0, Chunk("3:1")), (0, Chunk("3:2")), (0, Completed()),
        (1, Completed()),
        (2, Chunk("2:0")), (2, Chunk("2:1")), (2, Completed()),
    ]  # fmt: skip
    assert len(stats.child_pids) == 1, "one child per call, not per item"
    assert list(direct_map(behave, [("chunks", 3), ("chunks", 0), ("chunks", 2)])) == events


def test_a_hanging_item_times_out_and_the_next_items_go_to_a_fresh_child():
    events, stats, elapsed = _events([("chunks", 1), ("hang", None), ("chunks", 2)], timeout_s=1.0)
    assert events[:3] == [(0, Chunk("1:0")), (0, Completed()), (1, Chunk("started"))]
    index, failure = events[3]
    assert index == 1 and isinstance(failure, IsolationFailure) and failure.kind is FailureKind.TIMEOUT
    assert "1 s" in failure.detail
    assert events[4:] == [(2, Chunk("2:0")), (2, Chunk("2:1")), (2, Completed())]
    assert len(stats.child_pids) == 2 and 1.0 <= elapsed < 1.0 + sum(stats.start_seconds) + 10
    assert _gone(stats.child_pids)


def test_a_segfault_is_a_crash_of_that_item_only():
    events, stats, _ = _events([("segv", None), ("chunks", 1)], timeout_s=30)
    assert events[0] == (0, Chunk("before the crash"))
    index, failure = events[1]
    assert index == 0 and isinstance(failure, IsolationFailure) and failure.kind is FailureKind.CRASHED
    assert "SIGSEGV" in failure.detail
    assert events[2:] == [(1, Chunk("1:0")), (1, Completed())]
    assert len(stats.child_pids) == 2 and _gone(stats.child_pids)
    # without a deadline a crash is still isolated
    events, _, _ = _events([("segv", None), ("chunks", 1)], timeout_s=None)
    assert isinstance(events[1][1], IsolationFailure) and events[-1] == (1, Completed())


def test_an_exception_is_an_ordinary_error_of_the_item_and_the_child_goes_on():
    events, stats, _ = _events([("raise", "bad input 7"), ("docray", "no xref"), ("chunks", 1)], timeout_s=30)
    assert events[0] == (0, Chunk("before the error"))
    raised = events[1][1]
    assert events[1][0] == 0 and isinstance(raised, Raised)
    assert isinstance(raised.error, ValueError) and str(raised.error) == "bad input 7"
    assert "in behave" in raised.traceback and "ValueError: bad input 7" in raised.traceback
    index, unpicklable = events[2]
    assert index == 1 and isinstance(unpicklable, Raised) and isinstance(unpicklable.error, RemoteError)
    assert str(unpicklable.error) == "DocrayError: no xref"
    assert events[3:] == [(2, Chunk("1:0")), (2, Completed())]
    assert len(stats.child_pids) == 1, "an exception is not a crash: the same child goes on"
    direct = list(direct_map(behave, [("raise", "bad input 7")]))
    assert isinstance(direct[1][1], Raised) and str(direct[1][1].error) == "bad input 7"


def test_no_child_outlives_the_call_even_when_the_consumer_stops_early():
    events, stats, _ = _events([("hang", None), ("segv", None), ("chunks", 1)], timeout_s=0.5)
    assert [type(e).__name__ for _, e in events] == [
        "Chunk",
        "IsolationFailure",
        "Chunk",
        "IsolationFailure",
        "Chunk",
        "Completed",
    ]
    stats_early = IsolationStats()
    stream = isolated_map(behave, [("hang", None), ("chunks", 1)], timeout_s=60, stats=stats_early)
    assert next(stream) == (0, Chunk("started"))
    stream.close()  # the child is busy on a hanging item: it is killed, not waited for
    assert _gone(stats.child_pids + stats_early.child_pids)
    assert _isolated_children() == []


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        list(isolated_map(behave, [("chunks", 1)], timeout_s=0))


# ----------------------------------------------------------------------------- the render operator


def _doc(data: bytes, name: str) -> dict:
    return {
        "doc_id": hashlib.sha256(data).hexdigest(), "source": f"memory://{name}", "name": name,
        "mime": "application/pdf", "kind": "pdf", "size_bytes": len(data), "bytes": data,
        "status": Status.OK.value, "error": None, "error_code": None, "timings": {"ingest": 0.25},
    }  # fmt: skip


def _render(docs: list[dict], **config) -> list[pa.Table]:
    operator = RenderOperator({"op": "render", **config}, output_schema=PAGES)
    tables = list(operator(pa.Table.from_pylist(docs, schema=docray.schema.DOCUMENTS)))
    assert all(t.schema.equals(PAGES) for t in tables)
    return tables


def _by_name(tables: list[pa.Table]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in pa.concat_tables(tables).to_pylist():
        grouped.setdefault(row["name"], []).append(row)
    return grouped


def test_config_defaults_and_limits():
    config = RenderConfig()
    assert (config.timeout_s, config.segment_pages) == (120, 64)
    assert RenderConfig(timeout_s=None).timeout_s is None
    for bad in ({"timeout_s": 0}, {"segment_pages": 0}):
        with pytest.raises(ValueError):
            RenderConfig(**bad)


def test_a_slow_pdf_times_out_while_the_documents_around_it_render():
    docs = [_doc(simple_pdf(2), "before"), _doc(slow_pdf(), "slow"), _doc(simple_pdf(3), "after")]
    start = time.perf_counter()
    pages = _by_name(_render(docs, image_format="png", dpi=72, timeout_s=TIMEOUT_S))
    elapsed = time.perf_counter() - start
    (slow,) = pages["slow"]
    assert (slow["page_idx"], slow["status"], slow["error_code"]) == (-1, "error", ErrorCode.RENDER_TIMEOUT.value)
    assert "render.timeout_s=3 s" in slow["error"] and slow["error"].startswith("render: ")
    timings = dict(slow["timings"])
    assert timings["ingest"] == 0.25 and timings["render"] >= TIMEOUT_S
    for name, count in (("before", 2), ("after", 3)):
        assert [p["page_idx"] for p in pages[name]] == list(range(count))
        assert all(p["status"] == "ok" and p["image"] for p in pages[name])
        assert Span.from_row(pages[name][0]["spans"][0]).text == "Hello from page 1"
    assert elapsed < TIMEOUT_S + 30, "the slow document costs about the limit, not its full render time"


def test_a_timeout_mid_document_keeps_the_pages_already_emitted():
    docs = [_doc(pdf_with_slow_page(before=2, after=1), "mixed"), _doc(simple_pdf(1), "next")]
    pages = _by_name(_render(docs, image_format="none", timeout_s=TIMEOUT_S, segment_pages=1))
    mixed = pages["mixed"]
    assert [(p["page_idx"], p["status"], p["error_code"]) for p in mixed] == [
        (0, "ok", None), (1, "ok", None),
        (2, "error", "render_timeout"), (3, "error", "render_timeout"),
    ]  # fmt: skip
    assert mixed[2]["error"].startswith("render: page 2: not rendered: no progress within render.timeout_s=3 s")
    assert "after page 1" in mixed[3]["error"] and mixed[3]["num_pages"] == 4
    assert [dict(p["timings"]).get("ingest") for p in mixed] == [0.25, None, None, None], "earlier timings once"
    assert [(p["page_idx"], p["status"]) for p in pages["next"]] == [(0, "ok")]


def _isolated_render_processes() -> list[psutil.Process]:
    """Children of this process's multiprocessing fork server (the isolated render processes)."""
    found = []
    for proc in psutil.Process().children():
        try:
            if "multiprocessing.forkserver" in " ".join(proc.cmdline()):
                found += proc.children()
        except psutil.NoSuchProcess:
            continue
    return found


def _segfault_busy_child(after_cpu_s: float, done: threading.Event) -> None:
    """SIGSEGV the first isolated render process that has used ``after_cpu_s`` of CPU (on the heavy page)."""
    while not done.is_set():
        for proc in _isolated_render_processes():
            try:
                if sum(proc.cpu_times()[:2]) >= after_cpu_s:
                    proc.send_signal(signal.SIGSEGV)
                    return
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.05)


def test_a_crash_mid_document_fails_the_remaining_pages_and_the_next_document_renders():
    docs = [_doc(pdf_with_slow_page(before=2, after=1), "crashing"), _doc(simple_pdf(2), "next")]
    done = threading.Event()
    killer = threading.Thread(target=_segfault_busy_child, args=(1.5, done), daemon=True)
    killer.start()
    try:
        pages = _by_name(_render(docs, image_format="none", timeout_s=120, segment_pages=1))
    finally:
        done.set()
        killer.join(5)
    crashing = pages["crashing"]
    assert [(p["page_idx"], p["error_code"]) for p in crashing] == [
        (0, None),
        (1, None),
        (2, "render_crashed"),
        (3, "render_crashed"),
    ]
    assert (
        "SIGSEGV" in crashing[2]["error"] and "crashed while rendering the pages after page 1" in crashing[2]["error"]
    )
    assert [p["status"] for p in pages["next"]] == ["ok", "ok"]


def test_a_long_pdf_comes_out_in_tables_of_at_most_segment_pages_rows():
    long_pdf = simple_pdf(1200)
    tables = _render([_doc(simple_pdf(3), "short"), _doc(long_pdf, "long")], image_format="none", segment_pages=100)
    assert len(tables) == 13 and all(0 < t.num_rows <= 100 for t in tables)
    rows = pa.concat_tables(tables).select(["name", "page_idx", "status", "timings"]).to_pylist()
    assert [(r["name"], r["page_idx"]) for r in rows] == [("short", i) for i in range(3)] + [
        ("long", i) for i in range(1200)
    ]
    assert all(r["status"] == "ok" for r in rows)
    assert sum(dict(r["timings"]).get("ingest", 0) for r in rows) == 0.5, "one row per document carries ingest"


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("isolation_corpus")
    (root / "article.pdf").write_bytes(two_column_article(pages=2).pdf)
    (root / "simple.pdf").write_bytes(simple_pdf(2))
    (root / "slow.pdf").write_bytes(slow_pdf())
    return root


def _run_fast(inputs: list[str], out: Path, executor, overrides: list[str]):
    spec = apply_overrides(load_pipeline("fast"), [f"render.timeout_s={TIMEOUT_S}", *overrides])
    return run_pipeline(spec, inputs, str(out), executor=executor)


def _documents(out: Path) -> dict[str, dict]:
    return {d["name"]: d for d in pads.dataset(out / "documents", format="parquet").to_table().to_pylist()}


def test_fast_pipeline_locally_turns_the_slow_pdf_into_a_timeout_row(tmp_path, corpus):
    (tmp_path / "mixed.pdf").write_bytes(pdf_with_slow_page(before=2, after=1))
    report = _run_fast(
        [str(corpus), str(tmp_path / "mixed.pdf")], tmp_path / "out", LocalExecutor(), ["render.segment_pages=2"]
    )
    docs = _documents(tmp_path / "out")
    assert report.complete and len(docs) == report.inputs == 4
    assert (docs["slow"]["status"], docs["slow"]["error_code"]) == ("error", "render_timeout")
    assert "render.timeout_s=3 s" in docs["slow"]["error"]
    assert (docs["mixed"]["status"], docs["mixed"]["error_code"]) == ("partial", "render_timeout")
    pages = pads.dataset(tmp_path / "out" / "pages", format="parquet").to_table().to_pylist()
    mixed = sorted((p["page_idx"], p["status"], p["error_code"]) for p in pages if p["name"] == "mixed")
    assert mixed == [(0, "ok", None), (1, "ok", None), (2, "error", "render_timeout"), (3, "error", "render_timeout")]
    assert docs["article"]["status"] == docs["simple"]["status"] == "ok"


@pytest.mark.ray
def test_fast_pipeline_on_ray_turns_the_slow_pdf_into_a_timeout_row(tmp_path, corpus):
    report = _run_fast([str(corpus)], tmp_path / "out", RayExecutor(num_cpus=2, progress_bars=False), [])
    docs = _documents(tmp_path / "out")
    assert report.complete and len(docs) == report.inputs == 3
    assert (docs["slow"]["status"], docs["slow"]["error_code"]) == ("error", "render_timeout")
    assert docs["article"]["status"] == docs["simple"]["status"] == "ok"
    assert report.stats.by_status == {"ok": 2, "error": 1}
