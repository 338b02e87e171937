"""Text-layer extraction of one PDF page: pdfium characters grouped into :class:`Span` s.

A span is a run of consecutive characters (in pdfium's text order) with one font name, size
(within 0.1 pt), style flags and writing direction, on one baseline, with no wide gap between
neighbours: a gap wider than ``gap_factor`` x font size, a line break pdfium generates, or a jump
backwards starts a new span, so two columns never share a span.  Right-to-left runs (characters
advancing against the writing direction, as Arabic and Hebrew do in pdfium's logical order) are
kept together too.

Text: spaces between words are kept (pdfium generates a space for a word gap), runs of spaces are
collapsed, spans are stripped.  A character outside the Basic Multilingual Plane, which pdfium
reports as a UTF-16 surrogate pair, is one character (``𝑥``).  A character pdfium cannot map to
Unicode, a lone surrogate and a control character become U+FFFD so that :func:`text_quality` can
count them; a soft hyphen becomes ``-`` where pdfium says it ends a line and is dropped elsewhere.
A spacing accent set over or under a letter (TeX's OT1 ``\\'a``: two glyphs) is folded into the
letter, NFC (:mod:`.pdf_accents`).
Boxes are pdfium's loose character boxes (font ascent to descent), on the displayed page: points,
origin top-left, after ``/Rotate``.

The other page functions live in ``pdf_*`` modules and are re-exported here.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docray.datamodel import BBox, Span
from docray.operators.textlayer.garbled import REPLACEMENT, garbled_counts
from docray.operators.textlayer.pdf_accents import SPACING_ACCENTS, accented, pair_accents, same_word
from docray.operators.textlayer.pdf_chars import (
    StyleReader,
    TextStyle,
    count_chars,
    get_char_box,
    get_char_origin,
    get_loose_box,
    get_unicode,
    has_map_error,
    is_generated,
    is_hyphen,
    paired_code_point,
)
from docray.operators.textlayer.pdf_geometry import (
    PageFrame,
    image_boxes,
    image_coverage,
    page_frame,
)
from docray.operators.textlayer.pdf_image import image_pages, render_page_image
from docray.operators.textlayer.pdf_open import open_pdf
from docray.operators.textlayer.pdf_route import route_page

__all__ = [
    "extract_spans",
    "garbled_counts",
    "page_spans",
    "text_quality",
    "open_pdf",
    "image_boxes",
    "image_coverage",
    "page_frame",
    "route_page",
    "render_page_image",
    "image_pages",
]

_SPACES = frozenset({0x20, 0xA0, 0x09, 0x2002, 0x2003, 0x2009, 0x3000})
_LINE_BREAKS = frozenset({0x0A, 0x0D})
_BLANKS = _SPACES | _LINE_BREAKS
_UNMAPPED = -1
_HYPHEN_CANDIDATES = frozenset({0x02, 0x2D, 0xAD})  # pdfium may report a line-end hyphen as U+0002
_SPACE_RUN = re.compile(" {2,}")
_MAX_SEGMENT = 64  # characters looked ahead for the end of a number inside right-to-left text
_RTL_CLASSES = frozenset({"R", "AL"})  # Unicode bidi classes of right-to-left letters (Hebrew, Arabic, ...)


class _Run:
    """A span being built."""

    __slots__ = (
        "style", "chars", "pending_space", "left", "bottom", "right", "top", "baseline", "lo", "hi", "progress",
        "front", "start", "embedded", "directions", "last_rtl", "letters",
    )  # fmt: skip

    def __init__(self, style: TextStyle, box: tuple[float, float, float, float], baseline: float, lo: float, hi: float):
        self.style = style
        self.chars: list[str] = []
        self.pending_space = False
        self.left, self.bottom, self.right, self.top = box
        self.baseline = baseline  # origin's offset across the writing direction
        self.lo, self.hi = lo, hi  # last character's extent along the writing direction
        self.progress = 0  # +1 characters advance along the direction, -1 against it (RTL)
        self.front = lo  # RTL: the low edge of the text before the last character (where that one was set)
        self.start = lo  # low edge of the run's first character (an LTR run turning out to be RTL starts here)
        self.embedded: tuple[float, float] | None = None  # RTL: (low edge, limit) of a left-to-right segment being read
        self.directions: set[str] = set()  # "L" where the run holds a left-to-right letter, "R" a right-to-left one
        self.letters: str | None = None  # direction of its last letter
        self.last_rtl = False  # whether its last character is a right-to-left letter

    def add_box(self, box: tuple[float, float, float, float]) -> None:
        self.left, self.bottom = min(self.left, box[0]), min(self.bottom, box[1])
        self.right, self.top = max(self.right, box[2]), max(self.top, box[3])


def page_spans(page: pdfium.PdfPage, gap_factor: float = 1.0) -> list[Span]:
    """:func:`extract_spans` of a page, opening and closing its text page."""
    textpage = page.get_textpage()
    try:
        return extract_spans(page, textpage, gap_factor=gap_factor)
    finally:
        textpage.close()


def extract_spans(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, gap_factor: float = 1.0) -> list[Span]:
    """The page's text-layer spans (see the module docstring for the grouping rules)."""
    frame = page_frame(page)
    handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
    if not handle:
        return []
    styles = StyleReader(textpage.raw, handle)
    rect = pdfium_c.FS_RECTF()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    ox_ref, oy_ref, rect_ref = ctypes.byref(ox), ctypes.byref(oy), ctypes.byref(rect)
    spans: list[Span] = []
    run: _Run | None = None
    count = count_chars(handle)
    low_surrogate = -1  # index of the second half of a surrogate pair already read
    segment = (-1, 0.0)  # (last index, reach) of the last left-to-right segment looked ahead along (_ltr_reach)
    accents, bridged = _detached_accents(handle, count, frame)  # accent index -> index of the letter it is set on
    marks: dict[int, list[str]] = {}
    for accent, letter in sorted(accents.items()):
        marks.setdefault(letter, []).append(chr(get_unicode(handle, accent)))

    for index in range(count):
        if index == low_surrogate or index in accents or index in bridged:
            continue
        code = get_unicode(handle, index)
        if 0xD800 <= code <= 0xDBFF:
            paired = paired_code_point(handle, index, code, count)
            if paired is not None:
                code, low_surrogate = paired, index + 1
        if code in _BLANKS:
            if is_generated(handle, index):  # pdfium's word gap or CR LF between lines
                if code in _LINE_BREAKS:
                    run = _close(run, spans, frame)
                elif run is not None:
                    run.pending_space = True
                continue
            if has_map_error(handle, index):  # a glyph that only reads as a blank by accident
                code = _UNMAPPED
            elif code in _LINE_BREAKS:
                run = _close(run, spans, frame)
                continue
        space = code in _SPACES
        text = REPLACEMENT if code == _UNMAPPED else _char_text(handle, index, code)
        if text is None:
            continue
        if index in marks and text != REPLACEMENT:
            text = accented(text, marks[index])
        style = styles.style(index)
        get_loose_box(handle, index, rect_ref)
        box = (rect.left, rect.bottom, rect.right, rect.top)
        get_char_origin(handle, index, ox_ref, oy_ref)
        dx, dy = style.dx, style.dy
        baseline = oy.value * dx - ox.value * dy
        lo = min(box[0] * dx, box[2] * dx) + min(box[1] * dy, box[3] * dy)
        hi = max(box[0] * dx, box[2] * dx) + max(box[1] * dy, box[3] * dy)
        bidi = unicodedata.bidirectional(text[0])
        reach = hi
        if run is not None and "R" in run.directions and not space and bidi not in _RTL_CLASSES:
            if index > segment[0]:  # a character inside a segment already looked at reaches as far as it does
                segment = _ltr_reach(handle, index, count, style, baseline, hi, gap_factor)
            reach = segment[1]
        if run is not None and _continues(run, style, baseline, lo, hi, gap_factor, bidi, reach):
            run.lo, run.hi = lo, hi
            if space:  # a space glyph bridges its gap but adds no box
                run.pending_space = True
                continue
            run.add_box(box)
        elif space:  # a space glyph never starts a span; the next character decides on its own
            if run is not None:
                run.pending_space = True
            continue
        else:
            _close(run, spans, frame)
            run = _Run(style, box, baseline, lo, hi)
        direction = "R" if bidi in _RTL_CLASSES else "L" if bidi == "L" else None
        if direction is not None:
            # a left-to-right word beside a right-to-left one is a word break, whether or not the PDF sets a
            # space there (bidi layouts often leave it out where the direction changes)
            run.pending_space = run.pending_space or run.letters not in (None, direction)
            run.letters = direction
            run.directions.add(direction)
        run.last_rtl = direction == "R"
        if run.pending_space and run.chars:
            run.chars.append(" ")
        run.pending_space = False
        run.chars.append(text)
    _close(run, spans, frame)
    return spans


