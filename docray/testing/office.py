"""Small Office, OpenDocument, HTML, EPUB and CSV documents for tests, built on the spot.

Word, PowerPoint and Excel files are written with python-docx, python-pptx and openpyxl, OpenDocument
files with odfpy, EPUB as its specification lays the package out; each sample holds the structures
its converter must find (titles, lists, merged table cells, a picture with a caption, an equation,
furniture), named by the constants below so tests can look for them.  Bad inputs: a corrupt ZIP, a
truncated Word file, a password-protected (OLE-wrapped) OOXML file, a legacy binary .doc, a macro-only
package.
"""

from __future__ import annotations

import io
import zipfile

from docray.schema import ErrorCode

TITLE = "Quarterly Duck Report"
HEADING = "Pond Survey"
PARAGRAPH = "Ducks were counted on every pond in the park during the spring."
BULLETS = ("Mallards on the north pond", "Teals near the reeds")
NUMBERED = ("Count the ducks", "Write the numbers down")
NESTED = "Ducklings counted apart"
CAPTION = "Figure 1: A duck seen from the bank"
CODE = "print('quack')"
HEADER = "Internal survey header"
FOOTER = "Page footer of the survey"
TABLE_ROWS = (("Pond", "Ducks", "Geese"), ("North", "12", "3"), ("South", "7", "1"))
MERGED = "Totals by pond"  # a cell spanning the table's columns


def png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------- Word

_OMML = "http://schemas.openxmlformats.org/officeDocument/2006/math"
DISPLAY_OMML = (
    f'<m:oMathPara xmlns:m="{_OMML}"><m:oMath><m:f><m:fPr><m:ctrlPr/></m:fPr><m:num><m:r><m:t>a</m:t></m:r></m:num>'
    "<m:den><m:r><m:t>b</m:t></m:r></m:den></m:f></m:oMath></m:oMathPara>"
)
INLINE_OMML = (
    f'<m:oMath xmlns:m="{_OMML}"><m:sSup><m:e><m:r><m:t>x</m:t></m:r></m:e>'
    "<m:sup><m:r><m:t>2</m:t></m:r></m:sup></m:sSup></m:oMath>"
)


def docx_file(page_break: bool = True) -> bytes:
    """A Word document: title, heading, paragraph with an inline equation, bullet and numbered lists (one nested item),
    a table with a merged header row, a picture with a caption, a display equation, code, header and footer; with
    ``page_break`` a hard page break before the last paragraph."""
    import docx
    from docx.oxml import parse_xml
    from docx.shared import Inches

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    section.footer.paragraphs[0].text = FOOTER
    document.add_paragraph(TITLE, style="Title")
    document.add_heading(HEADING, level=1)
    paragraph = document.add_paragraph(PARAGRAPH + " Area grows as ")
    paragraph._p.append(parse_xml(INLINE_OMML))
    for text in BULLETS:
        document.add_paragraph(text, style="List Bullet")
    document.add_paragraph(NESTED, style="List Bullet 2")
    for text in NUMBERED:
        document.add_paragraph(text, style="List Number")
    table = document.add_table(rows=len(TABLE_ROWS) + 1, cols=len(TABLE_ROWS[0]))
    merged = table.cell(0, 0).merge(table.cell(0, len(TABLE_ROWS[0]) - 1))
    merged.text = MERGED
    for r, row in enumerate(TABLE_ROWS, start=1):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_picture(io.BytesIO(png()), width=Inches(1))
    document.add_paragraph(CAPTION, style="Caption")
    equation = document.add_paragraph()
    equation._p.append(parse_xml(DISPLAY_OMML))
    code = document.add_paragraph()
    run = code.add_run(CODE)
    run.font.name = "Courier New"
    if page_break:
        document.add_page_break()
    document.add_paragraph("The second page of the survey.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


FOOTNOTE = "Counted by two observers."


def docx_with_footnote() -> bytes:
    """A one-paragraph Word document whose paragraph has a footnote reference (python-docx cannot write footnotes:
    the footnotes part, its relationship and content type are added to the package as Word writes them)."""
    import docx
    from docx.oxml import parse_xml

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    document = docx.Document()
    paragraph = document.add_paragraph(PARAGRAPH)
    paragraph._p.append(parse_xml(f'<w:r xmlns:w="{w}"><w:footnoteReference w:id="1"/></w:r>'))
    buffer = io.BytesIO()
    document.save(buffer)
    footnotes = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{w}">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
        f'<w:footnote w:id="1"><w:p><w:r><w:t xml:space="preserve">{FOOTNOTE}</w:t></w:r></w:p></w:footnote></w:footnotes>'
    )
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>')  # fmt: skip
            elif item.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdFootnotes" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>'
                                    b"</Relationships>")  # fmt: skip
            target.writestr(item, data)
        target.writestr("word/footnotes.xml", footnotes)
    return out.getvalue()


# ---------------------------------------------------------------------------- PowerPoint


