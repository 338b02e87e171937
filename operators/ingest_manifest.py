"""Manifest inputs: files that list document URIs instead of holding documents.

A *manifest* is an input file that lists documents: one named with ``--manifest`` (any suffix), a
``*.jsonl`` / ``*.ndjson`` / ``*.csv`` / ``*.txt`` file whose content says so (:func:`manifest_evidence`:
a ``.jsonl`` whose first line names a document, a ``.csv`` whose header has a source-like column, a
``.txt`` whose every line is a URL or an existing file), or a Parquet file with a source-like column
(``source``, ``path``, ``url``, ``uri``) and no binary column.  A ``.txt``/``.csv``/``.jsonl`` file whose
content does not say so is a document (and, not being a PDF or image, an ``unsupported_format`` row).  Each entry names one document (a local path, ``s3://...``, any fsspec URL) and optionally
its output ``name``:

* ``.txt``: one URI per line; ``#`` comment lines are skipped.
* ``.jsonl`` / ``.ndjson``: one JSON value per line, a string (the URI) or an object with a
  source-like key and an optional ``"name"``.
* ``.csv``: a header naming a source-like column (and optionally ``name``); without such a header
  the first column holds the URIs.
* Parquet: the first source-like string column, and ``name`` where present.

Relative entries resolve against the manifest's own directory (on the manifest's filesystem);
absolute paths and ``~`` are local paths; URLs stay as given.  Entries are not checked here: one
that does not exist becomes a ``not_found`` row downstream.  Blank lines are skipped; malformed
lines raise ``ValueError`` naming the file and line, so no entry is lost unnoticed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

TEXT_MANIFEST_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".txt")
SOURCE_KEYS = ("source", "path", "url", "uri")  # tried in order
NAME_KEY = "name"
PASSWORD_KEY = "password"  # an optional manifest column: the document's PDF password (never written anywhere)
TXT_CHECKED_LINES = 200  # a .txt on a remote filesystem: how many of its path lines are checked to exist


@dataclass(frozen=True)
class ManifestEntry:
    """One document a manifest names: its URI as written and its output name, if given."""

    uri: str
    name: str | None = None
    password: str | None = field(default=None, repr=False)


def is_text_manifest(path: str) -> bool:
    """Whether ``path`` names a text manifest (by its suffix)."""
    return posixpath.splitext(path)[1].lower() in TEXT_MANIFEST_SUFFIXES


# --------------------------------------------------------------------------- text manifests


def parse_manifest_text(text: str, suffix: str, where: str = "manifest") -> list[ManifestEntry]:
    """The entries of a text manifest whose file suffix is ``suffix`` (``.txt``, ``.csv``, ...)."""
    suffix = suffix.lower()
    if suffix == ".txt":
        return parse_txt(text)
    if suffix == ".csv":
        return parse_csv(text, where)
    if suffix in (".jsonl", ".ndjson"):
        return parse_jsonl(text, where)
    raise ValueError(f"{where}: not a manifest suffix {suffix!r}; use one of {', '.join(TEXT_MANIFEST_SUFFIXES)}")


def parse_txt(text: str) -> list[ManifestEntry]:
    """One URI per line; blank lines and ``#`` comments skipped."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(ManifestEntry(line))
    return entries


def parse_jsonl(text: str, where: str = "manifest") -> list[ManifestEntry]:
    """One JSON string or object (source/path/url/uri, optional name) per line."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} line {number}: not JSON ({exc.msg})") from None
        password = None
        if isinstance(value, str):
            uri, name = value, None
        elif isinstance(value, dict):
            uri = next((value[k] for k in SOURCE_KEYS if value.get(k) not in (None, "")), None)
            name, password = value.get(NAME_KEY), value.get(PASSWORD_KEY)
        else:
            uri, name = None, None
        if not isinstance(uri, str) or not uri.strip():
            raise ValueError(
                f"{where} line {number}: expected a URI string or an object with one of "
                f"{', '.join(SOURCE_KEYS)}, got {line[:120]}"
            )
        entries.append(ManifestEntry(uri.strip(), _name(name), _password(password)))
    return entries


def parse_csv(text: str, where: str = "manifest") -> list[ManifestEntry]:
    """A CSV with a header naming a source-like column (and ``name``), or URIs in its first column."""
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    source_at = next((header.index(k) for k in SOURCE_KEYS if k in header), None)
    if source_at is None:
        source_at, name_at, body = 0, None, rows
    else:
        name_at, body = (header.index(NAME_KEY) if NAME_KEY in header else None), rows[1:]
    password_at = header.index(PASSWORD_KEY) if source_at is not None and PASSWORD_KEY in header else None
    entries = []
    for row in body:
        uri = row[source_at].strip() if source_at < len(row) else ""
        if not uri:
            raise ValueError(f"{where}: a row has no URI in column {source_at + 1}: {row}")
        name = row[name_at] if name_at is not None and name_at < len(row) else None
        password = row[password_at] if password_at is not None and password_at < len(row) else None
        entries.append(ManifestEntry(uri, _name(name), _password(password)))
    return entries


# --------------------------------------------------------------------------- Parquet manifests


def manifest_source_column(schema: pa.Schema) -> str | None:
    """The column listing URIs when a Parquet schema is a manifest (a string source-like column
    and no binary column), else None (a Parquet input carrying document bytes)."""
    if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in schema):
        return None
    names = schema.names
    for key in SOURCE_KEYS:
        if key in names and (
            pa.types.is_string(schema.field(key).type) or pa.types.is_large_string(schema.field(key).type)
        ):
            return key
    return None


def entries_from_table(table: pa.Table, source_column: str, where: str = "manifest") -> tuple[list[ManifestEntry], int]:
    """The entries of a Parquet manifest's rows and how many rows had no URI (null or empty)."""
    uris = table.column(source_column).to_pylist()
    names = table.column(NAME_KEY).to_pylist() if NAME_KEY in table.column_names else [None] * len(uris)
    entries, empty = [], 0
    for uri, name in zip(uris, names):
        if uri is None or not str(uri).strip():
            empty += 1
            continue
        entries.append(ManifestEntry(str(uri).strip(), _name(name)))
    return entries, empty


