"""A synthetic two-column journal article with known ground truth.

:func:`two_column_article` draws, with reportlab, a full-width title and abstract, then numbered
sections of body text flowing through two columns per page, a running header and a page-number
footer on every page, and some words hyphenated across a line break.  It returns the PDF with the
text it drew (in true reading order), so tests can check extraction, reading order, furniture
removal and de-hyphenation against it.  Output bytes are deterministic for given arguments.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field

PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0  # US letter, points
MARGIN_X, CONTENT_TOP, CONTENT_BOTTOM = 54.0, 72.0, 720.0  # y measured from the top of the page
COLUMN_GAP = 18.0
COLUMN_WIDTH = (PAGE_WIDTH - 2 * MARGIN_X - COLUMN_GAP) / 2
HEADER_TEXT = "Journal of Synthetic Documents \u00b7 Vol. 1"

TITLE_FONT, TITLE_SIZE, TITLE_LEADING = "Helvetica-Bold", 18.0, 22.0
HEADING_FONT, HEADING_SIZE, HEADING_LEADING = "Helvetica-Bold", 12.0, 15.0
BODY_FONT, BODY_SIZE, BODY_LEADING = "Times-Roman", 10.0, 12.5
ABSTRACT_INSET = 36.0
PARAGRAPH_GAP, HEADING_GAP = 4.0, 8.0

# Words drawn split across a line end ("exam-" / "ple"); the test asserts the joined word.
HYPHENATION = {
    "example": ("exam", "ple"),
    "document": ("docu", "ment"),
    "information": ("infor", "mation"),
    "extraction": ("extrac", "tion"),
    "processing": ("process", "ing"),
    "structure": ("struc", "ture"),
    "language": ("lan", "guage"),
    "performance": ("perfor", "mance"),
    "representation": ("represen", "tation"),
    "evaluation": ("evalu", "ation"),
}
WORDS = (
    "the a of and to in is that for it as with was on be by this are from at or an which "
    "model data page text layout reader column table figure result method system study value "
    "simple careful rapid stable large small clear robust every other several many each "
    "shows uses finds gives reads keeps builds moves holds tests measures compares describes "
    "line word block order section title image number paper report record source output input"
).split()
SECTION_TITLES = (
    "Introduction", "Related Work", "Methods", "Data", "Experiments", "Results", "Discussion",
    "Limitations", "Conclusion", "Appendix",
)  # fmt: skip


@dataclass
class SyntheticDoc:
    """A generated PDF and the ground truth it was drawn from."""

    pdf: bytes
    title: str
    abstract: str
    headings: list[str]  # "1 Introduction", ... in order
    paragraphs_in_order: list[str]  # abstract, then body paragraphs, hyphenated words joined
    markers: list[str]  # the unique sentence opening each body paragraph, in reading order
    blocks_in_order: list[tuple[str, str]]  # ("title" | "heading" | "text", text) in reading order
    header_text: str
    footer_texts: list[str]  # one per page
    hyphenated_words: list[str] = field(default_factory=list)  # joined words, in drawing order
    num_pages: int = 0


@dataclass
class _Line:
    text: str
    font: str
    size: float
    x: float
    baseline: float  # from the top of the page
    page: int


class _Flow:
    """Places lines into two columns per page, top to bottom, then the next page."""

    def __init__(self, pages: int, first_top: float):
        self.pages, self.page, self.column = pages, 0, 0
        self.column_top = self.y = first_top  # page 1's columns start below the abstract
        self.lines: list[_Line] = []

    def copy(self) -> "_Flow":
        clone = _Flow(self.pages, self.column_top)
        clone.page, clone.column, clone.y = self.page, self.column, self.y
        return clone

    def next_column(self) -> bool:
        """Move to the next column (or page); False when that is past the last page."""
        if self.column == 0:
            self.column = 1
        else:
            self.page, self.column, self.column_top = self.page + 1, 0, CONTENT_TOP
        self.y = self.column_top
        return self.page < self.pages

    def place(self, text: str, font: str, size: float, leading: float, gap: float = 0.0) -> bool:
        """Place one line (after ``gap`` unless at a column top); False when out of pages."""
        if self.y <= self.column_top:
            gap = 0.0
        while self.y + gap + leading > CONTENT_BOTTOM:
            if not self.next_column():
                return False
            gap = 0.0
        self.y += gap + leading
        x = MARGIN_X + self.column * (COLUMN_WIDTH + COLUMN_GAP)
        self.lines.append(_Line(text, font, size, x, self.y - (leading - size) / 2 - 0.2 * size, self.page))
        return True

    def place_paragraph(self, heading: str | None, body: list[str]) -> bool:
        """Place an optional heading (kept with two body lines) and a paragraph; False if out of pages."""
        if heading is not None:
            if self.y + HEADING_GAP + HEADING_LEADING + 2 * BODY_LEADING > CONTENT_BOTTOM and not self.next_column():
                return False
            if not self.place(heading, HEADING_FONT, HEADING_SIZE, HEADING_LEADING, HEADING_GAP):
                return False
        return all(
            self.place(line, BODY_FONT, BODY_SIZE, BODY_LEADING, PARAGRAPH_GAP if i == 0 else 0.0)
            for i, line in enumerate(body)
        )


def _reportlab():
    try:
        from reportlab.pdfbase.pdfmetrics import stringWidth
        from reportlab.pdfgen import canvas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("docray.testing needs reportlab: pip install 'docray[dev]'") from exc
    return canvas, stringWidth


def wrap_words(words: list[str], width: float, font: str, size: float, hyphenate: bool) -> tuple[list[str], list[str]]:
    """Greedy line breaking; with ``hyphenate``, words of :data:`HYPHENATION` that overflow a line
    are split across it.  Returns the lines and the words that were split."""
    _, string_width = _reportlab()
    lines: list[str] = []
    split: list[str] = []
    current = ""
    pending = list(words)
    while pending:
        word = pending.pop(0)
        candidate = f"{current} {word}" if current else word
        if string_width(candidate, font, size) <= width or not current:
            current = candidate
            continue
        bare = word.rstrip(".,;")
        if hyphenate and bare in HYPHENATION:
            head, tail = HYPHENATION[bare]
            if string_width(f"{current} {head}-", font, size) <= width:
                lines.append(f"{current} {head}-")
                split.append(bare)
                current = tail + word[len(bare) :]
                continue
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    return lines, split


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(7, 14))]
    for _ in range(rng.randint(0, 1)):
        words.insert(rng.randrange(1, len(words) + 1), rng.choice(sorted(HYPHENATION)))
    return " ".join(words).capitalize() + "."


def two_column_article(
    pages: int = 3, *, title: str = "Synthetic Documents for Testing Reading Order", seed: int = 0
) -> SyntheticDoc:
    """A ``pages``-page two-column article (see the module docstring) and its ground truth."""
    if pages < 1:
        raise ValueError("pages must be >= 1")
    canvas_module, _ = _reportlab()
    rng = random.Random(seed)
    lines: list[_Line] = []
    y = CONTENT_TOP
    for text in wrap_words(title.split(), PAGE_WIDTH - 2 * MARGIN_X, TITLE_FONT, TITLE_SIZE, False)[0]:
        y += TITLE_LEADING
        lines.append(_Line(text, TITLE_FONT, TITLE_SIZE, MARGIN_X, y - 4, 0))
    abstract = " ".join(_sentence(rng) for _ in range(4))
    y += 10
    abstract_width = PAGE_WIDTH - 2 * (MARGIN_X + ABSTRACT_INSET)
    for text in wrap_words(abstract.split(), abstract_width, BODY_FONT, BODY_SIZE, False)[0]:
        y += BODY_LEADING
        lines.append(_Line(text, BODY_FONT, BODY_SIZE, MARGIN_X + ABSTRACT_INSET, y - 3, 0))

    flow = _Flow(pages, y + 16)
    headings: list[str] = []
    paragraphs = [abstract]
    markers: list[str] = []
    blocks = [("title", title), ("text", abstract)]
    hyphenated: list[str] = []
    section, full = 0, False
    while not full:  # sections of 2-4 paragraphs until the next paragraph would need another page
        section += 1
        heading = f"{section} {SECTION_TITLES[(section - 1) % len(SECTION_TITLES)]}"
        for number in range(1, rng.randint(2, 4) + 1):
            marker = f"Paragraph {section}.{number} begins here."
            text = " ".join([marker] + [_sentence(rng) for _ in range(rng.randint(3, 6))])
            body, split = wrap_words(text.split(), COLUMN_WIDTH, BODY_FONT, BODY_SIZE, True)
            first = heading if number == 1 else None
            full = not flow.copy().place_paragraph(first, body)
            if full:
                break
            flow.place_paragraph(first, body)
            if first is not None:
                headings.append(heading)
                blocks.append(("heading", heading))
            paragraphs.append(text)
            markers.append(marker)
            blocks.append(("text", text))
            hyphenated += split
    lines += flow.lines

    footers = [f"Page {i + 1} of {pages}" for i in range(pages)]
    buffer = io.BytesIO()
    pdf = canvas_module.Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    pdf.setTitle(title)
    pdf.setAuthor("docray test suite")
    for page in range(pages):
        pdf.setFont("Helvetica", 8)
        pdf.drawString(MARGIN_X, PAGE_HEIGHT - 40, HEADER_TEXT)
        pdf.setFont("Helvetica", 9)
        pdf.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 748, footers[page])
        for line in (line for line in lines if line.page == page):
            pdf.setFont(line.font, line.size)
            pdf.drawString(line.x, PAGE_HEIGHT - line.baseline, line.text)
        pdf.showPage()
    pdf.save()
    return SyntheticDoc(
        pdf=buffer.getvalue(),
        title=title,
        abstract=abstract,
        headings=headings,
        paragraphs_in_order=paragraphs,
        markers=markers,
        blocks_in_order=blocks,
        header_text=HEADER_TEXT,
        footer_texts=footers,
        hyphenated_words=hyphenated,
        num_pages=pages,
    )