def _detached_accents(handle: int, count: int, frame: PageFrame) -> tuple[dict[int, int], set[int]]:
    """Spacing accents set on a letter of the page (:mod:`.pdf_accents`): accent index -> letter index; and the
    blanks pdfium generated around them (an accent drawn out of text order looks like a gap to pdfium) where the
    characters on either side belong to one word."""
    accents: list[int] = []
    letters: list[int] = []
    for i in range(count):
        code = get_unicode(handle, i)
        if not 0 < code < 0xD800 or has_map_error(handle, i):  # accents and most letters are in the BMP
            continue
        text = chr(code)
        if text in SPACING_ACCENTS:
            accents.append(i)
        elif text.isalpha():
            letters.append(i)
    if not accents or not letters:
        return {}, set()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    refs = tuple(ctypes.byref(v) for v in (left, right, bottom, top))

    def char(i: int) -> tuple[str, BBox]:
        get_char_box(handle, i, *refs)
        return chr(get_unicode(handle, i)), frame.box(left.value, bottom.value, right.value, top.value)

    def joins(i: int, placed: dict[int, int]) -> bool:  # an accent, or a blank pdfium generated
        return i in placed or (get_unicode(handle, i) in _BLANKS and bool(is_generated(handle, i)))

    pairs = pair_accents([char(i) for i in accents], [char(i) for i in letters])
    placed = {accents[a]: letters[k] for a, k in pairs.items()}
    bridged: set[int] = set()
    for accent in placed:
        before, after = accent - 1, accent + 1
        while before >= 0 and joins(before, placed):
            before -= 1
        while after < count and joins(after, placed):
            after += 1
        if before >= 0 and after < count and same_word(char(before)[1], char(after)[1]):
            bridged.update(i for i in range(before + 1, after) if i not in placed)
    return placed, bridged