def pptx_file() -> bytes:
    """Two slides: a title slide; a title-and-content slide with bullets (one nested), a merged-cell table and a picture."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[0])
    first.shapes.title.text = TITLE
    first.placeholders[1].text = PARAGRAPH
    second = presentation.slides.add_slide(presentation.slide_layouts[1])
    second.shapes.title.text = HEADING
    body = second.placeholders[1].text_frame
    body.text = BULLETS[0]
    extra = body.add_paragraph()
    extra.text = BULLETS[1]
    nested = body.add_paragraph()
    nested.text, nested.level = NESTED, 1
    second.placeholders[1].top, second.placeholders[1].height = Inches(1.5), Inches(1.5)
    shape = second.shapes.add_table(len(TABLE_ROWS) + 1, len(TABLE_ROWS[0]), Inches(0.5), Inches(3.2), Inches(5), Inches(1.5))
    table = shape.table
    table.cell(0, 0).merge(table.cell(0, len(TABLE_ROWS[0]) - 1))
    table.cell(0, 0).text = MERGED
    for r, row in enumerate(TABLE_ROWS, start=1):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    second.shapes.add_picture(io.BytesIO(png()), Inches(6), Inches(5), Inches(1), Inches(0.75))
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- Excel


def xlsx_file(macro_enabled: bool = False) -> bytes:
    """Two sheets: 'Survey' with a title cell, a gap, and a table under a merged header; 'Notes' with one table."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Survey"
    sheet["A1"] = TITLE
    sheet.merge_cells(start_row=3, start_column=1, end_row=3, end_column=len(TABLE_ROWS[0]))
    sheet.cell(row=3, column=1, value=MERGED)
    for r, row in enumerate(TABLE_ROWS, start=4):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=int(value) if value.isdigit() else value)
    notes = workbook.create_sheet("Notes")
    notes.append(["Note", "Value"])
    notes.append(["weather", "sunny"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- OpenDocument


def add_odf_rows(table, rows: tuple[tuple[str, ...], ...]) -> None:
    """Append one OpenDocument table row per entry of ``rows``, a text cell per value."""
    from odf.table import TableCell, TableRow
    from odf.text import P

    for row in rows:
        tr = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)


def odf_bytes(document) -> bytes:
    """An odfpy document written to bytes."""
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def odt_file() -> bytes:
    """An OpenDocument text: a heading, a paragraph, a numbered list with a nested item, a table with a spanning cell,
    an embedded picture."""
    from odf.draw import Frame, Image
    from odf.opendocument import OpenDocumentText
    from odf.style import ListLevelProperties
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, ListLevelStyleNumber, ListStyle, P

    document = OpenDocumentText()
    numbered = ListStyle(name="Numbered")
    level = ListLevelStyleNumber(level=1, numformat="1", numsuffix=".")
    level.addElement(ListLevelProperties())
    numbered.addElement(level)
    document.automaticstyles.addElement(numbered)
    document.text.addElement(H(outlinelevel=1, text=HEADING))
    document.text.addElement(P(text=PARAGRAPH))
    items = List(stylename=numbered)
    for text in NUMBERED:
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    inner = List()
    inner_item = ListItem()
    inner_item.addElement(P(text=NESTED))
    inner.addElement(inner_item)
    items.childNodes[-1].addElement(inner)
    document.text.addElement(items)
    table = Table(name="Ponds")
    table.addElement(TableColumn(numbercolumnsrepeated=len(TABLE_ROWS[0])))
    header = TableRow()
    spanning = TableCell(numbercolumnsspanned=len(TABLE_ROWS[0]))
    spanning.addElement(P(text=MERGED))
    header.addElement(spanning)
    for _ in range(len(TABLE_ROWS[0]) - 1):
        header.addElement(CoveredTableCell())
    table.addElement(header)
    add_odf_rows(table, TABLE_ROWS)
    document.text.addElement(table)
    picture = P()
    frame = Frame(width="2cm", height="1.5cm", anchortype="as-char")
    frame.addElement(Image(href=document.addPictureFromString(png(), "image/png")))
    picture.addElement(frame)
    document.text.addElement(picture)
    return odf_bytes(document)


def ods_file() -> bytes:
    """An OpenDocument spreadsheet: one sheet 'Ponds' holding TABLE_ROWS."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table

    document = OpenDocumentSpreadsheet()
    table = Table(name="Ponds")
    add_odf_rows(table, TABLE_ROWS)
    document.spreadsheet.addElement(table)
    return odf_bytes(document)


def odp_file() -> bytes:
    """An OpenDocument presentation of two slides, each with a title frame and a text frame."""
    from odf.draw import Frame, Page, TextBox
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    document = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    for title, text in ((TITLE, PARAGRAPH), (HEADING, BULLETS[0])):
        page = Page(masterpagename=master)
        for kind, content in (("title", title), ("subtitle", text)):
            frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
            frame.setAttrNS(PRESENTATIONNS, "class", kind)
            box = TextBox()
            box.addElement(P(text=content))
            frame.addElement(box)
            page.addElement(frame)
        document.presentation.addElement(page)
    return odf_bytes(document)


# ---------------------------------------------------------------------------- web, e-book, CSV


def html_file() -> bytes:
    """An HTML page: header/footer furniture, headings, a nested list, a table with spans, code, a figure with a data: image."""
    import base64

    image = base64.b64encode(png()).decode()
    cells = "".join(f"<tr>{''.join(f'<td>{v}</td>' for v in row)}</tr>" for row in TABLE_ROWS)
    return f"""<!DOCTYPE html>
<html><head><title>ignored title</title><style>p {{ color: red }}</style><script>var x = 1;</script></head>
<body>
<header>{HEADER}</header>
<nav><ul><li><a href="/">Home</a></li><li><a href="/ponds">All ponds</a></li></ul></nav>
<h1>{TITLE}</h1>
<h2>{HEADING}</h2>
<p>{PARAGRAPH}</p>
<ul><li>{BULLETS[0]}<ul><li>{NESTED}</li></ul></li><li>{BULLETS[1]}</li></ul>
<ol start="3"><li>{NUMBERED[0]}</li><li>{NUMBERED[1]}</li></ol>
<table><caption>Ducks per pond</caption><tr><th colspan="{len(TABLE_ROWS[0])}">{MERGED}</th></tr>{cells}</table>
<pre><code>{CODE}</code></pre>
<figure><img src="data:image/png;base64,{image}" alt="a duck"><figcaption>{CAPTION}</figcaption></figure>
<footer>{FOOTER}</footer>
</body></html>""".encode()


def epub_file() -> bytes:
    """An EPUB 3 book of two chapters (spine order differs from manifest order); chapter 2 holds a picture."""
    chapter = (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>'
        "<body>{}</body></html>"
    )
    files = {
        "mimetype": b"application/epub+zip",
        "META-INF/container.xml": b'<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        b'<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        "OEBPS/content.opf": b'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        b'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier><dc:title>t</dc:title></metadata>'
        b'<manifest><item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/>'
        b'<item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>'
        b'<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        b'<item id="img" href="images/duck.png" media-type="image/png"/></manifest>'
        b'<spine><itemref idref="nav"/><itemref idref="c1"/><itemref idref="c2"/></spine></package>',
        "OEBPS/nav.xhtml": chapter.format("<nav><ol><li>Table of contents</li></ol></nav>").encode(),
        "OEBPS/text/one.xhtml": chapter.format(f"<h1>{TITLE}</h1><p>{PARAGRAPH}</p>").encode(),
        "OEBPS/text/two.xhtml": chapter.format(f'<h2>{HEADING}</h2><p><img src="../images/duck.png" alt="duck"/></p>').encode(),
        "OEBPS/images/duck.png": png(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), files.pop("mimetype"))  # first and stored, as EPUB requires
        for name, data in files.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def csv_file(delimiter: str = ";") -> bytes:
    """TABLE_ROWS as delimited text, with a ragged last row (one cell short)."""
    rows = [delimiter.join(row) for row in TABLE_ROWS] + [delimiter.join(TABLE_ROWS[1][:-1])]
    return ("\n".join(rows) + "\n").encode()


# ---------------------------------------------------------------------------- bad inputs

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def corrupt_zip() -> bytes:
    """A ZIP local-file header followed by junk: no central directory."""
    return b"PK\x03\x04" + bytes(range(256)) * 4


def truncated_docx() -> bytes:
    data = docx_file()
    return data[: len(data) // 2]


def encrypted_ooxml() -> bytes:
    """What Office writes for a password-protected .docx: an OLE compound file with EncryptionInfo and EncryptedPackage
    streams (their directory entries' UTF-16 names; the streams' content does not matter to sniffing)."""
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64 for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage"))
    return _OLE + b"\x00" * 504 + directory + b"\x00" * 512


def legacy_doc() -> bytes:
    """A binary Word 97 file's shape: an OLE compound file with a WordDocument stream."""
    return _OLE + b"\x00" * 504 + "WordDocument".encode("utf-16-le").ljust(128, b"\x00") + b"\x00" * 512


def macro_only() -> bytes:
    """An OOXML package holding only a VBA project (an add-in's shape): content types and vbaProject.bin, no document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
        )
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    return buffer.getvalue()


def bad_office_inputs() -> dict[str, tuple[bytes, ErrorCode]]:
    """``{file name: (bytes, the error code ingest gives it)}``."""
    return {
        "corrupt.docx": (corrupt_zip(), ErrorCode.CORRUPT),
        "truncated.docx": (truncated_docx(), ErrorCode.CORRUPT),
        "protected.docx": (encrypted_ooxml(), ErrorCode.ENCRYPTED),
        "old.doc": (legacy_doc(), ErrorCode.LEGACY_OFFICE),
        "addin.xlsm": (macro_only(), ErrorCode.MACRO_ONLY),
    }
