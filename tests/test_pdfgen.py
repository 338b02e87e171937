"""The synthetic document generators, checked with real readers (pdfium, pypdf, Pillow)."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from docray.schema import ErrorCode
from docray.testing import pdfs
from docray.testing.article import HYPHENATION, PAGE_WIDTH

SOFT_HYPHEN = "\ufffe"  # pdfium's mark for a hyphen drawn at a line end


def page_texts(data: bytes) -> list[str]:
    doc = pdfium.PdfDocument(data)
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


def words_of(text: str) -> Counter:
    return Counter(re.findall(r"[A-Za-z0-9.]+", text.replace("\u00b7", " ")))


@pytest.fixture(scope="module")
def article() -> pdfs.SyntheticDoc:
    return pdfs.two_column_article(3)


@pytest.mark.parametrize("pages", [1, 2, 4])
def test_article_has_the_requested_pages_with_header_and_footer(pages: int) -> None:
    doc = pdfs.two_column_article(pages, seed=pages)
    texts = page_texts(doc.pdf)
    assert len(texts) == pages == doc.num_pages == len(doc.footer_texts)
    assert doc.title in texts[0]
    for text, footer in zip(texts, doc.footer_texts):
        assert doc.header_text in text
        assert footer in text
    assert doc.footer_texts[-1] == f"Page {pages} of {pages}"


def test_article_text_layer_matches_its_ground_truth(article: pdfs.SyntheticDoc) -> None:
    text = "\n".join(page_texts(article.pdf))
    joined = re.sub(SOFT_HYPHEN + r"\s*", "", text)  # undo the drawn hyphenation
    truth = " ".join(
        [article.header_text] * article.num_pages + article.footer_texts + [t for _, t in article.blocks_in_order]
    )
    assert words_of(joined) == words_of(truth)
    assert [t for kind, t in article.blocks_in_order if kind == "heading"] == article.headings
    assert article.headings[:2] == ["1 Introduction", "2 Related Work"]
    assert article.paragraphs_in_order[0] == article.abstract


def test_article_markers_follow_reading_order_and_fill_both_columns(article: pdfs.SyntheticDoc) -> None:
    assert len(article.markers) == len(set(article.markers)) == len(article.paragraphs_in_order) - 1
    for marker, paragraph in zip(article.markers, article.paragraphs_in_order[1:]):
        assert paragraph.startswith(marker)
    text = " ".join(" ".join(page_texts(article.pdf)).split())
    positions = [text.find(m) for m in article.markers]
    assert -1 not in positions and positions == sorted(positions)
    # Where each marker was drawn: both columns of every page hold paragraph starts.
    doc = pdfium.PdfDocument(article.pdf)
    columns = set()
    for index in range(len(doc)):
        textpage = doc[index].get_textpage()
        for marker in article.markers:
            found = textpage.search(marker.split(" begins")[0] + " ").get_next()
            if found:
                left, _, _, _ = textpage.get_charbox(found[0])
                columns.add((index, left > PAGE_WIDTH / 2))
    assert columns == {(page, side) for page in range(len(doc)) for side in (False, True)}


def test_article_draws_hyphenated_words_at_line_ends(article: pdfs.SyntheticDoc) -> None:
    assert article.hyphenated_words, "the default article should split some words"
    text = "".join(page_texts(article.pdf))
    assert text.count(SOFT_HYPHEN) == len(article.hyphenated_words)
    drawn = [head + tail for head, tail in re.findall(r"(\w+)" + SOFT_HYPHEN + r"\s*(\w+)", text)]
    assert drawn == article.hyphenated_words
    for word in article.hyphenated_words:
        assert word in HYPHENATION
        assert any(word in p.split() or f"{word}." in p.split() for p in article.paragraphs_in_order)


def test_article_bytes_are_deterministic() -> None:
    assert pdfs.two_column_article(2, seed=5).pdf == pdfs.two_column_article(2, seed=5).pdf
    assert pdfs.two_column_article(2, seed=5).pdf != pdfs.two_column_article(2, seed=6).pdf


def test_sample_pdf_is_small_and_reproducible() -> None:
    sample = Path(__file__).parents[1] / "samples" / "sample.pdf"
    data = sample.read_bytes()
    assert len(data) < 100_000
    assert data == pdfs.two_column_article(3, title="A Sample Article for docray", seed=0).pdf


def test_scanned_page_is_one_image_without_text() -> None:
    doc = pdfium.PdfDocument(pdfs.scanned_page(["Hello scan"], dpi=100))
    assert len(doc) == 1
    page = doc[0]
    assert page.get_textpage().count_chars() == 0
    objects = list(page.get_objects())
    assert [o.type for o in objects] == [pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    left, bottom, right, top = objects[0].get_bounds()
    assert (right - left, top - bottom) == pytest.approx(page.get_size(), abs=0.5)
    width_px, _ = objects[0].get_px_size()
    assert width_px == round(612 / 72 * 100)
    ink = page.render(scale=0.5).to_pil().convert("L").getextrema()
    assert ink[0] < 100 and ink[1] == 255  # dark text on white


@pytest.mark.parametrize(("fmt", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("tiff", "TIFF"), ("webp", "WEBP")])
def test_image_file_formats(fmt: str, pil_format: str) -> None:
    image = Image.open(io.BytesIO(pdfs.image_file(fmt, size=(400, 300))))
    assert image.format == pil_format
    assert image.size == (400, 300)
    assert image.convert("L").getextrema()[0] < 100  # some text was drawn


def test_image_file_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="gif"):
        pdfs.image_file("gif")


@pytest.mark.parametrize("make", [pdfs.corrupt_pdf, pdfs.truncated_pdf, pdfs.not_a_pdf, pdfs.empty_file])
def test_broken_inputs_do_not_open(make) -> None:
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(make())


def test_truncated_pdf_is_a_prefix_of_a_valid_pdf() -> None:
    truncated, whole = pdfs.truncated_pdf(), pdfs.two_column_article(3).pdf
    assert whole.startswith(truncated) and 0.3 < len(truncated) / len(whole) < 0.5
    assert truncated.startswith(b"%PDF-") and pdfs.corrupt_pdf().startswith(b"%PDF-")


def test_encrypted_pdf_needs_its_password() -> None:
    data = pdfs.encrypted_pdf("open sesame")
    with pytest.raises(pdfium.PdfiumError, match="(?i)password"):
        pdfium.PdfDocument(data)
    with pytest.raises(pdfium.PdfiumError, match="(?i)password"):
        pdfium.PdfDocument(data, password="wrong")
    doc = pdfium.PdfDocument(data, password="open sesame")
    assert len(doc) == 1 and "encrypted" in doc[0].get_textpage().get_text_range()


def test_zero_page_pdf_is_valid_but_has_no_pages() -> None:
    data = pdfs.zero_page_pdf()
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) == 0 and not reader.is_encrypted
    assert reader.trailer["/Root"]["/Pages"]["/Count"] == 0
    with pytest.raises(pdfium.PdfiumError):  # pdfium refuses every zero-page document
        pdfium.PdfDocument(data)


def test_write_bad_inputs(tmp_path: Path) -> None:
    expected = pdfs.write_bad_inputs(tmp_path, max_bytes=20_000)
    assert expected["oversized"] is ErrorCode.TOO_LARGE
    assert expected["encrypted"] is ErrorCode.ENCRYPTED and expected["empty"] is ErrorCode.EMPTY_FILE
    assert sorted(p.stem for p in tmp_path.glob("*.pdf")) == sorted(expected)
    assert (tmp_path / "oversized.pdf").stat().st_size == 20_001
    assert (tmp_path / "empty.pdf").stat().st_size == 0
    assert "oversized" not in pdfs.write_bad_inputs(tmp_path / "plain")
    with pytest.raises(ValueError, match="max_bytes"):
        pdfs.write_bad_inputs(tmp_path / "tiny", max_bytes=100)
