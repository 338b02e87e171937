"""Word (OOXML .docx/.docm/.dotx) to blocks, with python-docx.

The body is read in order, content controls (``w:sdt``) included:

* paragraphs: style ``Title`` is a level-1 title and ``Heading N`` (or an outline level N-1) level N+1,
  as Word puts the document title above its first heading level; ``Caption`` paragraphs caption the
  figure or table just before them; numbered and bulleted paragraphs (``w:numPr``, directly or from
  their style) are list items at their ``ilvl`` depth, ordered when the numbering format is not a
  bullet; code-styled paragraphs (a style named code/source/preformatted/HTML, or every run in a
  monospace font) are code blocks;
* equations: Word's OMML is converted to LaTeX by dwml; a paragraph holding only an ``m:oMathPara`` is
  a display equation, inline ``m:oMath`` becomes ``$...$`` in its paragraph;
* tables: cells with their ``gridSpan`` (colspan) and ``vMerge`` (rowspan); text of nested tables is kept
  in their cell;
* images: DrawingML (``a:blip``) and VML (``v:imagedata``) pictures embedded in the package (linked
  external pictures are figures without a file); text boxes are read after their paragraph;
* footnotes and endnotes: their text at the end of the document, as ``[n] text`` paragraphs, the
  reference mark ``[n]`` in the body;
* headers and footers of every section are page furniture (discarded blocks of the first page);
  comments and tracked deletions are not content.

A page is the text between hard page breaks (``w:br w:type="page"``, ``pageBreakBefore``).
"""

from __future__ import annotations

import io
import re
from xml.etree import ElementTree

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from dwml.omml import oMath2Latex
from lxml import etree

from docray.operators.base import DocrayError
from docray.operators.convert.blocks import Cell, ConvertedPage, PageBuilder, stack_blocks
from docray.schema import BlockType, ErrorCode

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
M_NS = "http://schemas.openxmlformats.org/officeDocument/2006/math"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
V_NS = "urn:schemas-microsoft-com:vml"
_MONO = re.compile(r"courier|consolas|mono|menlo|lucida console|source code", re.IGNORECASE)
_CODE_STYLE = re.compile(r"code|source|preformatted|html", re.IGNORECASE)
_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_LIST_STYLE_LEVEL = re.compile(r"^list(?: bullet| number| continue)? (\d)$", re.IGNORECASE)  # "List Bullet 2": depth 1
_RECURSE = {qn("w:hyperlink"), qn("w:ins"), qn("w:smartTag"), qn("w:fldSimple"), qn("w:customXml"), qn("w:moveTo"), qn("w:dir"), qn("w:bdo")}


def convert(data: bytes) -> list[ConvertedPage]:
    try:
        document = Document(io.BytesIO(data))
    except KeyError as exc:  # python-docx finds no officeDocument relationship of the Transitional namespace
        if b"purl.oclc.org/ooxml" in data or _strict(data):
            raise DocrayError(
                ErrorCode.CONVERT_FAILED,
                "a Strict OOXML (ISO/IEC 29500 Strict) Word file: python-docx reads Transitional OOXML only; "
                "save it as a standard .docx",
            ) from exc
        raise
    return WordReader(document).pages()


def _strict(data: bytes) -> bool:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"purl.oclc.org/ooxml" in archive.read("_rels/.rels")


def omml_latex(element) -> str:
    """LaTeX of an ``m:oMath`` element (dwml); its plain text when dwml cannot convert it (not silently dropped)."""
    try:
        return str(oMath2Latex(ElementTree.fromstring(etree.tostring(element)))).strip()
    except Exception:
        return "".join(t.text or "" for t in element.iter(f"{{{M_NS}}}t")).strip()


