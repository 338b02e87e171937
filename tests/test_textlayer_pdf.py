"""Real PDFs (reportlab) -> pdfium text layer -> assemble -> Markdown, checked against ground truth."""

from __future__ import annotations

import io

import pytest

pdfium = pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")
extract = pytest.importorskip(
    "docray.operators.textlayer.extract", reason="extract_spans (render helper's module) is not written yet"
)

from docray.datamodel import PageText  # noqa: E402
from docray.formats.mineru import to_content_list, to_markdown  # noqa: E402
from docray.operators.textlayer.document import assemble_document  # noqa: E402
from docray.schema import BlockType  # noqa: E402
from docray.testing.article import two_column_article  # noqa: E402


def _pages_of(pdf_bytes: bytes) -> list[PageText]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    pages = []
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            width, height = page.get_size()
            pages.append(
                PageText(
                    page_idx=i,
                    width=width,
                    height=height,
                    spans=extract.page_spans(page),
                    image_boxes=extract.image_boxes(page),
                )
            )
    finally:
        pdf.close()
    return pages


def _kinds_and_texts(layouts) -> list[tuple[str, str]]:
    out = []
    for layout in layouts:
        for block in layout.blocks:
            kind = "text" if block.type == BlockType.TEXT else "title" if block.level == 1 else "heading"
            out.append((kind, block.text))
    return out


def test_two_column_article_blocks_match_the_drawn_ground_truth():
    doc = two_column_article(pages=3, seed=0)
    layouts = assemble_document(_pages_of(doc.pdf))
    assert _kinds_and_texts(layouts) == doc.blocks_in_order
    for layout in layouts:
        discarded = {(b.type, b.text) for b in layout.discarded}
        assert (BlockType.HEADER, doc.header_text) in discarded
        assert (BlockType.PAGE_NUMBER, doc.footer_texts[layout.page_idx]) in discarded


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_two_column_article_reading_order_dehyphenation_and_furniture(seed):
    doc = two_column_article(pages=3, seed=seed)
    markdown = to_markdown(assemble_document(_pages_of(doc.pdf)))
    positions = [markdown.find(marker) for marker in doc.markers]
    assert -1 not in positions and positions == sorted(positions)
    for word in doc.hyphenated_words:
        assert word in markdown
    for heading in doc.headings:
        assert f"\n## {heading}\n" in markdown
    assert markdown.startswith(f"# {doc.title}\n\n{doc.abstract}\n\n")
    assert doc.header_text not in markdown
    assert not any(footer in markdown for footer in doc.footer_texts)


def _one_column_pdf() -> tuple[bytes, dict]:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    truth = {
        "heading": "Results and Discussion",
        "first": "The first paragraph starts here and it runs over two lines so that the",
        "first_2": "reader sees a soft line break joined with a space.",
        "second": "An indented second paragraph follows the first one with an exam-",
        "second_2": "ple of a broken word and a figure after it.",
        "after": "Text after the figure closes the page.",
    }
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(612, 792), invariant=1)
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(72, 720, truth["heading"])
    pdf.setFont("Times-Roman", 11)
    pdf.drawString(72, 700, truth["first"])
    pdf.drawString(72, 686, truth["first_2"])
    pdf.drawString(90, 672, truth["second"])
    pdf.drawString(72, 658, truth["second_2"])
    pdf.drawImage(ImageReader(Image.new("RGB", (60, 40), (200, 30, 30))), 150, 420, width=300, height=200)
    pdf.drawString(72, 390, truth["after"])
    pdf.drawCentredString(306, 40, "7")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue(), truth


def test_one_column_page_with_bold_heading_indent_figure_and_page_number():
    data, truth = _one_column_pdf()
    layouts = assemble_document(_pages_of(data))
    blocks = layouts[0].blocks
    assert [b.type for b in blocks] == [BlockType.TITLE, BlockType.TEXT, BlockType.TEXT, BlockType.IMAGE, BlockType.TEXT]
    assert blocks[0].text == truth["heading"] and blocks[0].level == 1
    assert blocks[1].text == f"{truth['first']} {truth['first_2']}"
    assert blocks[2].text == truth["second"].removesuffix("exam-") + "example of a broken word and a figure after it."
    assert blocks[4].text == truth["after"]
    assert [(b.type, b.text) for b in layouts[0].discarded] == [(BlockType.PAGE_NUMBER, "7")]
    items = to_content_list(layouts)
    assert [item["type"] for item in items] == ["text", "text", "text", "image", "text"]
    assert items[3]["img_path"] == ""
    x0, y0, x1, y1 = items[3]["bbox"]  # the figure: x 150..450 of 612, y 172..372 of 792 from the top
    assert (x0, x1) == (int(150 * 1000 / 612), int(450 * 1000 / 612))
    assert abs(y0 - 172 * 1000 / 792) <= 1 and abs(y1 - 372 * 1000 / 792) <= 1
