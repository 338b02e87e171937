"""EPUB (2 and 3) to blocks.  A page is a spine item (a chapter file), in the spine's reading order.

The package is read as EPUB defines it: ``META-INF/container.xml`` names the package document (OPF),
whose manifest maps ids to files and whose spine lists the content documents in reading order.  Each
XHTML content document goes through the HTML converter (:mod:`.web`), its images read from the package
(paths relative to the chapter).  Spine items marked ``linear="no"`` (notes, covers shown out of
order) come after the linear ones.  Navigation documents (EPUB 3 ``nav``, the NCX) are not content.

ebooklib, the common EPUB library, is AGPL-3.0, which an Apache-2.0 project cannot take as a
dependency; the package structure above is small, and the standard library's ``zipfile`` with lxml
reads it.
"""

from __future__ import annotations

import io
import posixpath
import urllib.parse
import zipfile

from lxml import etree

from docray.operators.base import DocrayError
from docray.operators.convert.blocks import ConvertedPage, PageBuilder
from docray.operators.convert.web import HtmlWalker, parse_html
from docray.schema import ErrorCode

_CONTAINER_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container"}
_OPF_NS = {"opf": "http://www.idpf.org/2007/opf"}
_XHTML = ("application/xhtml+xml", "text/html")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def convert(data: bytes) -> list[ConvertedPage]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    opf_path = _package_path(archive)
    opf = etree.fromstring(archive.read(opf_path), _PARSER)
    base = posixpath.dirname(opf_path)
    manifest = {
        item.get("id"): (posixpath.normpath(posixpath.join(base, urllib.parse.unquote(item.get("href") or ""))), item.get("media-type") or "", item.get("properties") or "")
        for item in opf.iterfind("opf:manifest/opf:item", _OPF_NS)
    }
    refs = list(opf.iterfind("opf:spine/opf:itemref", _OPF_NS))
    ordered = [r for r in refs if r.get("linear") != "no"] + [r for r in refs if r.get("linear") == "no"]
    pages = []
    for ref in ordered:
        path, media, properties = manifest.get(ref.get("idref"), ("", "", ""))
        if media not in _XHTML or "nav" in properties.split() or path not in archive.namelist():
            continue
        builder = PageBuilder()
        HtmlWalker(builder, resolve_image=_resolver(archive, path)).document(parse_html(archive.read(path)))
        pages.append(builder.page())
    return pages


def _package_path(archive: zipfile.ZipFile) -> str:
    try:
        container = etree.fromstring(archive.read("META-INF/container.xml"), _PARSER)
    except KeyError as exc:
        raise DocrayError(ErrorCode.CORRUPT, "an EPUB without META-INF/container.xml") from exc
    rootfile = container.find("c:rootfiles/c:rootfile", _CONTAINER_NS)
    if rootfile is None or not rootfile.get("full-path"):
        raise DocrayError(ErrorCode.CORRUPT, "an EPUB whose container.xml names no package document")
    return rootfile.get("full-path")


def _resolver(archive: zipfile.ZipFile, chapter: str):
    names = set(archive.namelist())

    def resolve(src: str) -> bytes | None:
        if "://" in src:
            return None
        path = posixpath.normpath(posixpath.join(posixpath.dirname(chapter), urllib.parse.unquote(src.split("#")[0])))
        return archive.read(path) if path in names else None

    return resolve
