"""A run's outputs as Markdown per document and per page, and how they line up with benchmark ground truth.

Three layouts are read (:func:`read_run_outputs`):

* ``parquet``: the ``documents/`` and ``pages/`` Parquet tables of ``docray run`` (``source``, ``name``,
  ``markdown``, ``status``; pages add ``page_idx``, 0-based). ``run.json`` gives the pipeline name.
* ``mineru``: per-document MinerU files ``<name>/<method>/<name>.md`` (``docray parse``, or ``docray run``'s
  ``files/``): whole-document Markdown only, keyed by ``name``.
* ``markdown``: any directory of ``.md`` files, keyed by file stem (the shallowest file wins when a stem repeats).

Matching (pure functions, no scoring here):

* olmOCR-bench (:func:`olmocr_outputs`): a test's ``pdf`` is a path relative to the benchmark's ``pdfs/`` folder.
  A document matches it by its ``source`` path relative to that folder, else by a ``source`` that ends with
  ``/<pdf>``, else by file stem (``name`` or the source's stem) when exactly one document has it. Page ``N``
  (1-based) reads ``page_idx`` ``N - 1``; the whole-document Markdown is kept for tests whose page is missing.
* OmniDocBench (:func:`omnidocbench_predictions`): a GT page matches a document whose name is the page image's stem
  (``paper.pdf_3`` for ``paper.pdf_3.jpg``), the stem without ``.pdf``, or the full image name. A matched document
  that failed (status ``error`` or no Markdown) is scored as an empty page; pages with no document are "missing"
  (not scored, as in OmniDocBench).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

PARQUET = "parquet"
MINERU = "mineru"
MARKDOWN = "markdown"


class RunOutputError(ValueError):
    """A path that holds no readable run outputs."""


@dataclass(frozen=True)
class DocumentOutput:
    name: str  # docray's output stem, or the .md file's stem
    markdown: str | None  # whole-document Markdown; None when the document failed
    source: str | None = None  # input URI (Parquet layout only)
    pages: Mapping[int, str | None] = field(default_factory=dict)  # 0-based page index -> page Markdown
    status: str | None = None


@dataclass(frozen=True)
class RunOutputs:
    path: str
    layout: str  # PARQUET, MINERU or MARKDOWN
    documents: tuple[DocumentOutput, ...]
    pipeline: str | None = None  # pipeline name from run.json, when there is one

    @property
    def label(self) -> str:
        """How tables name this run: its pipeline, else its folder's name."""
        return self.pipeline or Path(self.path).name or self.path


# --------------------------------------------------------------------------- reading


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds docray run outputs: ``run.json``, or ``documents/`` / ``pages/`` Parquet."""
    return (path / "run.json").is_file() or _has_parquet(path / "documents") or _has_parquet(path / "pages")


def _has_parquet(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("*.parquet"))


def pipeline_name(path: Path) -> str | None:
    """The pipeline name recorded in ``run.json``, if any."""
    try:
        manifest = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pipeline = manifest.get("pipeline") if isinstance(manifest, dict) else None
    name = pipeline.get("name") if isinstance(pipeline, dict) else pipeline
    return name if isinstance(name, str) and name else None


def _read_parquet(path: Path, wanted: Sequence[str]) -> list[dict[str, Any]]:
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet")
    columns = [c for c in wanted if c in dataset.schema.names]
    return dataset.to_table(columns=columns).to_pylist()


def _parquet_documents(path: Path) -> list[DocumentOutput]:
    pages: dict[str, dict[int, str | None]] = {}
    names: dict[str, str] = {}
    if _has_parquet(path / "pages"):
        for row in _read_parquet(path / "pages", ("source", "name", "page_idx", "markdown")):
            source = row.get("source") or ""
            names.setdefault(source, row.get("name") or _stem(source))
            index = row.get("page_idx")
            if index is not None and index >= 0:
                pages.setdefault(source, {})[int(index)] = row.get("markdown")
    documents: list[DocumentOutput] = []
    seen: set[str] = set()
    if _has_parquet(path / "documents"):
        for row in _read_parquet(path / "documents", ("source", "name", "markdown", "status")):
            source = row.get("source") or ""
            seen.add(source)
            name = row.get("name") or names.get(source) or _stem(source)
            documents.append(DocumentOutput(name, row.get("markdown"), source, pages.get(source, {}), row.get("status")))
    for source, page_map in pages.items():  # pages without a documents row (documents table not written)
        if source not in seen:
            documents.append(DocumentOutput(names[source], None, source, page_map))
    return sorted(documents, key=lambda d: (d.source or "", d.name))


def _markdown_documents(path: Path) -> tuple[list[DocumentOutput], bool]:
    files: dict[str, Path] = {}
    for md in sorted(path.rglob("*.md"), key=lambda p: (len(p.parts), str(p))):
        files.setdefault(md.name[: -len(".md")], md)
    mineru = bool(files) and all(
        len(md.relative_to(path).parts) >= 3 and md.parent.parent.name == stem for stem, md in files.items()
    )
    documents = [DocumentOutput(stem, md.read_text(encoding="utf-8")) for stem, md in sorted(files.items())]
    return documents, mineru


def read_run_outputs(path: str | Path) -> RunOutputs:
    """Read one run's outputs (Parquet, MinerU files or plain .md files; see the module docs)."""
    root = Path(path)
    if not root.exists():
        raise RunOutputError(f"{path}: no such file or directory")
    if not root.is_dir():
        raise RunOutputError(f"{path}: not a directory (give a run's output folder or a folder of .md files)")
    if _has_parquet(root / "documents") or _has_parquet(root / "pages"):
        documents = _parquet_documents(root)
        return RunOutputs(str(path), PARQUET, tuple(documents), pipeline_name(root))
    documents, mineru = _markdown_documents(root)
    if not documents:
        raise RunOutputError(f"{path}: no documents/ or pages/ Parquet and no .md files")
    return RunOutputs(str(path), MINERU if mineru else MARKDOWN, tuple(documents), pipeline_name(root))


