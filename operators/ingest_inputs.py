"""Driver-side input expansion: paths, directories, globs, URLs, manifests and Parquet files to source rows.

:func:`expand_inputs` turns what a user names on the command line into rows of the *sources*
table (``source``, ``name``, ``bytes``) plus a list of Parquet inputs whose rows carry document
bytes; :func:`sources_from_parquet` maps a batch of such a Parquet input to the same columns.
Manifests (lists of document URIs: ``.jsonl``, ``.csv``, ``.txt``, Parquet without bytes) are
read here, see :mod:`docray.operators.ingest_manifest`.  Local sources are absolute POSIX paths;
other filesystems keep their protocol (``memory:///dir/a.pdf``, ``s3://bucket/a.pdf``).  Both are
valid fsspec URLs; every filesystem comes from :func:`docray.storage.url_to_fs`.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from docray.operators.ingest_manifest import (
    is_text_manifest,
    manifest_evidence,
    parquet_manifest_column,
    read_manifest,
    resolve_uri,
)
from docray.schema import schema_of
from docray.storage import full_uri, url_to_fs

SUPPORTED_SUFFIXES = (
    ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp",
    # converted natively (operators/convert/); ingest sniffs each file's real format from its bytes
    ".docx", ".docm", ".dotx", ".pptx", ".pptm", ".ppsx", ".xlsx", ".xlsm", ".xltx",
    ".html", ".htm", ".xhtml", ".epub", ".odt", ".ods", ".odp", ".csv", ".tsv",
    ".doc", ".xls", ".ppt",  # binary Office: listed so each becomes a clear legacy_office error row, not skipped
)  # fmt: skip
PARQUET_SUFFIX = ".parquet"
SOURCE_COLUMN_CANDIDATES = ("source", "path", "url", "uri")  # tried in order when none is named
SOURCES = schema_of(("source", "name", "bytes"))
_MAX_NAME_CHARS = 150
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


@dataclass
class ExpandedInputs:
    """What :func:`expand_inputs` found: document rows, Parquet inputs and notes for the user."""

    files: list[dict[str, Any]] = field(default_factory=list)  # sources rows, sorted by source
    parquet: list[str] = field(default_factory=list)  # Parquet URIs whose rows carry document bytes
    warnings: list[str] = field(default_factory=list)  # inputs that yielded nothing, skipped files
    decisions: list[str] = field(default_factory=list)  # how each named .txt/.csv/.jsonl file was read, and why
    missing: list[str] = field(default_factory=list)  # inputs named on the command line that do not exist
    passwords: dict[str, str] = field(default_factory=dict, repr=False)  # source -> a manifest's password column

    @property
    def empty(self) -> bool:
        return not self.files and not self.parquet


def expand_inputs(
    inputs: list[str], *, storage_options: dict[str, Any] | None = None, manifests: list[str] | None = None
) -> ExpandedInputs:
    """Expand input paths/URLs/globs/directories/manifests into sources rows and Parquet URIs.

    Directories are searched recursively for supported documents (hidden files skipped); a
    directory holding only ``.parquet`` files is a Parquet input.  A named path that does not exist
    still becomes a row, so it is reported as ``not_found`` downstream; so does every manifest
    entry, unchecked.  A manifest's ``name`` values name their documents; other documents are
    named by their stems (made unique).  ``manifests`` are read as manifests whatever their suffix
    or content; a named ``.txt``/``.csv``/``.jsonl`` file is one only when its content says so
    (:func:`~docray.operators.ingest_manifest.manifest_evidence`; each decision is in ``decisions``).
    Raises ``ValueError`` for a URL whose filesystem is unknown or not installed, for an unreadable or
    malformed manifest, and for an explicit manifest that does not exist.
    """
    found = ExpandedInputs()
    docs: dict[str, str | None] = {}  # source -> the name a manifest gave it
    parquet: dict[str, None] = {}
    named = [(given, False) for given in inputs] + [(given, True) for given in manifests or []]
    for given, explicit in named:
        try:
            fs, path = url_to_fs(given, storage_options)
        except ValueError as exc:
            raise ValueError(f"cannot open input {given!r}: {exc}") from exc
        if explicit:
            if not fs.isfile(path):
                raise ValueError(f"--manifest {given}: no such file")
            found.decisions.append(f"{given}: read as a manifest (--manifest)")
            found_docs, found_parquet, listed = [], [], [path]
        else:
            found_docs, found_parquet, listed = _expand_one(given, fs, path, found)
        for p in found_docs:
            docs.setdefault(full_uri(fs, p), None)
        if found_parquet and _is_parquet_manifest(given, fs, found_parquet[0]):
            listed, found_parquet = listed + found_parquet, []
        for p in listed:
            _add_manifest(fs, p, docs, found)
        parquet.update((full_uri(fs, p), None) for p in found_parquet)
    sources = sorted(docs)
    names = unique_names(sources, [safe_name(docs[s]) if docs[s] else stem_of(s) for s in sources])
    found.files = [{"source": s, "name": n, "bytes": None} for s, n in zip(sources, names)]
    found.parquet = sorted(parquet)
    return found


def _expand_one(given: str, fs: Any, path: str, found: ExpandedInputs) -> tuple[list[str], list[str], list[str]]:
    """Documents, Parquet files and text manifests named by one input."""
    warnings = found.warnings
    if _has_magic(path):
        return *_expand_glob(given, fs, path, warnings), []
    try:
        info = fs.info(path)
    except FileNotFoundError:
        found.missing.append(given)
        return [path], [], []  # accounted for: becomes a not_found row
    if info.get("type") == "directory":
        return *_expand_dir(given, fs, path, warnings), []
    if path.lower().endswith(PARQUET_SUFFIX):
        return [], [path], []
    if is_text_manifest(path):
        listing, why = manifest_evidence(fs, path, given)
        if listing:
            found.decisions.append(f"{given}: read as a manifest: {why}")
            return [], [], [path]
        found.decisions.append(f"{given}: read as a document, not a manifest: {why} (--manifest {given} reads it as one)")
    return [path], [], []  # named explicitly: kept whatever its suffix; ingest sniffs the content


def _is_parquet_manifest(given: str, fs: Any, path: str) -> bool:
    """Whether the Parquet files of one input list URIs (the first file's schema decides)."""
    try:
        return parquet_manifest_column(fs, path) is not None
    except Exception as exc:  # not Parquet, truncated, unreadable: say so before any work starts
        raise ValueError(f"{given}: cannot read the Parquet schema of {path}: {type(exc).__name__}: {exc}") from exc


def _add_manifest(fs: Any, path: str, docs: dict[str, str | None], found: ExpandedInputs) -> None:
    warnings = found.warnings
    where = full_uri(fs, path)
    entries, empty = read_manifest(fs, path, where)
    base = full_uri(fs, path.rsplit("/", 1)[0]) if "/" in path else full_uri(fs, ".")
    duplicates = 0
    for entry in entries:
        source = resolve_uri(entry.uri, base)
        if source in docs:
            duplicates += 1
            continue
        docs[source] = entry.name
        if entry.password is not None:
            found.passwords[source] = entry.password
    if duplicates:
        warnings.append(f"{where}: skipped {duplicates} duplicate entr{'y' if duplicates == 1 else 'ies'}")
    if empty:
        warnings.append(f"{where}: skipped {empty} row(s) without a URI")
    if not entries:
        warnings.append(f"{where}: manifest lists no documents")


def _expand_glob(given: str, fs: Any, pattern: str, warnings: list[str]) -> tuple[list[str], list[str]]:
    root = _glob_root(pattern)
    files: dict[str, None] = {}
    for match in sorted(fs.glob(pattern)):
        if fs.isdir(match):
            files.update((p, None) for p in fs.find(match))
        else:
            files[match] = None
    return _classify(given, [p for p in files if not _is_hidden(p, root)], warnings, "no supported documents match")


def _expand_dir(given: str, fs: Any, root: str, warnings: list[str]) -> tuple[list[str], list[str]]:
    entries = [p for p in fs.find(root) if not _is_hidden(p, root)]
    return _classify(given, entries, warnings, "directory holds no supported documents")


def _classify(given: str, entries: list[str], warnings: list[str], none_found: str) -> tuple[list[str], list[str]]:
    """Documents and Parquet files among ``entries``; Parquet only when nothing else is there."""
    docs = [p for p in entries if _suffix(p) in SUPPORTED_SUFFIXES]
    parquet = [p for p in entries if _suffix(p) == PARQUET_SUFFIX]
    # Spark/Hive-style marker files (_SUCCESS, _metadata) do not stop a directory being a dataset.
    data_files = [p for p in entries if not posixpath.basename(p).startswith("_")]
    if parquet and len(parquet) == len(data_files):
        return [], parquet
    if parquet:
        warnings.append(f"{given}: ignored {len(parquet)} Parquet file(s) found beside other files")
    others = len(entries) - len(docs) - len(parquet)
    if others:
        warnings.append(f"{given}: skipped {others} file(s) without a supported suffix ({_suffix_list()})")
    if not docs:
        warnings.append(f"{given}: {none_found}")
    return docs, []


# --------------------------------------------------------------------------- Parquet input


def sources_from_parquet(
    table: pa.Table, *, uri: str, bytes_column: str = "bytes", source_column: str | None = None
) -> pa.Table:
    """Map a batch of a Parquet input to the sources schema (``source``, ``name``, ``bytes``).

    ``source`` is the value of ``source_column`` (by default the first of ``source``, ``path``,
    ``url``, ``uri`` present) or, where there is none, ``f"{uri}#sha256={digest}"`` of the bytes;
    ``name`` is the source's stem or ``doc-<sha256[:16]>``.  A null bytes value becomes ``b""``
    (an ``empty_file`` error row).  Rows repeating a source within the batch are dropped.  Raises
    ``ValueError`` when the bytes (or named source) column is missing or not binary.
    """
    columns = table.column_names
    if bytes_column not in columns:
        raise ValueError(
            f"Parquet input {uri}: no column {bytes_column!r} with document bytes; "
            f"available columns: {', '.join(columns) or '(none)'}; set bytes_column to one of them"
        )
    bytes_type = table.schema.field(bytes_column).type
    if not (pa.types.is_binary(bytes_type) or pa.types.is_large_binary(bytes_type)):
        raise ValueError(f"Parquet input {uri}: column {bytes_column!r} must be binary, not {bytes_type}")
    if source_column is not None and source_column not in columns:
        raise ValueError(
            f"Parquet input {uri}: no source column {source_column!r}; available columns: {', '.join(columns)}"
        )
    source_column = source_column or next((c for c in SOURCE_COLUMN_CANDIDATES if c in columns), None)
    contents = table.column(bytes_column).to_pylist()
    given_sources = table.column(source_column).to_pylist() if source_column else [None] * len(contents)
    rows: dict[str, dict[str, Any]] = {}
    for data, given in zip(contents, given_sources):
        data = b"" if data is None else bytes(data)
        if given is None or str(given) == "":
            digest = hashlib.sha256(data).hexdigest()
            source, name = f"{uri}#sha256={digest}", f"doc-{digest[:16]}"
        else:
            source = str(given)
            name = stem_of(source)
        rows.setdefault(source, {"source": source, "name": name, "bytes": data})
    kept = list(rows.values())
    for row, name in zip(kept, unique_names([r["source"] for r in kept], [r["name"] for r in kept])):
        row["name"] = name
    return pa.Table.from_pylist(kept, schema=SOURCES)


# --------------------------------------------------------------------------- names


def safe_name(stem: str) -> str:
    """A filesystem-safe output stem: no separators/control/reserved characters, no leading dot."""
    name = _UNSAFE.sub("_", stem).strip().lstrip(".").rstrip(". ")
    return name[:_MAX_NAME_CHARS] or "doc"


def stem_of(source: str) -> str:
    """Safe file stem of a source URI (its last path component without the last suffix)."""
    base = posixpath.basename(source.rstrip("/"))
    stem, _ = posixpath.splitext(base)
    return safe_name(stem or base)


def unique_names(sources: list[str], names: list[str] | None = None) -> list[str]:
    """Names for ``sources`` (default: their stems), suffixed ``_<sha1(source)[:8]>`` where two
    collide (case-insensitively, as on macOS/Windows filesystems)."""
    names = [stem_of(s) for s in sources] if names is None else list(names)
    counts: dict[str, int] = {}
    for name in names:
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    return [
        f"{name}_{hashlib.sha1(source.encode()).hexdigest()[:8]}" if counts[name.casefold()] > 1 else name
        for source, name in zip(sources, names)
    ]


# --------------------------------------------------------------------------- helpers


def _has_magic(path: str) -> bool:
    return any(c in path for c in "*?[")


def _glob_root(pattern: str) -> str:
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if _has_magic(part):
            return "/".join(parts[:i])
    return pattern


def _is_hidden(path: str, root: str) -> bool:
    relative = path[len(root) :] if path.startswith(root) else posixpath.basename(path)
    return any(part.startswith(".") for part in relative.split("/") if part)


def _suffix(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def _suffix_list() -> str:
    return ", ".join(SUPPORTED_SUFFIXES)