def _char_text(handle: int, index: int, code: int) -> str | None:
    """The text of a non-space character: itself, ``-`` for a line-end hyphen, U+FFFD if not real text."""
    if code in _HYPHEN_CANDIDATES:
        if code == 0x2D or is_hyphen(handle, index):
            return "-"
        if code == 0xAD:
            return None  # a soft hyphen inside a line is invisible
    if has_map_error(handle, index) or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return REPLACEMENT
    text = chr(code)
    if unicodedata.category(text) == "Cc":
        return REPLACEMENT
    return text


def _ltr_reach(
    handle: int, index: int, count: int, style: TextStyle, baseline: float, hi: float, gap_factor: float
) -> tuple[int, float]:
    """The left-to-right segment starting at character ``index``: its last character's index, and how far it
    reaches along the writing direction (that character's high edge).  It runs over the characters that follow
    in text order, none a right-to-left letter, each set just after the one before on the same baseline (a
    number's digits and separators, Latin words, the blanks between them).  A number inside right-to-left text
    starts that far left of the text before it."""
    rect = pdfium_c.FS_RECTF()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    dx, dy = style.dx, style.dy
    size = style.size or 1.0
    max_gap, slack = gap_factor * size, 0.25 * size
    reach, last_lo, last = hi, None, index
    for j in range(index + 1, min(count, index + _MAX_SEGMENT)):
        code = get_unicode(handle, j)
        if code in _LINE_BREAKS:
            break
        if code in _BLANKS:
            continue
        if not 0 <= code <= 0x10FFFF or unicodedata.bidirectional(chr(code)) in _RTL_CLASSES:
            break
        get_loose_box(handle, j, ctypes.byref(rect))
        get_char_origin(handle, j, ctypes.byref(ox), ctypes.byref(oy))
        if abs(oy.value * dx - ox.value * dy - baseline) > slack:
            break
        box = (rect.left, rect.bottom, rect.right, rect.top)
        lo_j = min(box[0] * dx, box[2] * dx) + min(box[1] * dy, box[3] * dy)
        hi_j = max(box[0] * dx, box[2] * dx) + max(box[1] * dy, box[3] * dy)
        if lo_j - reach > max_gap or (last_lo is not None and lo_j < last_lo - slack) or hi_j < reach - slack:
            break
        reach, last_lo, last = hi_j, lo_j, j
    return last, reach


