"""OCR engine speed (ms per page, det/cls/rec) and accuracy on a synthetic English scan; real scans if present.

    .venv/bin/python benchmarks/bench_ocr.py --dpi 150 [--threads 1] [--eval ../shared/eval]

CPU time of this process (1 intra-op thread) is reported beside wall time: on a shared machine the
wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import time
from pathlib import Path

import numpy as np

from docray.models.ocr_ppocr import PpOcrOnnx, PpOcrOptions
from docray.testing.pdfs import scanned_page

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


def run(engine: PpOcrOnnx, name: str, pages: list[np.ndarray], truths: list[list[str]] | None = None) -> None:
    for key in engine.timings:
        engine.timings[key] = 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    results = [engine.read([page])[0] for page in pages]
    cpu, wall = (time.process_time() - cpu) / len(pages), (time.perf_counter() - wall) / len(pages)
    split = " ".join(f"{k} {v / len(pages) * 1000:.0f}" for k, v in engine.timings.items())
    line = f"{name:14s} {len(pages)} p  {pages[0].shape[1]}x{pages[0].shape[0]}  lines/p {sum(map(len, results)) / len(pages):5.1f}"
    line += f"  cpu ms/p {cpu * 1000:5.0f}  wall ms/p {wall * 1000:5.0f}  (wall split: {split})"
    if truths:
        measured = [scores(t, [x.text for x in r]) for t, r in zip(truths, results)]
        line += f"  CER {statistics.mean(m[0] for m in measured) * 100:.2f}%"
        line += f"  word acc {statistics.mean(m[1] for m in measured) * 100:.1f}%"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", type=float, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pages", type=int, default=3, help="synthetic pages (20 lines each)")
    parser.add_argument("--eval", default="../shared/eval", help="folder with docling_tests/ and olmocr_bench_sample/")
    parser.add_argument("--no-restore-spaces", action="store_true")
    args = parser.parse_args()
    options = PpOcrOptions(restore_spaces=not args.no_restore_spaces)
    engine = PpOcrOnnx.from_options(options, threads=args.threads)
    engine.read([np.full((64, 64, 3), 255, np.uint8)])  # warm-up

    truths = [english_lines(20, seed) for seed in range(args.pages)]
    pages = [render_pdf(scanned_page(t, dpi=300), args.dpi)[0] for t in truths]
    run(engine, "synthetic-20", pages, truths)
    root = Path(args.eval)
    for name, path in (
        ("ocr_test", root / "docling_tests/ocr/sources/ocr_test.pdf"),
        ("nemotron", root / "docling_tests/ocr/sources/nemotron_multipage.pdf"),
        ("lincoln_letter", root / "olmocr_bench_sample/pdfs/lincoln_letter.pdf"),
    ):
        if path.is_file():
            run(engine, name, render_pdf(path, args.dpi))


if __name__ == "__main__":
    main()