def find_runs(path: str | Path) -> list[Path]:
    """The run folders directly inside ``path`` (one per pipeline, e.g. ``out/fast``, ``out/standard``); ``[path]``
    when it has none but is itself a run or a folder of outputs."""
    root = Path(path)
    if not root.is_dir():
        raise RunOutputError(f"{path}: not a directory")
    runs = [child for child in sorted(root.iterdir()) if child.is_dir() and is_run_dir(child)]
    return runs or [root]


# --------------------------------------------------------------------------- matching


def local_path(source: str) -> str:
    """The path part of a source URI (``file://`` and plain paths; other schemes keep their path part)."""
    if "://" not in source:
        return source
    return unquote(urlparse(source).path)


def _stem(source: str) -> str:
    return posixpath.splitext(posixpath.basename(local_path(source).rstrip("/")))[0]


def relative_to(source: str, folder: Path) -> str | None:
    """``source``'s path relative to ``folder`` (POSIX form), or None when it is not inside it."""
    try:
        return Path(local_path(source)).resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        return None


@dataclass
class OlmocrMatch:
    """How the documents of a run lined up with the benchmark's PDFs."""

    by_path: list[str] = field(default_factory=list)  # PDFs matched by their path relative to pdfs/
    by_stem: list[str] = field(default_factory=list)  # PDFs matched only by file stem
    unmatched: list[str] = field(default_factory=list)  # benchmark PDFs with no document
    unused: list[str] = field(default_factory=list)  # documents that match no benchmark PDF
    ambiguous: list[str] = field(default_factory=list)  # PDFs whose stem several documents share

    @property
    def matched(self) -> int:
        return len(self.by_path) + len(self.by_stem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched, "by_path": self.by_path, "by_stem": self.by_stem,
            "unmatched": self.unmatched, "unused_documents": self.unused, "ambiguous": self.ambiguous,
        }  # fmt: skip


class _DocumentIndex:
    """Documents of a run looked up by path relative to ``pdfs/``, by path suffix and by stem."""

    def __init__(self, documents: Sequence[DocumentOutput], pdfs_dir: Path | None):
        self.with_source = [(local_path(d.source), d) for d in documents if d.source]
        self.by_relative: dict[str, list[DocumentOutput]] = {}
        self.by_stem: dict[str, list[DocumentOutput]] = {}
        for path, doc in self.with_source:
            relative = relative_to(path, pdfs_dir) if pdfs_dir is not None else None
            if relative is not None:
                self.by_relative.setdefault(relative, []).append(doc)
        for doc in documents:
            for stem in {doc.name, _stem(doc.source or "")} - {""}:
                self.by_stem.setdefault(stem, []).append(doc)

    def find(self, pdf: str) -> tuple[DocumentOutput | None, str]:
        """The document for a benchmark PDF and how it matched: "path", "stem", "ambiguous" or "none"."""
        if len(self.by_relative.get(pdf, [])) == 1:
            return self.by_relative[pdf][0], "path"
        suffix = [doc for path, doc in self.with_source if path.endswith("/" + pdf)]
        if len(suffix) == 1:
            return suffix[0], "path"
        by_stem = self.by_stem.get(posixpath.splitext(posixpath.basename(pdf))[0], [])
        if len(by_stem) == 1:
            return by_stem[0], "stem"
        return None, "ambiguous" if by_stem or suffix else "none"