class _Run:
    """What one paragraph holds, in order."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.display: list[str] = []  # display equations (LaTeX)
        self.images: list[bytes | None] = []
        self.boxes: list = []  # text-box paragraphs (w:p), read after the paragraph
        self.page_break = False
        self.mono_runs = 0
        self.text_runs = 0


class WordReader:
    def __init__(self, document) -> None:
        self.doc = document
        self.part = document.part
        self.builder = PageBuilder()
        self.pages_done: list[ConvertedPage] = []
        self.notes: list[tuple[str, str]] = []  # (mark, text) of footnotes/endnotes referenced
        self._note_text = {**self._notes(RT.FOOTNOTES, "w:footnote", ""), **self._notes(RT.ENDNOTES, "w:endnote", "e")}
        self._numbering = self._numbering_formats()

    # ------------------------------------------------------------------ document
    def pages(self) -> list[ConvertedPage]:
        self.body(self.doc.element.body)
        for mark, text in self.notes:
            self.builder.text(f"[{mark}] {text}")
        self._end_page(force=True)
        furniture = PageBuilder()
        self._furniture(furniture)
        first = self.pages_done[0]
        first.discarded = furniture.page().discarded  # one copy of each section's header/footer, on the first page
        stack_blocks(first)
        return self.pages_done

    def body(self, parent) -> None:
        for child in parent.iterchildren():
            if child.tag == qn("w:p"):
                self.paragraph(child)
            elif child.tag == qn("w:tbl"):
                self.table(child)
            elif child.tag in (qn("w:sdt"), qn("w:customXml")):
                content = child.find(qn("w:sdtContent")) if child.tag == qn("w:sdt") else child
                if content is not None:
                    self.body(content)

    def _end_page(self, force: bool = False) -> None:
        if force or not self.builder.empty:
            page = self.builder.page()
            if force and self.pages_done and not page.blocks and not page.images:
                return
            self.pages_done.append(page)

    # ------------------------------------------------------------------ paragraphs
    def paragraph(self, p) -> None:
        style = self._style_name(p)
        if self._break_before(p, style):
            self._end_page()
        run = _Run()
        self._walk(p, run)
        text = "".join(run.text).strip()
        level = self._heading_level(p, style)
        numbering = self._numbering_of(p)
        if text:
            if level:
                self.builder.title(text, level)
            elif style.lower() == "caption":
                if not self.builder.caption(text):
                    self.builder.text(text)
            elif numbering is not None:
                depth, ordered = numbering
                styled = _LIST_STYLE_LEVEL.match(style.strip())
                self.builder.list_item(text, max(depth, int(styled.group(1)) - 1 if styled else 0), ordered)
            elif _CODE_STYLE.search(style) or (run.text_runs and run.mono_runs == run.text_runs):
                for line in "".join(run.text).split("\n"):
                    self.builder.code_line(line)
            else:
                self.builder.text(text)
        for latex in run.display:
            self.builder.equation(latex)
        for image in run.images:
            self.builder.image(image)
        for box in run.boxes:
            self.paragraph(box)
        if run.page_break:
            self._end_page()

    def _walk(self, element, run: _Run) -> None:
        for child in element.iterchildren():
            tag = child.tag
            if tag == qn("w:r"):
                self._run(child, run)
            elif tag in _RECURSE:
                self._walk(child, run)
            elif tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    self._walk(content, run)
            elif tag == f"{{{M_NS}}}oMathPara":
                for math in child.iter(f"{{{M_NS}}}oMath"):
                    latex = omml_latex(math)
                    if latex:
                        run.display.append(latex)
            elif tag == f"{{{M_NS}}}oMath":
                latex = omml_latex(child)
                if latex:
                    run.text.append(f" ${latex}$ ")
            elif tag == f"{{{MC_NS}}}AlternateContent":
                choice = child.find(f"{{{MC_NS}}}Choice")
                if choice is not None:
                    self._walk(choice, run)

    def _run(self, r, run: _Run) -> None:
        has_text = False
        for child in r.iter():
            tag = child.tag
            if tag == qn("w:t"):
                if _inside(child, qn("w:txbxContent"), r):
                    continue
                run.text.append(child.text or "")
                has_text = has_text or bool((child.text or "").strip())
            elif tag == qn("w:tab"):
                run.text.append("\t")
            elif tag in (qn("w:br"), qn("w:cr")) and not _inside(child, qn("w:txbxContent"), r):
                if child.get(qn("w:type")) == "page":
                    run.page_break = True
                else:
                    run.text.append("\n")
            elif tag == qn("w:sym"):
                run.text.append(chr(int(child.get(qn("w:char")) or "20", 16) % 0x110000) if child.get(qn("w:char")) else "")
            elif tag in (qn("w:footnoteReference"), qn("w:endnoteReference")):
                prefix = "" if tag == qn("w:footnoteReference") else "e"
                key = prefix + (child.get(qn("w:id")) or "")
                if key in self._note_text:
                    mark = str(len(self.notes) + 1)
                    self.notes.append((mark, self._note_text[key]))
                    run.text.append(f"[{mark}]")
            elif tag == f"{{{A_NS}}}blip":
                if not _inside(child, f"{{{MC_NS}}}Fallback", r):
                    run.images.append(self._blob(child.get(f"{{{R_NS}}}embed") or child.get(f"{{{R_NS}}}link")))
            elif tag == f"{{{V_NS}}}imagedata":
                if not _inside(child, f"{{{MC_NS}}}Fallback", r):
                    run.images.append(self._blob(child.get(f"{{{R_NS}}}id")))
            elif tag == qn("w:txbxContent") and not _inside(child, f"{{{MC_NS}}}Fallback", r):
                run.boxes.extend(p for p in child.iter(qn("w:p")) if not _inside(p, qn("w:txbxContent"), child, skip_self=True))
        if has_text:
            run.text_runs += 1
            fonts = r.find(qn("w:rPr"))
            font = fonts.find(qn("w:rFonts")) if fonts is not None else None
            if font is not None and _MONO.search(" ".join(v for v in font.attrib.values())):
                run.mono_runs += 1

    def _blob(self, rel_id: str | None) -> bytes | None:
        if not rel_id:
            return None
        try:
            return self.part.related_parts[rel_id].blob
        except (KeyError, AttributeError):
            return None  # a linked (external) picture

    # ------------------------------------------------------------------ styles and numbering
    def _style(self, p):
        ppr = p.pPr
        style_id = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else None
        try:
            return self.doc.styles.get_by_id(style_id, 1)  # WD_STYLE_TYPE.PARAGRAPH
        except Exception:
            return None

    def _style_name(self, p) -> str:
        style = self._style(p)
        return (style.name or "") if style is not None else ""

    def _heading_level(self, p, style_name: str) -> int:
        if style_name.lower() == "title":
            return 1
        match = _HEADING.match(style_name.strip())
        if match:
            return int(match.group(1)) + 1
        outline = self._ppr_value(p, "w:outlineLvl")
        if outline is not None and outline.isdigit() and int(outline) < 9:
            return int(outline) + 2
        return 0

    def _ppr_value(self, p, tag: str) -> str | None:
        """A paragraph property, from the paragraph or its style chain."""
        elements = [p.pPr] if p.pPr is not None else []
        style = self._style(p)
        seen = 0
        while style is not None and seen < 10:
            elements.append(style.element.pPr)
            style, seen = style.base_style, seen + 1
        for ppr in elements:
            if ppr is None:
                continue
            found = ppr.find(qn(tag))
            if found is not None:
                return found.get(qn("w:val"))
        return None

    def _break_before(self, p, style: str) -> bool:
        value = self._ppr_value(p, "w:pageBreakBefore")
        return value is not None and value not in ("0", "false", "off")

    def _numbering_of(self, p) -> tuple[int, bool] | None:
        """(depth, ordered) of a list paragraph, None otherwise."""
        chain = [p.pPr] if p.pPr is not None else []
        style = self._style(p)
        while style is not None and len(chain) < 10:
            chain.append(style.element.pPr)
            style = style.base_style
        num_id = ilvl = None
        for ppr in chain:
            numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
            if numpr is None:
                continue
            if num_id is None and numpr.find(qn("w:numId")) is not None:
                num_id = numpr.find(qn("w:numId")).get(qn("w:val"))
            if ilvl is None and numpr.find(qn("w:ilvl")) is not None:
                ilvl = numpr.find(qn("w:ilvl")).get(qn("w:val"))
        if num_id is None or num_id == "0":
            return None
        depth = int(ilvl) if ilvl and ilvl.isdigit() else 0
        fmt = self._numbering.get((num_id, depth), "bullet")
        return depth, fmt not in ("bullet", "none", "")

    def _numbering_formats(self) -> dict[tuple[str, int], str]:
        try:
            numbering = self.part.numbering_part.element
        except Exception:
            return {}
        abstract = {}
        for node in numbering.findall(qn("w:abstractNum")):
            levels = {}
            for lvl in node.findall(qn("w:lvl")):
                fmt = lvl.find(qn("w:numFmt"))
                levels[int(lvl.get(qn("w:ilvl")) or 0)] = fmt.get(qn("w:val")) if fmt is not None else "bullet"
            abstract[node.get(qn("w:abstractNumId"))] = levels
        formats = {}
        for num in numbering.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            levels = abstract.get(ref.get(qn("w:val")) if ref is not None else None, {})
            for depth, fmt in levels.items():
                formats[(num.get(qn("w:numId")), depth)] = fmt
        return formats

    # ------------------------------------------------------------------ tables
    def table(self, tbl) -> None:
        rows: list[list[Cell]] = []
        origins: dict[int, Cell] = {}  # grid column -> the cell a vertical merge continues
        for tr in tbl.findall(qn("w:tr")):
            row: list[Cell] = []
            col = 0
            grid_before = tr.find(f"{qn('w:trPr')}/{qn('w:gridBefore')}")
            if grid_before is not None:
                col += int(grid_before.get(qn("w:val")) or 0)
            for tc in tr.findall(qn("w:tc")):
                span = tc.grid_span
                merge = tc.vMerge
                if merge == "continue" and col in origins:
                    origins[col].rowspan += 1
                else:
                    cell = Cell(self._cell_text(tc), colspan=span)
                    row.append(cell)
                    origins[col] = cell
                col += span
            rows.append(row)
        self.builder.table(rows)

    def _cell_text(self, tc) -> str:
        parts = []
        for p in tc.iter(qn("w:p")):
            run = _Run()
            self._walk(p, run)
            parts.append("".join(run.text).strip())
            parts.extend(f"${latex}$" for latex in run.display)
        return " ".join(part for part in parts if part)

    # ------------------------------------------------------------------ furniture and notes
    def _furniture(self, builder: PageBuilder) -> None:
        for section in self.doc.sections:
            for kind, parts in (
                (BlockType.HEADER, (section.header, section.first_page_header, section.even_page_header)),
                (BlockType.FOOTER, (section.footer, section.first_page_footer, section.even_page_footer)),
            ):
                for part in parts:
                    try:
                        if part.is_linked_to_previous:
                            continue
                        text = " ".join(p.text for p in part.paragraphs if p.text.strip())
                    except Exception:
                        continue
                    builder.furniture(kind, text)

    def _notes(self, reltype: str, tag: str, prefix: str) -> dict[str, str]:
        try:
            part = self.part.part_related_by(reltype)
            root = parse_xml(part.blob)
        except Exception:
            return {}
        notes = {}
        for note in root.findall(qn(tag)):
            note_id = note.get(qn("w:id")) or ""
            text = " ".join("".join(t.text or "" for t in p.iter(qn("w:t"))).strip() for p in note.iter(qn("w:p")))
            if note_id not in ("-1", "0") and text.strip():
                notes[prefix + note_id] = " ".join(text.split())
        return notes


def _inside(element, tag: str, stop, skip_self: bool = False) -> bool:
    """``element`` has an ancestor ``tag`` below ``stop``."""
    parent = element.getparent()
    while parent is not None and parent is not stop:
        if parent.tag == tag:
            return True
        parent = parent.getparent()
    return False
