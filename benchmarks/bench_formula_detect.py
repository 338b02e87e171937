"""Precision, recall and speed of formula detection on born-digital pages (operators/formula_text/detect.py).

Usage (from the repository root):

    .venv/bin/python benchmarks/bench_formula_detect.py [--seeds 5] [--repeat 5]

Documents come from ``docray.testing.inline_math`` (ground truth from marker fill colours, see there): the
LaTeX document in Computer Modern and in Times + Symbol (``mathptmx``), one and two columns, and in Palatino
(``mathpazo``), each with ``--seeds`` different shuffles of the same formulas, distractors and displays (so line
breaks fall elsewhere), and the reportlab page in DejaVu Sans; from ``docray.testing.inline_math_ops``:
operator names and function terms among look-alike prose (``ops-*``: LaTeX in cm, pazo, times) and the
reportlab page in Helvetica with Times-Italic variables (``sans``), ``--seeds`` shuffles each.  Inline formulas are scored by :func:`docray.testing.inline_math_score.score`
(found: covered by one region, or one per line where the typesetter broke it, taking no other letters,
digits or symbols; a region is correct when it takes nothing from outside formulas but punctuation and
brackets).  Displays are scored without layout boxes, and with boxes (each display's truth box widened to
take its equation number, :func:`~docray.testing.inline_math_score.layout_box`).  ``ms_per_page``: median over ``--repeat`` runs of
:func:`detect_formulas` per page (glyph extraction not included; ``extract_ms_per_page`` is page_glyphs +
page_rules).  Writes ``benchmarks/results/formula_detect.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import pypdfium2 as pdfium

from docray.operators.formula_text.detect import FormulaKind, detect_formulas
from docray.operators.textlayer.pdf_glyphs import page_glyphs, page_rules
from docray.testing import inline_math, inline_math_ops, inline_math_score

RESULTS = Path(__file__).parent / "results" / "formula_detect.json"


def _documents(seeds: int):
    for font in ("cm", "times"):
        for twocolumn in (False, True):
            name = font + ("-2col" if twocolumn else "")
            yield name, [inline_math.latex_document(font=font, seed=seed, twocolumn=twocolumn) for seed in range(seeds)]
    yield "pazo", [inline_math.latex_document(font="pazo", seed=seed) for seed in range(seeds)]
    yield "unicode", [inline_math.unicode_document()]
    for font in ("cm", "pazo", "times"):
        yield f"ops-{font}", [inline_math_ops.operator_document(font, seed) for seed in range(seeds)]
    yield "sans", [inline_math_ops.sans_document(3 + seed) for seed in range(seeds)]


def _measure(docs, repeat: int) -> dict:
    inline, display, boxed = [], [], []
    detect_ms, extract_ms = [], []
    for doc in docs:
        pdf = pdfium.PdfDocument(doc.pdf)
        try:
            for page, truth in zip(pdf, doc.pages, strict=True):
                start = time.perf_counter()
                glyphs, rules = page_glyphs(page), page_rules(page)
                extract_ms.append((time.perf_counter() - start) * 1000)
                width, height = page.get_width(), page.get_height()
                runs = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    regions = detect_formulas(glyphs, rules, page_width=width, page_height=height)
                    runs.append((time.perf_counter() - start) * 1000)
                detect_ms.append(statistics.median(runs))
                inline.append(inline_math_score.score(glyphs, truth.inline, regions, FormulaKind.INLINE))
                display.append(inline_math_score.score(glyphs, truth.display, regions, FormulaKind.DISPLAY))
                boxes = [inline_math_score.layout_box(glyphs, t) for t in truth.display]
                with_boxes = detect_formulas(glyphs, rules, page_width=width, page_height=height, display_boxes=boxes)
                boxed.append(inline_math_score.score(glyphs, truth.display, with_boxes, FormulaKind.DISPLAY))
        finally:
            pdf.close()

    def summary(score: inline_math_score.Score) -> dict:
        return {
            "truth": score.truth,
            "found": score.found,
            "detected": score.detected,
            "correct": score.correct,
            "exact": score.exact,
            "recall": round(score.recall, 4),
            "precision": round(score.precision, 4),
            "false_positives": sorted(set(score.false_positive)),
        }

    return {
        "documents": len(docs),
        "pages": len(detect_ms),
        "inline": summary(inline_math_score.merge(inline)),
        "display_text_layer": summary(inline_math_score.merge(display)),
        "display_with_boxes": summary(inline_math_score.merge(boxed)),
        "ms_per_page": round(statistics.median(detect_ms), 2),
        "ms_per_page_max": round(max(detect_ms), 2),
        "extract_ms_per_page": round(statistics.median(extract_ms), 2),
        "glyphs_per_page": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    variants = {}
    for name, docs in _documents(args.seeds):
        variants[name] = _measure(docs, args.repeat)
        variants[name]["glyphs_per_page"] = round(
            statistics.mean(len(page_glyphs(p)) for d in docs for p in pdfium.PdfDocument(d.pdf))
        )
        row = variants[name]
        print(
            f"{name:12s} inline R={row['inline']['recall']:.3f} P={row['inline']['precision']:.3f} "
            f"display R={row['display_text_layer']['recall']:.3f} P={row['display_text_layer']['precision']:.3f} "
            f"boxes R={row['display_with_boxes']['recall']:.3f}  {row['ms_per_page']} ms/page"
        )
    result = {
        "benchmark": "formula_detect",
        "command": f"benchmarks/bench_formula_detect.py --seeds {args.seeds} --repeat {args.repeat}",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "variants": variants,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS.name}")


if __name__ == "__main__":
    main()