def _continues(
    run: _Run, style: TextStyle, baseline: float, lo: float, hi: float, gap_factor: float, bidi: str, reach: float
) -> bool:
    """Whether a character continues the run (same style, baseline, no gap, no jump back); updates the run's
    reading direction.  In a right-to-left run a number (or a Latin word) is laid out left to right as a unit,
    left of the text before it: its first character is set ``reach - hi`` (:func:`_ltr_reach`) further left than
    a right-to-left letter would be, the others step rightwards from there, and the text after it continues left
    of the number (:func:`_rtl_step`)."""
    current = run.style
    if style is not current:
        if (
            style.font != current.font
            or style.flags != current.flags
            or abs(style.size - current.size) > 0.1
            or style.dx * current.dx + style.dy * current.dy < 0.999
        ):
            return False
    size = current.size or 1.0
    if abs(baseline - run.baseline) > 0.25 * size:
        return False
    max_gap, slack = gap_factor * size, 0.25 * size
    if run.progress >= 0 and lo - run.hi <= max_gap and lo >= run.lo - slack:
        if lo > run.lo + slack:
            run.progress = 1
        return True
    if run.progress == 1 and not run.directions and bidi in _RTL_CLASSES and _before(run.start, hi, max_gap, slack):
        # a number read first, then right-to-left text set left of it: the run was right-to-left all along
        run.progress, run.front = -1, run.start
        return True
    if run.progress <= 0:
        return _rtl_step(run, bidi, lo, hi, reach, max_gap, slack)
    return False


def _rtl_step(run: _Run, bidi: str, lo: float, hi: float, reach: float, max_gap: float, slack: float) -> bool:
    """A right-to-left (or not yet directed) run: the character is set left of the last one (left of the whole
    left-to-right segment, when one is open), or it steps rightwards inside a left-to-right segment that
    started left of the right-to-left text and stays left of it."""
    if run.embedded is None:
        leftwards = run.lo - reach <= max_gap and hi <= run.hi + slack
    else:
        leftwards = _before(run.embedded[0], reach, max_gap, slack)
    if leftwards:
        if hi < run.hi - slack or run.embedded is not None:
            run.progress = -1
        run.front = run.lo if run.embedded is None else run.embedded[0]
        run.embedded = None
        return True
    if run.progress == 0 or bidi in _RTL_CLASSES or "R" not in run.directions:
        return False
    if run.embedded is None and run.last_rtl:  # a segment starts at a character that is not right-to-left itself
        return False
    segment = run.embedded or (run.lo, run.front)  # it starts at the last character, set left of the front
    if lo - run.hi <= max_gap and lo >= run.lo - slack and hi <= segment[1] + slack:
        run.embedded = segment
        return True
    return False


def _before(edge: float, hi: float, max_gap: float, slack: float) -> bool:
    """Whether text ending at ``hi`` is set just before ``edge`` (left of it, in a horizontal line)."""
    return edge - hi <= max_gap and hi <= edge + slack


# TeX sets double quotes as two single-quote glyphs (``...''); fold them into one double quote.
_TEX_QUOTE_FOR = {"\u2018\u2018": "\u201c", "\u2019\u2019": "\u201d", "``": "\u201c"}
_TEX_QUOTES = re.compile("|".join(map(re.escape, _TEX_QUOTE_FOR)))


def _close(run: _Run | None, spans: list[Span], frame: PageFrame) -> None:
    if run is None:
        return None
    text = _TEX_QUOTES.sub(lambda m: _TEX_QUOTE_FOR[m.group(0)], _SPACE_RUN.sub(" ", "".join(run.chars)).strip())
    if text:
        bbox: BBox = tuple(round(v, 2) for v in frame.box(run.left, run.bottom, run.right, run.top))  # type: ignore[assignment]
        spans.append(Span(text=text, bbox=bbox, font=run.style.font, size=run.style.size, flags=run.style.flags))
    return None


def text_quality(spans: list[Span]) -> tuple[int, float]:
    """``(num_chars, garbled_ratio)`` of a page's spans.

    ``num_chars`` counts the non-whitespace characters of all spans; ``garbled_ratio`` is the share
    of them that do not decode to real text (:func:`docray.operators.textlayer.garbled.garbled_counts`
    on the page's text, so that its statistics see the whole page), 0.0 for a page without characters.
    """
    total, garbled = garbled_counts("\n".join(span.text for span in spans))
    return total, (garbled / total if total else 0.0)
