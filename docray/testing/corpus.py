"""A corpus of many small, distinct PDFs (some of them corrupt) for scale tests and benchmarks.

:func:`write_corpus` writes ``n`` files named ``doc_00000.pdf`` ... into a directory, fast enough for
thousands of files (the good PDFs are written directly, not through reportlab: one or a few pages of
Helvetica text with a correct cross-reference table).  Every good PDF has its own text (a title with
its index and sentences drawn from a seeded generator), so every ``doc_id`` differs; the corrupt
files are spread through the corpus and come in several kinds (:data:`CORRUPT_KINDS`), each with the
error code docray gives it.  Everything is deterministic in ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from docray.schema import ErrorCode
from docray.testing.pdfs import serialize_pdf

__all__ = ["CORRUPT_KINDS", "Corpus", "minimal_pdf", "write_corpus"]

# kind -> the error code docray's ingest/render gives such a file
CORRUPT_KINDS: dict[str, ErrorCode] = {
    "truncated": ErrorCode.CORRUPT,  # the first part of a good PDF, cut before its page tree and xref
    "garbage_after_header": ErrorCode.CORRUPT,  # "%PDF-1.4" then random bytes
    "random_bytes": ErrorCode.UNSUPPORTED_FORMAT,  # random bytes, no PDF header
    "empty": ErrorCode.EMPTY_FILE,  # zero bytes
    "text": ErrorCode.UNSUPPORTED_FORMAT,  # plain text saved as .pdf
}

WORDS = (
    "data stream shard worker actor block page table column layout reading order parser corpus "
    "document archive retrieval index memory object store scheduler throughput latency batch "
    "partition shuffle merge record field value schema source output input result error retry "
    "cluster node driver process thread queue buffer cache format section figure caption footnote "
    "heading paragraph summary method analysis experiment baseline measure sample estimate model"
).split()
PAGE_SIZE = (612, 792)  # US Letter, points
LINES_PER_PAGE = 18
LINE_HEIGHT = 16


@dataclass
class Corpus:
    """What :func:`write_corpus` wrote: every path, which are corrupt (and how), pages of the good ones."""

    directory: Path
    paths: list[Path]  # all files, in name order
    pages: dict[Path, int]  # good PDFs -> number of pages
    corrupt: dict[Path, str]  # corrupt files -> kind (a key of CORRUPT_KINDS)
    first_lines: dict[Path, str] = field(default_factory=dict)  # good PDFs -> their title line (page 1's first line)

    @property
    def good(self) -> list[Path]:
        return [p for p in self.paths if p in self.pages]

    @property
    def total_pages(self) -> int:
        """Pages of the good PDFs (corrupt files yield no pages)."""
        return sum(self.pages.values())

    def expected_error(self, path: Path) -> ErrorCode | None:
        """The error code docray gives ``path``, or None for a good PDF."""
        kind = self.corrupt.get(path)
        return CORRUPT_KINDS[kind] if kind is not None else None


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def _page_content(lines: list[str], title: bool) -> bytes:
    out = [b"BT"]
    y = PAGE_SIZE[1] - 72
    for i, line in enumerate(lines):
        size = 18 if title and i == 0 else 11
        out.append(b"/F1 %d Tf 1 0 0 1 72 %d Tm (%s) Tj" % (size, y, _escape(line)))
        y -= LINE_HEIGHT + (12 if title and i == 0 else 0)
    out.append(b"ET")
    return b"\n".join(out)


def minimal_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one Helvetica text line per string, one list of lines per page (first page's first line as a title).

    Page content streams come first and the catalog and page tree last, so a truncated copy loses
    the objects a reader needs to rebuild the document.
    """
    objects: list[bytes] = []  # object i+1
    content_ids = []
    for index, lines in enumerate(pages):
        stream = _page_content(lines, title=index == 0)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_ids.append(len(objects))
    font_id = len(objects) + 1
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages_id = font_id + len(pages) + 1
    page_ids = []
    for content_id in content_ids:
        objects.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (pages_id, PAGE_SIZE[0], PAGE_SIZE[1], font_id, content_id)
        )
        page_ids.append(len(objects))
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids)))
    assert len(objects) == pages_id
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    catalog_id = len(objects)
    return serialize_pdf(objects, root=catalog_id)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 12))]
    return " ".join(words).capitalize() + "."