# --------------------------------------------------------------------------- resolution


def resolve_uri(uri: str, base: str) -> str:
    """``uri`` as a source: URLs as given (``file://`` becomes a local path), absolute and ``~``
    paths local, relative ones joined to ``base`` (the manifest's directory, a local path or URL)."""
    if uri.startswith("file://"):
        return os.path.normpath(uri[len("file://") :])
    if "://" in uri:
        return uri
    if uri.startswith("~"):
        return os.path.normpath(os.path.expanduser(uri))
    if os.path.isabs(uri):
        return os.path.normpath(uri)
    if "://" in base:
        protocol, rest = base.split("://", 1)
        joined = posixpath.normpath(posixpath.join(rest, uri))
        return f"{protocol}://{'/' if rest.startswith('/') and not joined.startswith('/') else ''}{joined}"
    return os.path.normpath(os.path.join(base, uri))


def _password(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _name(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------- is it a manifest?


def manifest_evidence(fs: Any, path: str, where: str | None = None) -> tuple[bool, str]:
    """Whether the ``.jsonl``/``.ndjson``/``.csv``/``.txt`` file ``path`` lists documents, and why (for the summary).

    Only unambiguous content counts: a ``.jsonl`` whose first line is a JSON string or an object with a
    source-like key; a ``.csv`` whose header names a source-like column; a ``.txt`` with at least one entry
    whose every line is a URL (``scheme://...``) or an existing file (relative lines resolve against the
    file's folder; on a remote filesystem the first :data:`TXT_CHECKED_LINES` path lines are checked).
    Anything else is a document, as named.
    """
    where = where or path
    suffix = posixpath.splitext(path)[1].lower()
    try:
        with fs.open(path, "rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return False, "not UTF-8 text"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if suffix in (".jsonl", ".ndjson"):
        if not lines:
            return False, "it is empty"
        try:
            first = json.loads(lines[0])
        except json.JSONDecodeError:
            return False, "its first line is not JSON"
        if isinstance(first, str) or (isinstance(first, dict) and any(first.get(k) for k in SOURCE_KEYS)):
            return True, f"its first line names a document ({len(lines)} lines)"
        return False, f"its first line is not a URI string nor an object with one of {', '.join(SOURCE_KEYS)}"
    if suffix == ".csv":
        header = next(csv.reader(io.StringIO(text)), [])
        column = next((c.strip() for c in header if c.strip().lower() in SOURCE_KEYS), None)
        if column:
            return True, f"its header has a {column!r} column ({max(0, len(lines) - 1)} rows)"
        return False, f"its header has no {'/'.join(SOURCE_KEYS)} column"
    entries = parse_txt(text)
    if not entries:
        return False, "it lists nothing"
    base = path.rsplit("/", 1)[0] if "/" in path else "."
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
    checked = 0
    for number, entry in enumerate(entries, start=1):
        if "://" in entry.uri:
            continue
        if not local and checked >= TXT_CHECKED_LINES:
            break
        checked += 1
        target = entry.uri if posixpath.isabs(entry.uri) or entry.uri.startswith("~") else posixpath.join(base, entry.uri)
        target = posixpath.normpath(os.path.expanduser(target) if local else target)
        if not fs.isfile(target):
            return False, f"entry {number} ({entry.uri[:60]!r}) is neither a URL nor an existing file"
    return True, f"each of its {len(entries)} lines is a URL or an existing file"


# --------------------------------------------------------------------------- reading (fsspec)


def parquet_manifest_column(fs: Any, path: str) -> str | None:
    """The URI column of the Parquet file ``path`` on ``fs`` when it is a manifest, else None
    (reads only the footer)."""
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as handle:
        return manifest_source_column(pq.read_schema(handle))


def read_manifest(fs: Any, path: str, where: str | None = None) -> tuple[list[ManifestEntry], int]:
    """The entries of the manifest ``path`` on ``fs`` (Parquet, else text by suffix, ``.txt`` for others), as written,
    and how many Parquet rows had no URI.  Raises ``ValueError`` for an unreadable manifest."""
    where = where or path
    suffix = posixpath.splitext(path)[1].lower()
    try:
        if suffix != ".parquet":  # text by its suffix; any other suffix (an explicit --manifest) one URI per line
            with fs.open(path, "rb") as handle:
                text = handle.read().decode("utf-8-sig")
            return parse_manifest_text(text, suffix if suffix in TEXT_MANIFEST_SUFFIXES else ".txt", where), 0
        import pyarrow.parquet as pq

        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            column = manifest_source_column(parquet.schema_arrow)
            if column is None:
                raise ValueError(f"{where}: Parquet has no string {'/'.join(SOURCE_KEYS)} column to list documents")
            wanted = [column] + ([NAME_KEY] if NAME_KEY in parquet.schema_arrow.names else [])
            table = parquet.read(columns=wanted)
        return entries_from_table(table, column, where)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: a manifest must be UTF-8 text ({exc})") from None
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"cannot read manifest {where}: {type(exc).__name__}: {exc}") from exc
