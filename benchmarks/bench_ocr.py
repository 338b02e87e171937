"""OCR engine speed (ms per page and per line, det/orient/cls/rec) and accuracy, PP-OCR releases side by side.

    .venv/bin/python benchmarks/bench_ocr.py --dpi 150 [--threads 1] [--versions v6,v4] [--eval ../shared/eval]
    .venv/bin/python benchmarks/bench_ocr.py --sets sroie,sroie-turned,synthetic-turned,ocr_test-turned

Sets: ``synthetic`` (20-line English scans, CER vs the drawn text), ``sroie`` (the 40 receipts of
``sroie_dev``: raw lines in the engine's order joined by spaces, case-insensitive, whitespace-collapsed
CER vs ``text_derived`` joined by spaces; mean over receipts and pooled), ``*-turned`` (the same pages
turned 90/180/270 degrees here, scored the same way, with the share of pages whose turn was detected),
``ocr_test-turned`` (docling's ``ocr_test_rotated_*.pdf`` vs ``ocr_test.pdf`` read by the same engine),
and the docling/olmOCR scans timed without ground truth (``scans``).

CPU time of this process (1 intra-op thread) is reported beside wall time: on a shared machine the
wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import numpy as np

from docray.models.ocr_ppocr import PpOcrOnnx, PpOcrOptions
from docray.models.page_orientation import turn_image
from docray.testing.pdfs import scanned_page

TURNS = (90, 180, 270)

WORDS = (
    "the of and to in is that for it as was with be by on not this are or from at which but have an they were "
    "there been one all their has would when if so will more what can out who into some them time could about "
    "other than then these two may first any like over such only new also most people after made many before "
    "through back years where much way well down should because each just those how little state good very make "
    "world still own see work long here between both life being under never same another know while last might "
    "great old year since against came right used take three system information report results analysis 2024 "
    "section figure table 12.5% value, data; model: example (see) page-based well-known"
).split()


def english_lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 10))]
        words[0] = words[0].capitalize()
        lines.append(" ".join(words) + ".")
    return lines


def render_pdf(data: bytes | Path, dpi: float) -> list[np.ndarray]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data if isinstance(data, bytes) else str(data))
    return [page.render(scale=dpi / 72).to_numpy()[:, :, :3].copy() for page in pdf]


def scores(truth: list[str], read: list[str]) -> tuple[float, float]:
    """Character error rate and word accuracy (matched words / true words)."""
    expected, got = "\n".join(truth), "\n".join(read)
    matcher = difflib.SequenceMatcher(a=expected, b=got, autojunk=False)
    edits = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    words = difflib.SequenceMatcher(a=expected.split(), b=got.split(), autojunk=False)
    return edits / len(expected), sum(b.size for b in words.get_matching_blocks()) / len(expected.split())


def collapsed(text: str) -> str:
    return " ".join(text.lower().split())


def cer(truth: str, read: str) -> tuple[int, int]:
    """(edit distance, truth length) of case-insensitive, whitespace-collapsed texts."""
    from rapidfuzz.distance import Levenshtein

    truth, read = collapsed(truth), collapsed(read)
    return Levenshtein.distance(truth, read), max(1, len(truth))


def timed_read(engine: PpOcrOnnx, pages: list[np.ndarray]):
    for key in engine.timings:
        engine.timings[key] = 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    results = [engine.read([page])[0] for page in pages]
    return results, time.process_time() - cpu, time.perf_counter() - wall


def report(name: str, engine: PpOcrOnnx, pages, results, cpu: float, wall: float, extra: str = "") -> None:
    lines = max(1, sum(map(len, results)))
    split = " ".join(f"{k} {v / len(pages) * 1000:.0f}" for k, v in engine.timings.items())
    print(
        f"{engine.options.version} {name:18s} {len(pages):3d} p  lines/p {lines / len(pages):5.1f}  "
        f"ms/p cpu {cpu / len(pages) * 1000:5.0f} wall {wall / len(pages) * 1000:5.0f}  "
        f"ms/line cpu {cpu / lines * 1000:5.1f} wall {wall / lines * 1000:5.1f}  ({split}){extra}",
        flush=True,
    )


def scored(truths: list[str], results, pages_turn: list[int] | None = None) -> str:
    pairs = [cer(t, " ".join(line.text for line in r)) for t, r in zip(truths, results)]
    mean = statistics.mean(e / n for e, n in pairs)
    pooled = sum(e for e, _ in pairs) / sum(n for _, n in pairs)
    extra = f"  CER mean {mean:.4f} pooled {pooled:.4f}"
    if pages_turn is not None:  # the clockwise turn that makes each page upright
        found = [Counter(line.rotation for line in r).most_common(1)[0][0] if r else 0 for r in results]
        extra += f"  turn detected {sum(f == t for f, t in zip(found, pages_turn))}/{len(pages_turn)}"
    return extra


def box_order_truth(csv_text: str) -> str:
    """SROIE's ``box/<n>.csv`` transcripts in page order: rows by vertical overlap, then left to right.

    (``text_derived`` keeps the annotation order, which on some receipts lists a column after another.)
    """
    lines = []
    for row in csv_text.splitlines():
        parts = row.split(",", 8)
        if len(parts) == 9 and parts[8].strip():
            xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
            lines.append((min(ys), max(ys), min(xs), parts[8].strip()))
    rows: list[list[tuple]] = []
    for line in sorted(lines, key=lambda l: (l[0] + l[1]) / 2):
        if rows:
            top, bottom = min(l[0] for l in rows[-1]), max(l[1] for l in rows[-1])
            overlap = min(bottom, line[1]) - max(top, line[0])
            if overlap >= 0.5 * min(line[1] - line[0], bottom - top):
                rows[-1].append(line)
                continue
        rows.append([line])
    return " ".join(l[3] for row in rows for l in sorted(row, key=lambda l: l[2]))


def sroie_pages(root: Path, order: str = "annotation") -> tuple[list[np.ndarray], list[str]]:
    """Receipt images (RGB) and their truths: ``text_derived`` (annotation order) or ``box`` (page order)."""
    import cv2

    pages, truths = [], []
    for image_path in sorted((root / "img").glob("*.jpg")):
        truth = root / "text_derived" / f"{image_path.stem}.txt"
        boxes = root / "box" / f"{image_path.stem}.csv"
        if truth.is_file():
            pages.append(cv2.imread(str(image_path))[:, :, ::-1].copy())
            if order == "box" and boxes.is_file():
                truths.append(box_order_truth(boxes.read_text(encoding="utf-8", errors="replace")))
            else:
                truths.append(" ".join(truth.read_text(encoding="utf-8").splitlines()))
    return pages, truths


def turned_set(pages: list[np.ndarray], truths: list[str]):
    """Every page turned by each of TURNS; the turn that makes each upright; the truths repeated."""
    turned = [turn_image(p, t) for t in TURNS for p in pages]
    return turned, [(360 - t) % 360 for t in TURNS for _ in pages], [x for _ in TURNS for x in truths]


def run_sets(engine: PpOcrOnnx, sets: list[str], args) -> None:
    root = Path(args.eval)
    if {"synthetic", "synthetic-turned"} & set(sets):
        lines = [english_lines(20, seed) for seed in range(args.pages)]
        pages = [render_pdf(scanned_page(t, dpi=300), args.dpi)[0] for t in lines]
        truths = ["\n".join(t) for t in lines]
        if "synthetic" in sets:
            results, cpu, wall = timed_read(engine, pages)
            report("synthetic-20", engine, pages, results, cpu, wall, scored(truths, results))
        if "synthetic-turned" in sets:
            turned, turns, repeated = turned_set(pages, truths)
            results, cpu, wall = timed_read(engine, turned)
            report("synthetic-turned", engine, turned, results, cpu, wall, scored(repeated, results, turns))
    sroie = root / "sroie_dev"
    if {"sroie", "sroie-turned"} & set(sets) and sroie.is_dir():
        pages, truths = sroie_pages(sroie)
        pages, truths = pages[: args.receipts], truths[: args.receipts]
        if "sroie" in sets:
            results, cpu, wall = timed_read(engine, pages)
            box_truths = sroie_pages(sroie, "box")[1][: args.receipts]
            extra = scored(truths, results) + "  | vs box order:" + scored(box_truths, results).replace("  CER", " CER")
            report("sroie", engine, pages, results, cpu, wall, extra)
        if "sroie-turned" in sets:
            turned, turns, repeated = turned_set(pages[: args.turned_receipts], truths[: args.turned_receipts])
            results, cpu, wall = timed_read(engine, turned)
            report("sroie-turned", engine, turned, results, cpu, wall, scored(repeated, results, turns))
    sources = root / "docling_tests/ocr/sources"
    if "ocr_test-turned" in sets and (sources / "ocr_test.pdf").is_file():
        upright = " ".join(line.text for line in engine.read(render_pdf(sources / "ocr_test.pdf", args.dpi))[0])
        for turn in TURNS:
            page = render_pdf(sources / f"ocr_test_rotated_{turn}.pdf", args.dpi)
            results, cpu, wall = timed_read(engine, page)
            read = " ".join(line.text for line in results[0])
            extra = f"  same text as ocr_test.pdf: {read == upright}  turn {results[0][0].rotation if results[0] else None}"
            report(f"ocr_test_rot{turn}", engine, page, results, cpu, wall, extra)
    if "scans" in sets:
        for name, path in (
            ("ocr_test", sources / "ocr_test.pdf"),
            ("nemotron", sources / "nemotron_multipage.pdf"),
            ("lincoln_letter", root / "olmocr_bench_sample/pdfs/lincoln_letter.pdf"),
        ):
            if path.is_file():
                pages = render_pdf(path, args.dpi)
                results, cpu, wall = timed_read(engine, pages)
                report(name, engine, pages, results, cpu, wall)


def reference_reader(version: str):
    """The rapidocr package's own pipeline for a release (its pre/post-processing): RGB image -> line texts."""
    if version == "v6":
        from rapidocr import RapidOCR  # rapidocr 3.10.0

        v6 = RapidOCR(params={"Global.log_level": "error"})
        return lambda rgb: list(v6(np.ascontiguousarray(rgb[:, :, ::-1])).txts or [])
    from rapidocr_onnxruntime import RapidOCR as RapidOcrV4  # rapidocr_onnxruntime 1.4.4

    v4 = RapidOcrV4()
    return lambda rgb: [item[1] for item in (v4(np.ascontiguousarray(rgb[:, :, ::-1]))[0] or [])]


