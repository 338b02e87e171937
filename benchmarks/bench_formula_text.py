"""Formula LaTeX rebuilt from the text layer (``docray.operators.formula_text``) on the project's display-formula set,
in every font variant, and how well its confidence tells formulas from bad regions.

Usage (from the repository root; needs pdflatex and KaTeX, ``make install``):

    .venv/bin/python benchmarks/bench_formula_text.py [--repeat 5] [--fonts cm,pazo,...] [--out benchmarks/results/formula_text.json]

For each font variant (:data:`docray.testing.formula_set.FONT_VARIANTS`: Computer Modern, Palatino/mathpazo,
Times/mathptmx, txfonts, pxfonts) compiles :data:`docray.testing.formula_set.FORMULAS` (one display formula per page),
reads each page's glyphs and rules, and rebuilds the LaTeX with ``reconstruct_latex``. Reports per variant the share
whose KaTeX-rendered symbol structure equals the source's (with the failures and per-category counts), the share
with confidence >= 0.5, the reconstruction latency per formula (glyph extraction excluded; best of ``--repeat`` runs
per formula: mean, p50, p95, max in milliseconds), and on the bad regions of
:mod:`docray.testing.formula_bad_set` the share below 0.5 per kind (``good`` regions: the share at or above 0.5).
Prints the JSON summary and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "formula_text.json"


def _variant(fonts: str, renderer, repeat: int) -> dict:
    from docray.operators.formula_text import reconstruct_latex
    from docray.testing.formula_bad_set import context_regions
    from docray.testing.formula_set import build_formula_set, formula_regions

    formula_set = build_formula_set(fonts=fonts)
    results, timings = [], []
    for glyphs, rules in formula_regions(formula_set.pdf):
        best = float("inf")
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            result = reconstruct_latex(glyphs, rules)
            best = min(best, time.perf_counter() - start)
        results.append(result)
        timings.append(best * 1000)
    renderer.render_many([latex for _, latex in formula_set.formulas] + [r.latex for r in results])
    per_category: Counter[str] = Counter()
    failed_category: Counter[str] = Counter()
    failures = []
    for (category, truth), result in zip(formula_set.formulas, results, strict=True):
        per_category[category] += 1
        if renderer.symbols(truth) != renderer.symbols(result.latex):
            failed_category[category] += 1
            failures.append(
                {"category": category, "source": truth, "rebuilt": result.latex, "confidence": result.confidence}
            )
    low: dict[str, list[bool]] = {}
    for region in context_regions(fonts):
        low.setdefault(region.kind, []).append(reconstruct_latex(region.glyphs, region.rules).confidence < 0.5)
    count = len(results)
    ordered = sorted(timings)
    bad = [flag for kind, flags in low.items() if kind != "good" for flag in flags]
    return {
        "formulas": count,
        "render_equal": count - len(failures),
        "render_equal_rate": round((count - len(failures)) / count, 4),
        "confident_rate": round(sum(r.confidence >= 0.5 for r in results) / count, 4),
        "bad_regions": {
            "good_confident_rate": round(1 - sum(low["good"]) / len(low["good"]), 4),
            "bad_below_half_rate": round(sum(bad) / len(bad), 4),
            "below_half_rate_by_kind": {k: round(sum(f) / len(f), 4) for k, f in low.items() if k != "good"},
            "regions": {k: len(f) for k, f in low.items()},
        },
        "per_category": {c: {"formulas": n, "failed": failed_category[c]} for c, n in sorted(per_category.items())},
        "latency_ms": {
            "mean": round(statistics.fmean(timings), 3),
            "p50": round(ordered[count // 2], 3),
            "p95": round(ordered[min(count - 1, int(0.95 * count))], 3),
            "max": round(ordered[-1], 3),
        },
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    from docray.testing.formula_set import FONT_VARIANTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per formula (the best counts)")
    parser.add_argument("--fonts", default=",".join(FONT_VARIANTS), help="comma-separated font variants")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON summary path")
    args = parser.parse_args(argv)

    from docray.evaluation.katex_math import KatexRenderer, missing_katex

    renderer = KatexRenderer.find()
    if renderer is None:
        print(f"KaTeX unavailable: {missing_katex()}", file=sys.stderr)
        return 2
    variants = {fonts: _variant(fonts, renderer, args.repeat) for fonts in args.fonts.split(",")}
    summary = {
        "render_equal_rate": {fonts: v["render_equal_rate"] for fonts, v in variants.items()},
        "bad_below_half_rate": {fonts: v["bad_regions"]["bad_below_half_rate"] for fonts, v in variants.items()},
        "good_confident_rate": {fonts: v["bad_regions"]["good_confident_rate"] for fonts, v in variants.items()},
        "latency_ms_mean": {fonts: v["latency_ms"]["mean"] for fonts, v in variants.items()},
        "variants": variants,
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "command": f"benchmarks/bench_formula_text.py --repeat {args.repeat} --fonts {args.fonts}",
    }
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
