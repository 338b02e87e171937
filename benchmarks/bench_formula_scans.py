"""Scanned display formulas end to end: the standard pipeline on page images, LaTeX from the image recogniser.

    .venv/bin/python benchmarks/bench_formula_scans.py [--count 40] [--per-page 4] [--dpi 200 300]
                                                       [--crop-dpi default none] [--set stage.key=value ...]

Builds paper-like pages (:mod:`docray.testing.formula_scans`: paragraphs and ``--per-page`` display formulas taken
over every category of the formula set, compiled with pdflatex), rasterises each page at every ``--dpi`` with a
scan's look (grey, rotated < 0.4 degree, blurred, noisy; ``--clean`` for none) into PNGs (no text layer), and runs
the standard pipeline over them in this process (LocalExecutor) with ``formula.image_model.kind=latex_ocr_junia``.
Each ground-truth formula is matched to the display formula of its page whose box overlaps it most (both boxes at
least half covered by their intersection); a match renders equal when both LaTeX strings render in KaTeX with
identical symbol structures.  A miss is "not detected" (no box overlaps), "box" (a box overlaps but is cut, split or
merged with another), "no LaTeX" or "misread".

Latency: every call of the recogniser is timed (wall and this process's CPU) and its crops counted; s/page is the
wall time of each page through the whole pipeline, the first page (model loading) left out of the median.
``--crop-dpi none`` runs ``formula.crop_dpi=null`` (no resampling of crops) beside the default (300 dpi).
Writes ``benchmarks/results/formula_scans.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from docray.evaluation.katex_math import KatexRenderer
from docray.models.formula_junia import JuniaFormula
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.testing.formula_scans import ScanPage, build_paper, pick_formulas, scan_image

RESULTS = Path(__file__).resolve().parent / "results" / "formula_scans.json"
MIN_COVER = 0.5  # a match: the intersection covers at least this much of both boxes
CUT = 0.9  # a matched box covering less of the formula than this is reported as "cut"


class RecogniserClock:
    """Times every ``JuniaFormula.recognize`` call of this process (the pipeline's actor is created inside)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self._original = JuniaFormula.recognize

    def __enter__(self) -> RecogniserClock:
        original, calls = self._original, self.calls

        def timed(engine, images):  # type: ignore[no-untyped-def]
            wall, cpu = time.perf_counter(), time.process_time()
            result = original(engine, images)
            calls.append({"crops": len(images), "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                          "pixels": [list(i.shape[:2]) for i in images]})  # fmt: skip
            return result

        JuniaFormula.recognize = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        JuniaFormula.recognize = self._original  # type: ignore[method-assign]


def cover(a: tuple, b: tuple) -> tuple[float, float]:
    """Share of ``a`` and of ``b`` covered by their intersection."""
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0, 0.0
    area = lambda box: max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))  # noqa: E731
    return w * h / area(a), w * h / area(b)


def match_page(truth: tuple, found: list[dict]) -> list[dict]:
    """Per ground-truth formula: the found display formula matched to it (or why none), see the module docstring."""
    rows, used = [], set()
    for formula in truth:
        overlaps = [(cover(formula.bbox, f["bbox"]), k) for k, f in enumerate(found)]
        overlaps = [(c, k) for c, k in overlaps if c[0] > 0]
        good = [(c, k) for c, k in overlaps if min(c) >= MIN_COVER and k not in used]
        row = {"category": formula.category, "source": formula.latex, "truth_bbox": [round(v, 1) for v in formula.bbox]}
        if good:
            (mine, theirs), k = max(good, key=lambda item: min(item[0]))
            used.add(k)
            row.update(found=True, bbox=[round(v, 1) for v in found[k]["bbox"]], latex=found[k]["latex"],
                       score=round(found[k]["score"] or 0.0, 4), covered=round(mine, 3), cut=mine < CUT)  # fmt: skip
        else:
            row.update(found=False, overlapping_boxes=len(overlaps))
        rows.append(row)
    return rows


def score(pages: list[ScanPage], out: Path, renderer: KatexRenderer) -> dict:
    """Match and render-compare every formula of ``pages`` against the run's pages table in ``out``."""
    table = pq.read_table(out / "pages", columns=["name", "page_idx", "formulas", "timings", "status", "error"])
    by_name = {row["name"]: row for row in table.to_pylist()}
    rows, extra = [], 0
    for index, page in enumerate(pages):
        record = by_name.get(f"page_{index:03d}") or by_name.get(f"page_{index:03d}.png") or {}
        found = [f for f in record.get("formulas") or [] if f["kind"] == "display"]
        matched = match_page(page.formulas, found)
        extra += len(found) - sum(r["found"] for r in matched)
        for row in matched:
            row["page"] = index
        rows += matched
    recognised = [r["latex"] for r in rows if r.get("latex")]
    renderer.render_many([r["source"] for r in rows] + recognised)
    for row in rows:
        wanted = renderer.symbols(row["source"])
        row["render_equal"] = (
            bool(row.get("latex")) and isinstance(wanted, list) and wanted == renderer.symbols(row["latex"])
        )
        row["miss"] = None if row["render_equal"] else _miss(row)
    misses: dict[str, int] = {}
    for row in rows:
        if row["miss"]:
            misses[row["miss"]] = misses.get(row["miss"], 0) + 1
    timings = [dict(r["timings"] or {}) for r in table.to_pylist()]
    return {
        "formulas": len(rows),
        "boxes_found": sum(r["found"] for r in rows),
        "boxes_cut": sum(bool(r.get("cut")) for r in rows),
        "extra_boxes": extra,
        "render_equal": sum(r["render_equal"] for r in rows),
        "misses": misses,
        "stage_s_per_page": {
            k: round(statistics.fmean(t.get(k, 0.0) for t in timings), 3)
            for k in sorted({k for t in timings for k in t})
        },
        "page_errors": [r["error"] for r in table.to_pylist() if r["error"]],
        "per_formula": rows,
    }


def _miss(row: dict) -> str:
    if not row["found"]:
        return "box (cut/split/merged)" if row["overlapping_boxes"] else "not detected"
    return "no LaTeX" if not row.get("latex") else "misread"


def run(pages: list[ScanPage], overrides: list[str], renderer: KatexRenderer) -> dict:
    """The standard pipeline over ``pages`` (one PNG each) with ``overrides``, scored and timed."""
    spec = apply_overrides(load_pipeline("standard"), ["formula.image_model.kind=latex_ocr_junia", *overrides])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = []
        for index, page in enumerate(pages):
            path = folder / "in" / f"page_{index:03d}.png"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(page.png)
            inputs.append(str(path))
        ticks: list[float] = []
        executor = LocalExecutor(progress=lambda done, stats: ticks.append(time.perf_counter()))
        with RecogniserClock() as clock:
            began = time.perf_counter()
            report = run_pipeline(spec, inputs, str(folder / "out"), executor=executor)
            wall = time.perf_counter() - began
        result = score(pages, folder / "out", renderer)
    page_s = [b - a for a, b in zip([began, *ticks], ticks)]
    crops = sum(c["crops"] for c in clock.calls)
    recogniser = sum(c["wall_s"] for c in clock.calls)
    return {
        "overrides": ["formula.image_model.kind=latex_ocr_junia", *overrides],
        **{k: v for k, v in result.items() if k != "per_formula"},
        "crops": crops,
        "recogniser_calls": len(clock.calls),
        "recogniser_s_per_formula": round(recogniser / max(1, crops), 3),
        "recogniser_cpu_s_per_formula": round(sum(c["cpu_s"] for c in clock.calls) / max(1, crops), 3),
        "recogniser_s_per_call": [round(c["wall_s"], 3) for c in clock.calls],
        "crop_px_median": [statistics.median(p[i] for c in clock.calls for p in c["pixels"]) for i in (0, 1)]
        if crops
        else None,
        "pipeline_wall_s": round(wall, 2),
        "pages": report.stats.pages,
        "s_per_page_first": round(page_s[0], 2) if page_s else None,
        "s_per_page_median_rest": round(statistics.median(page_s[1:]), 2) if len(page_s) > 1 else None,
        "s_per_page_mean_all": round(wall / max(1, len(pages)), 2),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "per_formula": result["per_formula"],
    }


def wait_for_quiet(limit: float, timeout_s: float = 600.0, every_s: float = 30.0) -> list[float]:
    """Poll the 1-minute load average until it is below ``limit`` (or ``timeout_s`` passed); the load seen."""
    began = time.monotonic()
    while os.getloadavg()[0] >= limit and time.monotonic() - began < timeout_s:
        print(f"load {os.getloadavg()[0]:.2f} >= {limit}: waiting", flush=True)
        time.sleep(every_s)
    return [round(v, 2) for v in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="formulas, taken over every category of the set")
    parser.add_argument("--per-page", type=int, default=4)
    parser.add_argument("--dpi", type=float, nargs="+", default=[200.0, 300.0], help="scan resolutions")
    parser.add_argument("--crop-dpi", nargs="+", default=["default", "none"],
                        help="formula.crop_dpi settings: 'default' (300) and/or 'none' (no resampling; only run "
                             "below 300 dpi, where it differs)")  # fmt: skip
    parser.add_argument("--clean", action="store_true", help="no scan effects (rotation, blur, noise)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra pipeline override")
    parser.add_argument(
        "--quiet-load", type=float, default=None, help="wait until the 1-min load average is below this"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    renderer = KatexRenderer.find()
    if renderer is None:
        raise SystemExit("node/KaTeX missing: npm ci --prefix tools/katex")
    pdf, truth = build_paper(pick_formulas(args.count), args.per_page)
    load_before = wait_for_quiet(args.quiet_load) if args.quiet_load else [round(v, 2) for v in os.getloadavg()]
    result = {
        "command": "python benchmarks/bench_formula_scans.py " + " ".join(sys.argv[1:]),
        "engine": "latex_ocr_junia in the standard pipeline (layout PicoDet-CDLA equation boxes -> formula stage crops)",
        "formulas": sum(len(p) for p in truth),
        "pages": len(truth),
        "categories": sorted({f.category for p in truth for f in p}),
        "scan_effects": not args.clean,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_average_at_start": load_before,
        "runs": [],
    }
    for dpi in args.dpi:
        pages = [ScanPage(scan_image(pdf, i, dpi, not args.clean), dpi, formulas) for i, formulas in enumerate(truth)]
        for crop in args.crop_dpi:
            if crop == "none" and dpi >= 300:
                continue
            overrides = [*args.overrides, *(["formula.crop_dpi=null"] if crop == "none" else [])]
            outcome = run(pages, overrides, renderer)
            result["runs"].append({"dpi": dpi, "crop_dpi": None if crop == "none" else "default (300)", **outcome})
            print(row_text(result["runs"][-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table_text(result["runs"]))
    print(f"-> {args.out}")


def row_text(run: dict) -> str:
    misses = ", ".join(f"{k} {v}" for k, v in sorted(run["misses"].items())) or "-"
    return (
        f"| {run['dpi']:g} | {run['crop_dpi'] or 'none'} | {run['formulas']} | {run['boxes_found']} ({run['boxes_cut']} cut, "
        f"{run['extra_boxes']} extra) | {run['render_equal']}/{run['formulas']} | {run['recogniser_s_per_formula']:.2f} "
        f"({run['recogniser_cpu_s_per_formula']:.2f} CPU) | {run['s_per_page_median_rest']} ({run['s_per_page_first']} first) | {misses} |"
    )


def table_text(runs: list[dict]) -> str:
    head = ("| scan dpi | crop dpi | formulas | boxes found | render-equal | recogniser s/formula | pipeline s/page (median) | misses |\n"
            "|---|---|---|---|---|---|---|---|")  # fmt: skip
    return "\n".join([head, *(row_text(r) for r in runs)])


if __name__ == "__main__":
    main()