def _document_lines(rng: random.Random, index: int, num_pages: int) -> list[list[str]]:
    pages = []
    for page in range(num_pages):
        lines = [f"Corpus document {index} on the {rng.choice(WORDS)} of {rng.choice(WORDS)}"] if page == 0 else []
        lines += [_sentence(rng) for _ in range(LINES_PER_PAGE - len(lines))]
        lines[-1] = f"Document {index} page {page + 1} of {num_pages} ends here."
        pages.append(lines)
    return pages


def _corrupt_bytes(kind: str, rng: random.Random, index: int) -> bytes:
    if kind == "truncated":
        whole = minimal_pdf(_document_lines(rng, index, 2))
        return whole[: int(len(whole) * rng.uniform(0.2, 0.5))]
    if kind == "garbage_after_header":
        return b"%PDF-1.4\n" + rng.randbytes(rng.randint(200, 4000)).replace(b"obj", b"xxx")
    if kind == "random_bytes":
        data = rng.randbytes(rng.randint(200, 4000))
        while b"%PDF-" in data[:1024]:  # vanishingly rare; keep the kind honest
            data = rng.randbytes(len(data))
        return data
    if kind == "empty":
        return b""
    if kind == "text":
        return f"Not a PDF: export {index} failed.\nThis file was saved with the wrong name.\n".encode()
    raise ValueError(f"unknown corrupt kind {kind!r}; use one of {sorted(CORRUPT_KINDS)}")


def write_corpus(
    directory: str | Path,
    n: int,
    *,
    corrupt_fraction: float = 0.05,
    pages: tuple[int, int] = (1, 3),
    seed: int = 0,
) -> Corpus:
    """Write ``n`` files ``doc_NNNNN.pdf`` into ``directory``; ``round(n * corrupt_fraction)`` are corrupt.

    Good files have ``pages[0]`` to ``pages[1]`` pages of text.  Corrupt files take the kinds of
    :data:`CORRUPT_KINDS` in turn and sit at seeded random positions.
    """
    if n < 0 or not 0 <= corrupt_fraction <= 1:
        raise ValueError(f"need n >= 0 and 0 <= corrupt_fraction <= 1, got n={n}, corrupt_fraction={corrupt_fraction}")
    if not 1 <= pages[0] <= pages[1]:
        raise ValueError(f"pages must be (low, high) with 1 <= low <= high, got {pages}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    corrupt_indices = sorted(rng.sample(range(n), round(n * corrupt_fraction)))
    kinds = list(CORRUPT_KINDS)
    corrupt_kind = {i: kinds[k % len(kinds)] for k, i in enumerate(corrupt_indices)}
    width = max(5, len(str(n - 1)))
    corpus = Corpus(directory=directory, paths=[], pages={}, corrupt={})
    for index in range(n):
        path = directory / f"doc_{index:0{width}d}.pdf"
        doc_rng = random.Random(f"{seed}:{index}")
        if index in corrupt_kind:
            data = _corrupt_bytes(corrupt_kind[index], doc_rng, index)
            corpus.corrupt[path] = corrupt_kind[index]
        else:
            num_pages = doc_rng.randint(*pages)
            lines = _document_lines(doc_rng, index, num_pages)
            data = minimal_pdf(lines)
            corpus.pages[path] = num_pages
            corpus.first_lines[path] = lines[0][0]
        path.write_bytes(data)
        corpus.paths.append(path)
    return corpus


def committed_documents(output: str | Path) -> int:
    """Documents rows a run has committed under a local ``output`` so far, from Parquet footers only.

    Independent of docray's resume code, so tests and benchmarks can watch a running run with it.  A part
    being rewritten while it is read is skipped.
    """
    import pyarrow.parquet as pq

    documents = Path(output) / "documents"
    total = 0
    for part in documents.rglob("part-*.parquet") if documents.exists() else []:
        try:
            total += pq.ParquetFile(part).metadata.num_rows
        except Exception:
            pass
    return total
