"""Does `standard` keep the text that `fast` reads? Recall of fast's prose words in standard's Markdown.

Usage (from the repository root):

    .venv/bin/python benchmarks/word_recall.py [--eval ../shared/eval] [--sets olmocr docling camelot]
        [--pdf extra.pdf ...] [--keep DIR] [--reuse] [--top 15] [--json benchmarks/results/word_recall.json]

Runs docray's `fast` and `standard` pipelines (LocalExecutor, in process) over the born-digital PDFs of each set
(`olmocr_bench_sample` and `docling_tests`: the manifest's `born-digital` documents that exist; `camelot_tables`:
every PDF of `pdf/`; `--pdf`: any PDFs, as the set `extra`) and, per document, counts the prose words of fast's
Markdown (words of 4+ letters, case-folded, as a multiset: `docray.evaluation.word_recall`) that standard's
Markdown also has. Nothing is excluded: furniture that one pipeline keeps and the other drops counts too; the
column `+discarded` also counts the text of standard's discarded blocks (headers, footers, page numbers: in the
MinerU JSON, not in the Markdown), to tell furniture apart from text that is gone; `split` counts the words of
those still lost that standard spells with other word breaks (`docray.evaluation.word_recall.spelled_elsewhere`);
`+figure labels` also counts the text-layer words inside standard's figures (a span's centre inside an IMAGE block:
the labels of a diagram, which item 5 of issue 16 lets stay with the figure, shown in its crop), to tell them
apart from text that is gone.  The headline is `+discarded`: a header or footer in a discarded block is in
standard's output (the MinerU JSON), where item 5 sends it; `+figure labels` is reported beside it, not instead.
Prints per set the pooled recall, the worst documents and the most lost words; `--keep DIR` keeps the run
outputs (DIR/<set>/<pipeline>), `--reuse` scores outputs already there without running again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from docray.evaluation.run_outputs import DocumentOutput, read_run_outputs
from docray.evaluation.word_recall import Recall, pooled, prose_words, spelled_elsewhere, word_recall
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.schema import BlockType

PIPELINES = ("fast", "standard")


def born_digital(root: Path, group: str) -> list[Path]:
    manifest = json.loads((root / group / "manifest.json").read_text(encoding="utf-8"))
    paths = [root / d["path"] for d in manifest["docs"] if d.get("type") == "born-digital"]
    return sorted({p for p in paths if p.is_file()})


def dev_sets(root: Path, names: list[str]) -> dict[str, list[Path]]:
    sets: dict[str, list[Path]] = {}
    if "olmocr" in names:
        sets["olmocr_bench_sample"] = born_digital(root, "olmocr_bench_sample")
    if "docling" in names:
        sets["docling_tests"] = born_digital(root, "docling_tests")
    if "camelot" in names:
        sets["camelot_tables"] = sorted((root / "camelot_tables" / "pdf").glob("*.pdf"))
    return sets


def run(pipeline: str, pdfs: list[Path], out: Path, reuse: bool) -> dict[str, DocumentOutput]:
    if not (reuse and out.is_dir()):
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        report = run_pipeline(load_pipeline(pipeline), [str(p) for p in pdfs], str(out), executor=LocalExecutor())
        print(f"  {pipeline}: {report.stats.documents} docs, {dict(report.stats.by_status)}, "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    return {Path(d.source or d.name).name: d for d in read_run_outputs(out).documents}


def discarded_text(run: Path) -> tuple[dict[str, str], dict[str, str]]:
    """PDF name -> the text of the run's discarded blocks (headers, footers, ...), and PDF name -> the text-layer
    spans inside its figures (centre inside an IMAGE block: the labels a figure keeps in its crop), from its
    pages table."""
    import pyarrow.parquet as pq

    texts: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}
    for row in pq.read_table(run / "pages", columns=["source", "blocks", "spans"]).to_pylist():
        name = Path(row["source"]).name
        figures = []
        for block in row["blocks"] or []:
            if BlockType(block["type"]).is_discarded and block.get("text"):
                texts.setdefault(name, []).append(block["text"])
            elif block["type"] == BlockType.IMAGE.value:
                figures.append(block["bbox"])
        for span in (row["spans"] or []) if figures else []:
            x, y = (span["bbox"][0] + span["bbox"][2]) / 2, (span["bbox"][1] + span["bbox"][3]) / 2
            if any(f[0] <= x <= f[2] and f[1] <= y <= f[3] for f in figures):
                labels.setdefault(name, []).append(span["text"])
    return {name: "\n".join(parts) for name, parts in texts.items()}, {n: "\n".join(p) for n, p in labels.items()}


def score_set(
    pdfs: list[Path],
    outputs: dict[str, dict[str, DocumentOutput]],
    discarded: dict[str, str],
    figure_labels: dict[str, str],
) -> dict[str, tuple[Recall, Recall, int, Recall]]:
    """Per PDF name, the recall of fast's words in standard's Markdown (a missing Markdown is empty), in
    standard's Markdown plus its discarded blocks, how many of the words still lost are spelled elsewhere, and the
    recall counting also the labels standard's figures keep."""
    scores: dict[str, tuple[Recall, Recall, int, Recall]] = {}
    for pdf in pdfs:
        fast, standard = (outputs[p].get(pdf.name) for p in PIPELINES)
        reference = prose_words((fast and fast.markdown) or "")
        candidate = prose_words((standard and standard.markdown) or "")
        text = ((standard and standard.markdown) or "") + "\n" + discarded.get(pdf.name, "")
        furniture = word_recall(reference, prose_words(text))
        figures = word_recall(reference, prose_words(text + "\n" + figure_labels.get(pdf.name, "")))
        scores[pdf.name] = (
            word_recall(reference, candidate), furniture, spelled_elsewhere(furniture.missing, text), figures
        )
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default="../shared/eval", type=Path)
    sets = ["olmocr", "docling", "camelot"]
    parser.add_argument("--sets", nargs="*", default=sets, choices=sets, help="dev sets (none: only --pdf)")
    parser.add_argument("--pdf", nargs="*", default=[], type=Path, help="more PDFs, scored as the set 'extra'")
    parser.add_argument("--keep", type=Path, help="keep run outputs here (DIR/<set>/<pipeline>)")
    parser.add_argument("--reuse", action="store_true", help="score the outputs already in --keep")
    parser.add_argument("--top", type=int, default=15, help="lost words listed per set")
    parser.add_argument("--json", type=Path, help="write the scores here")
    args = parser.parse_args()

    sets = dev_sets(args.eval, args.sets)
    if args.pdf:
        sets["extra"] = sorted(p.resolve() for p in args.pdf)
    keep = args.keep or Path(__import__("tempfile").mkdtemp(prefix="word_recall_"))
    report: dict[str, dict] = {}
    for name, pdfs in sets.items():
        print(f"{name}: {len(pdfs)} PDFs", file=sys.stderr)
        outputs = {p: run(p, pdfs, keep / name / p, args.reuse) for p in PIPELINES}
        scores = score_set(pdfs, outputs, *discarded_text(keep / name / "standard"))
        total = pooled([r for r, _, _, _ in scores.values()])
        furniture = pooled([r for _, r, _, _ in scores.values()])
        split = sum(n for _, _, n, _ in scores.values())
        figures = pooled([r for _, _, _, r in scores.values()])
        print(f"\n## {name}: recall {total.recall:.4f} ({total.lost} of {total.reference_words} words lost); "
              f"+discarded {furniture.recall:.4f} ({furniture.lost} lost, {split} of them split); "
              f"+figure labels {figures.recall:.4f} ({figures.lost} lost)")  # fmt: skip
        for doc, (r, d, n, f) in sorted(scores.items(), key=lambda kv: kv[1][0].recall):
            if r.lost:
                top = ", ".join(f"{w}x{k}" if k > 1 else w for w, k in r.missing[:8])
                print(f"  {r.recall:.4f} (+discarded {d.recall:.4f}, split {n}, +figure labels {f.recall:.4f})  "
                      f"{r.lost:4d}/{r.reference_words:5d}  {doc}: {top}")  # fmt: skip
        print("  most lost: " + ", ".join(f"{w} {n}" for w, n in total.missing[: args.top]))
        print("  most lost, +discarded: " + ", ".join(f"{w} {n}" for w, n in furniture.missing[: args.top]))
        report[name] = {
            "recall": round(total.recall, 5), "lost": total.lost, "words": total.reference_words,
            "recall_with_discarded": round(furniture.recall, 5), "lost_with_discarded": furniture.lost,
            "split": split, "recall_with_figure_labels": round(figures.recall, 5), "lost_with_figure_labels": figures.lost,
            "documents": {doc: {"recall": round(r.recall, 5), "lost": r.lost, "words": r.reference_words,
                                "recall_with_discarded": round(d.recall, 5), "split": n,
                                "recall_with_figure_labels": round(f.recall, 5), "missing": r.missing[: args.top]}
                          for doc, (r, d, n, f) in scores.items()},
        }  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
