"""Generate samples/sample.pdf: a small two-column article made by docray.testing.

Run ``python samples/make_sample.py`` (needs ``pip install 'docray[dev]'``); the bytes are
deterministic, so re-running it leaves the file unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from docray.testing.pdfs import two_column_article

SAMPLE = Path(__file__).with_name("sample.pdf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3, help="number of pages (default 3)")
    parser.add_argument("--out", type=Path, default=SAMPLE, help=f"output path (default {SAMPLE})")
    args = parser.parse_args()
    article = two_column_article(args.pages, title="A Sample Article for docray", seed=0)
    args.out.write_bytes(article.pdf)
    print(f"wrote {args.out} ({len(article.pdf)} bytes, {article.num_pages} pages)")


if __name__ == "__main__":
    main()
