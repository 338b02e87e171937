"""What an Office, web, e-book or delimited-text document is, from its bytes (never its name).

* ZIP containers: an OpenDocument or EPUB file names its type in its first entry, ``mimetype``; an
  OOXML file (Word, PowerPoint, Excel) in ``[Content_Types].xml``, by the content type of its main
  part (``word/document.xml`` and so on).  A ZIP that cannot be listed is ``corrupt``; an OOXML
  container with macros (``vbaProject.bin``) and no document part (an add-in) is ``macro_only``.
* OLE compound files (``D0 CF 11 E0``): a password-protected OOXML file is an OLE file with an
  ``EncryptedPackage`` stream (``encrypted``); any other is a binary .doc/.xls/.ppt (``legacy_office``).
* HTML: text whose first tag is an HTML document or HTML element (``<!doctype html``, ``<html``, ``<body``,
  ``<div`` ...), XHTML included.
* CSV: text whose first lines split on one delimiter (comma, semicolon, tab or pipe) into the same
  number (at least two) of fields (:func:`csv_dialect`).  A one-column text file has no delimiter to
  find: it is read as CSV only when its name says ``.csv``/``.tsv`` (the one place a name is used).

:func:`sniff_container` returns ``(DocKind, mime)``, None when the bytes are none of these, or
raises :class:`DocrayError` with the error code of an unusable file.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from xml.etree import ElementTree

from docray.operators.base import DocrayError
from docray.schema import DocKind, ErrorCode

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_SAMPLE = 16 * 1024
CSV_DELIMITERS = ",;\t|"

_ODF_EPUB_MIMETYPES = {
    "application/epub+zip": DocKind.EPUB,
    "application/vnd.oasis.opendocument.text": DocKind.ODT,
    "application/vnd.oasis.opendocument.text-template": DocKind.ODT,
    "application/vnd.oasis.opendocument.spreadsheet": DocKind.ODS,
    "application/vnd.oasis.opendocument.spreadsheet-template": DocKind.ODS,
    "application/vnd.oasis.opendocument.presentation": DocKind.ODP,
    "application/vnd.oasis.opendocument.presentation-template": DocKind.ODP,
}

# content type of the main part (lower case, without '+xml' parameters) -> kind, the mime the document gets
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DocKind.DOCX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": DocKind.DOCX,
    "application/vnd.ms-word.document.macroenabled.main+xml": DocKind.DOCX,
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": DocKind.DOCX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": DocKind.PPTX,
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": DocKind.PPTX,
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": DocKind.PPTX,
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": DocKind.PPTX,
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml": DocKind.PPTX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": DocKind.XLSX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": DocKind.XLSX,
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": DocKind.XLSX,
    "application/vnd.ms-excel.template.macroenabled.main+xml": DocKind.XLSX,
}
_OOXML_STRICT_MAIN = {  # ISO 29500 Strict files declare the same parts under the purl.oclc.org namespaces
    "/word/document.xml": DocKind.DOCX,
    "/ppt/presentation.xml": DocKind.PPTX,
    "/xl/workbook.xml": DocKind.XLSX,
}
MIMES = {
    DocKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocKind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    DocKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    DocKind.HTML: "text/html",
    DocKind.CSV: "text/csv",
    **{kind: mime for mime, kind in _ODF_EPUB_MIMETYPES.items() if not mime.endswith("-template")},
}
_HTML_START = re.compile(
    rb"^(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|table|h[1-6]|ul|ol|article|section|span|a)[\s>/]",
    re.IGNORECASE | re.DOTALL,
)


def sniff_container(data: bytes, name: str = "") -> tuple[DocKind, str] | None:
    """``(kind, mime)`` of an Office/ODF/EPUB/HTML/CSV document, None when it is none of them.

    Raises :class:`DocrayError` (``corrupt``, ``encrypted``, ``macro_only``, ``legacy_office``) for a
    file that is one of these containers but cannot be read.
    """
    if data.startswith(ZIP_MAGIC):
        return _sniff_zip(data)
    if data.startswith(OLE_MAGIC):
        _raise_ole(data)
    text = _decoded_head(data)
    if text is None:
        return None
    if _HTML_START.match(data.lstrip(b"\xef\xbb\xbf")[:4096]):
        return DocKind.HTML, MIMES[DocKind.HTML]
    if csv_dialect(text) is not None or (name.lower().endswith((".csv", ".tsv")) and text.strip()):
        return DocKind.CSV, MIMES[DocKind.CSV]
    return None


def _sniff_zip(data: bytes) -> tuple[DocKind, str] | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "mimetype" in names:
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
            kind = _ODF_EPUB_MIMETYPES.get(mimetype)
            if kind is not None:
                return kind, mimetype.removesuffix("-template")
        if "[Content_Types].xml" in names:
            return _sniff_ooxml(archive.read("[Content_Types].xml"), names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise DocrayError(ErrorCode.CORRUPT, f"a ZIP container that cannot be read: {type(exc).__name__}: {exc}") from exc
    return None


def _sniff_ooxml(content_types: bytes, names: set[str]) -> tuple[DocKind, str]:
    try:
        root = ElementTree.fromstring(content_types)
    except ElementTree.ParseError as exc:
        raise DocrayError(ErrorCode.CORRUPT, f"an Office file whose [Content_Types].xml does not parse: {exc}") from exc
    for element in root:
        content_type = (element.get("ContentType") or "").lower()
        kind = _OOXML_MAIN.get(content_type)
        part = element.get("PartName") or ""
        if kind is None and element.tag.endswith("Override") and content_type.endswith("main+xml"):
            kind = _OOXML_STRICT_MAIN.get(part)
        if kind is not None:
            if part and part.lstrip("/") not in names:
                raise DocrayError(ErrorCode.CORRUPT, f"an Office file whose main part {part} is missing")
            return kind, MIMES[kind]
    if any(n.endswith("vbaProject.bin") for n in names):
        raise DocrayError(
            ErrorCode.MACRO_ONLY, "an Office container with macros (vbaProject.bin) but no document, slides or workbook"
        )
    raise DocrayError(ErrorCode.UNSUPPORTED_FORMAT, "an OOXML package that is not a Word, PowerPoint or Excel document")


def _raise_ole(data: bytes) -> None:
    if "EncryptedPackage".encode("utf-16-le") in data[:1_048_576] or "EncryptionInfo".encode("utf-16-le") in data[:1_048_576]:
        raise DocrayError(ErrorCode.ENCRYPTED, "a password-protected Office file (OLE container with an EncryptedPackage)")
    raise DocrayError(
        ErrorCode.LEGACY_OFFICE,
        "a binary (OLE) Office file (.doc/.xls/.ppt); save it as .docx/.xlsx/.pptx or PDF to parse it",
    )


def _decoded_head(data: bytes) -> str | None:
    """The start of a text document, or None for binary data."""
    sample = data[:_TEXT_SAMPLE]
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.start >= len(sample) - 4:  # a character cut by the sample's end
                text = sample[: exc.start].decode(encoding)
            else:
                continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        return text if text and printable >= 0.98 * len(text) else None
    return None


def csv_dialect(text: str) -> type[csv.Dialect] | None:
    """The dialect of delimited text, else None.

    Each candidate delimiter splits the first lines with the ``csv`` module (quotes respected); the one
    under which most lines have the same number (>= 2) of fields wins, when at least 60% of the lines
    agree.  (``csv.Sniffer`` gives up on files with ragged rows, which are common.)"""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(text) >= _TEXT_SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sample's end
    if len(lines) < 2:
        return None
    best: tuple[float, int, str] | None = None
    for delimiter in CSV_DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        common = max(set(widths), key=lambda w: (widths.count(w), w))
        agreement = widths.count(common) / len(widths)
        if common >= 2 and agreement >= 0.6 and (best is None or (agreement, common) > best[:2]):
            best = (agreement, common, delimiter)
    if best is None:
        return None
    return type("SniffedDialect", (csv.excel,), {"delimiter": best[2]})
