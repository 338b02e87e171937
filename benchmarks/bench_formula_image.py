"""Image formula recogniser: latency per formula (batch 1 and batch 8) and KaTeX render-equal rate on TeX-rendered
display formulas (the project's formula set, :mod:`docray.testing.formula_set`, compiled with pdflatex).

    .venv/bin/python benchmarks/bench_formula_image.py [--count 30] [--dpi 144] [--threads 2]

Each formula page is rendered at ``--dpi`` (the render operator's default is 144) and cropped like the formula
operator does: the union of the page's glyph and rule boxes grown by ``--margin`` points.  "Render-equal" means
both the source and the recognised LaTeX render in KaTeX and their symbol structures are identical.  CPU time of
this process is reported beside wall time: on a shared machine the wall time includes waiting for a core.
Writes ``benchmarks/results/formula_image.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from docray.evaluation.katex_math import KatexRenderer
from docray.models.formula_junia import JuniaFormula, JuniaOptions
from docray.testing.formula_set import FORMULAS, build_formula_set, formula_crops

RESULTS = Path(__file__).resolve().parent / "results" / "formula_image.json"


def spread(items: tuple, count: int) -> tuple:
    """``count`` items taken evenly over ``items`` (so every category of the set is represented)."""
    if count >= len(items):
        return items
    return tuple(items[round(i * (len(items) - 1) / (count - 1))] for i in range(count))


def latencies(engine: JuniaFormula, crops: list[np.ndarray], batch: int) -> dict:
    """Seconds per formula: each batch's wall time divided by its size; CPU seconds per formula overall."""
    engine.options.batch_size = batch
    engine.recognize(crops[:batch])  # warm up
    per_formula, outputs = [], []
    cpu = time.process_time()
    for start in range(0, len(crops), batch):
        chunk = crops[start : start + batch]
        began = time.perf_counter()
        outputs += engine.recognize(chunk)
        per_formula += [(time.perf_counter() - began) / len(chunk)] * len(chunk)
    cpu = (time.process_time() - cpu) / len(crops)
    ordered = sorted(per_formula)
    return {
        "batch_size": batch,
        "mean_s": round(statistics.fmean(per_formula), 4),
        "p50_s": round(statistics.median(per_formula), 4),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
        "cpu_s_per_formula": round(cpu, 4),
        "per_formula_s": [round(t, 4) for t in per_formula],
        "outputs": [o.latex for o in outputs],
        "scores": [round(o.score, 4) for o in outputs],
    }


def evaluate(engine: JuniaFormula, renderer: KatexRenderer, formulas: tuple, crops: list[np.ndarray]) -> dict:
    """Latency at batch 1 and 8, then the render-equal rate of the batch-8 outputs (batch 1 must read the same)."""
    runs = [latencies(engine, crops, batch) for batch in (1, 8)]
    found = runs[1]["outputs"]
    renderer.render_many([latex for _, latex in formulas] + found)
    rows, equal = [], 0
    for (category, source), latex, score, seconds in zip(formulas, found, runs[1]["scores"], runs[0]["per_formula_s"]):
        wanted = renderer.symbols(source)
        same = isinstance(wanted, list) and wanted == renderer.symbols(latex)
        equal += same
        rows.append({"category": category, "source": source, "recognised": latex, "score": score,
                     "render_equal": same, "batch1_s": seconds})  # fmt: skip
    same_outputs = runs[0]["outputs"] == runs[1]["outputs"]
    for run in runs:
        del run["outputs"], run["scores"], run["per_formula_s"]
    return {"latency": runs, "render_equal": equal, "render_equal_rate": round(equal / len(formulas), 3),
            "batch1_equals_batch8": same_outputs, "per_formula": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="formulas taken evenly from the formula set")
    parser.add_argument("--dpi", type=float, nargs="+", default=[144.0, 300.0], help="page image resolutions")
    parser.add_argument("--margin", type=float, default=2.0, help="points kept around each formula")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    renderer = KatexRenderer.find()
    if renderer is None:
        raise SystemExit("node/KaTeX missing: npm ci --prefix tools/katex")
    formulas = spread(FORMULAS, args.count)
    pdf = build_formula_set(formulas).pdf
    began = time.perf_counter()
    engine = JuniaFormula.from_options(JuniaOptions(threads=args.threads, max_tokens=args.max_tokens))
    load_s = time.perf_counter() - began
    result = {
        "engine": "latex_ocr_junia (docray torch re-implementation, greedy + KV cache)",
        "command": "python benchmarks/bench_formula_image.py " + " ".join(sys.argv[1:]),
        "formulas": len(formulas),
        "margin_pt": args.margin,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_s": round(load_s, 2),
        "by_dpi": {},
    }
    for dpi in args.dpi:
        run = evaluate(engine, renderer, formulas, formula_crops(pdf, dpi, args.margin))
        run["load_average"] = os.getloadavg()
        result["by_dpi"][f"{dpi:g}"] = run
        for timing in run["latency"]:
            print(
                f"{dpi:g} dpi, batch {timing['batch_size']}: mean {timing['mean_s']:.3f} s, p50 {timing['p50_s']:.3f} s, "
                f"p95 {timing['p95_s']:.3f} s per formula (CPU {timing['cpu_s_per_formula']:.3f} s)"
            )
        print(
            f"{dpi:g} dpi: render-equal {run['render_equal']}/{len(formulas)}, batch 1 == batch 8: {run['batch1_equals_batch8']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