def run_reference(version: str, args) -> None:
    """sroie read by the rapidocr package itself (the issue's "raw" numbers), scored like docray's engine."""
    root = Path(args.eval) / "sroie_dev"
    if not root.is_dir():
        return
    pages, truths = sroie_pages(root)
    pages, truths = pages[: args.receipts], truths[: args.receipts]
    box_truths = sroie_pages(root, "box")[1][: args.receipts]
    read = reference_reader(version)
    cpu, wall = time.process_time(), time.perf_counter()
    texts = [read(page) for page in pages]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    lines = max(1, sum(map(len, texts)))

    def cer_of(expected: list[str]) -> str:
        pairs = [cer(t, " ".join(x)) for t, x in zip(expected, texts)]
        mean = statistics.mean(e / n for e, n in pairs)
        return f"CER mean {mean:.4f} pooled {sum(e for e, _ in pairs) / sum(n for _, n in pairs):.4f}"

    print(
        f"rapidocr-{version} sroie {len(pages):3d} p  lines/p {lines / len(pages):5.1f}  ms/p cpu "
        f"{cpu / len(pages) * 1000:5.0f} wall {wall / len(pages) * 1000:5.0f}  ms/line cpu {cpu / lines * 1000:5.1f} "
        f"wall {wall / lines * 1000:5.1f}  {cer_of(truths)}  | vs box order: {cer_of(box_truths)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", type=float, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--versions", default="v6,v4", help="PP-OCR releases to compare (model.version)")
    parser.add_argument("--sets", default="synthetic,sroie", help="comma-separated; see the module docstring")
    parser.add_argument("--pages", type=int, default=3, help="synthetic pages (20 lines each)")
    parser.add_argument("--receipts", type=int, default=40, help="sroie receipts read upright")
    parser.add_argument("--turned-receipts", type=int, default=10, help="sroie receipts turned 90/180/270")
    parser.add_argument("--eval", default="../shared/eval", help="folder with sroie_dev/, docling_tests/, ...")
    parser.add_argument("--no-restore-spaces", action="store_true")
    parser.add_argument("--no-orientation", action="store_true", help="read pages as given (no 90/180/270 turn)")
    parser.add_argument(
        "--reference", default="", help="also read sroie with the rapidocr packages' own pipelines: v6, v4 or v6,v4"
    )
    args = parser.parse_args()
    for version in [v for v in args.reference.split(",") if v]:
        run_reference(version, args)
    sets = [s for s in args.sets.split(",") if s]
    for version in [v for v in args.versions.split(",") if v]:
        options = PpOcrOptions(
            version=version, restore_spaces=not args.no_restore_spaces, detect_orientation=not args.no_orientation
        )
        engine = PpOcrOnnx.from_options(options, threads=args.threads)
        engine.read([np.full((64, 64, 3), 255, np.uint8)])  # warm-up
        run_sets(engine, sets, args)


if __name__ == "__main__":
    main()