def olmocr_outputs(
    run: RunOutputs, pdf_names: Iterable[str], pdfs_dir: Path | None = None
) -> tuple[dict[Any, str | None], OlmocrMatch]:
    """Markdown keyed as :func:`docray.evaluation.olmocr_bench.score` reads it: ``(pdf, page)`` (1-based) for every
    page of a matched document and ``pdf`` for its whole document; plus how the documents matched."""
    outputs: dict[Any, str | None] = {}
    match = OlmocrMatch()
    index = _DocumentIndex(run.documents, pdfs_dir)
    used: set[int] = set()
    for pdf in sorted(set(pdf_names)):
        doc, how = index.find(pdf)
        if doc is None:
            (match.ambiguous if how == "ambiguous" else match.unmatched).append(pdf)
            continue
        (match.by_path if how == "path" else match.by_stem).append(pdf)
        used.add(id(doc))
        outputs[pdf] = doc.markdown
        for page_idx, markdown in doc.pages.items():
            outputs[(pdf, page_idx + 1)] = markdown
    match.unused = [d.source or d.name for d in run.documents if id(d) not in used]
    return outputs, match


@dataclass
class OmnidocbenchMatch:
    matched: list[str] = field(default_factory=list)  # GT image names with a document
    failed: list[str] = field(default_factory=list)  # ... whose document has no Markdown (scored as empty)
    missing: list[str] = field(default_factory=list)  # GT image names with no document (not scored)
    unused: list[str] = field(default_factory=list)  # documents that match no GT page

    def to_dict(self) -> dict[str, Any]:
        return {"matched": len(self.matched), "failed": self.failed, "missing": self.missing,
                "unused_documents": self.unused}  # fmt: skip


def omnidocbench_predictions(run: RunOutputs, image_names: Iterable[str]) -> tuple[dict[str, str], OmnidocbenchMatch]:
    """Markdown keyed by GT page stem (image name without extension) for every GT page that has a document."""
    by_key: dict[str, DocumentOutput] = {}
    for doc in run.documents:  # docray's name first, then the source's stem and file name
        for key in (doc.name, _stem(doc.source or ""), posixpath.basename(local_path(doc.source or ""))):
            if key:
                by_key.setdefault(key, doc)
    predictions: dict[str, str] = {}
    match = OmnidocbenchMatch()
    used: set[int] = set()
    for image in image_names:
        stem = image.rsplit(".", 1)[0]
        doc = next((by_key[k] for k in (stem, stem.replace(".pdf", ""), image) if k in by_key), None)
        if doc is None:
            match.missing.append(image)
            continue
        used.add(id(doc))
        match.matched.append(image)
        if doc.markdown is None or doc.status == "error":
            match.failed.append(image)
        predictions[stem] = doc.markdown or ""
    match.unused = [d.source or d.name for d in run.documents if id(d) not in used]
    return predictions, match


@dataclass
class StemMatch:
    """How a run's documents lined up with ground truth keyed by document stem (users' own labels)."""

    matched: list[str] = field(default_factory=list)  # GT stems with exactly one document
    missing: list[str] = field(default_factory=list)  # GT stems with no document
    ambiguous: list[str] = field(default_factory=list)  # GT stems that several documents share
    unused: list[str] = field(default_factory=list)  # documents that match no GT stem

    def to_dict(self) -> dict[str, Any]:
        return {"matched": len(self.matched), "missing": self.missing, "ambiguous": self.ambiguous,
                "unused_documents": self.unused}  # fmt: skip


def stem_outputs(run: RunOutputs, stems: Iterable[str]) -> tuple[dict[str, DocumentOutput], StemMatch]:
    """The document of each ground-truth stem: the one document whose ``name`` or source file stem is the stem
    (a stem given as a path or file name, ``pdf/report.pdf``, counts by its file stem)."""
    index: dict[str, list[DocumentOutput]] = {}
    for doc in run.documents:
        for key in {doc.name, _stem(doc.source or "")} - {""}:
            index.setdefault(key, []).append(doc)
    outputs: dict[str, DocumentOutput] = {}
    match = StemMatch()
    used: set[int] = set()
    for stem in stems:
        found = index.get(stem) or index.get(_stem(stem), [])
        if len(found) == 1:
            outputs[stem] = found[0]
            match.matched.append(stem)
            used.add(id(found[0]))
        else:
            (match.ambiguous if found else match.missing).append(stem)
    match.unused = [d.source or d.name for d in run.documents if id(d) not in used]
    return outputs, match
