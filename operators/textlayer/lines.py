"""Text-layer spans -> visual lines.

A span is a run of characters with one font on one baseline.  Spans that sit on the same
vertical band (they overlap vertically by at least half the smaller height) and follow each
other closely from left to right (a gap of at most ``max_join_gap_em`` font sizes) form one
line.  A column gutter is wider than that, so lines never cross it.  A line that so far is only
a label (a section number "5.1", a caption label "Table 1.", an item mark "2)" or a bullet) may
be followed after a wider gap, up to ``max_label_gap_em``: typesetters put a quad after these.  Where two joined spans
have a visible gap and neither carries a space at the seam, a space is appended to the left
span's text, so that ``Line.text`` reads naturally.

Text set vertically (a table turned a quarter on the page, a side note) is not read across: a span whose box
is at least ``vertical_ratio`` times as tall as wide and holds ``vertical_min_chars`` characters or more is a
vertical span, and on a page where such spans carry ``vertical_page_share`` of the characters of the spans whose
direction shows (that many times as tall as wide, or as wide as tall: a turned page) every span taller than wide
with two characters or more is one too (``74.8``, ``Any``: too short to tell on their own).  A vertical span is a line of its own: side-by-side vertical spans are successive lines of turned
text, not words of one line, and joining them would glue their words (``Not availablenot shown``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from docray.datamodel import INLINE_DELIMITERS, BBox, Delimiters, Line, Span, bbox_union
from docray.schema import FontFlags


@dataclass(frozen=True, slots=True)
class LineOptions:
    """How spans are grouped into lines."""

    max_join_gap_em: float = 1.0  # widest horizontal gap (in font sizes) inside one line
    max_label_gap_em: float = 2.5  # widest gap after a leading label ("5.1", "Table 1.", a bullet)
    min_vertical_overlap: float = 0.5  # share of the smaller height two spans must share
    space_gap_em: float = 0.12  # a gap wider than this (in font sizes) is a word space
    vertical_ratio: float = 2.0  # a span this many times as tall as wide ...
    vertical_min_chars: int = 3  # ... with this many characters is set vertically
    vertical_page_share: float = 0.5  # share of the characters of spans whose direction shows: a turned page


_LABEL = re.compile(
    r"^(?:(?:[A-Za-z]{2,10}\.?\s)?(?:\d{1,3}(?:\.\d{1,3})*|[IVXivx]{1,5})[.:)]?"  # 5.1 / Table 1. / IV.
    r"|[A-Za-z][.)]"  # a) / B.
    r"|[\u2022\u00b7\u25e6\u25aa\u2023\u2219\u25cb\u25a0\u25a1\u27a2\u25ba\u2013*-])$"  # bullets
)


def is_label(text: str) -> bool:
    """Whether a line start is a label that a wide gap may follow ("5.1", "Table 1.", "a)", a bullet)."""
    text = text.strip()
    return len(text) <= 14 and bool(_LABEL.match(text))


def span_size(span: Span) -> float:
    """The span's font size, or its box height when the text layer gives no size."""
    return span.size if span.size > 0 else max(1.0, span.bbox[3] - span.bbox[1])


def _normalised(span: Span) -> Span:
    """The span with a usable box: ordered corners and a non-zero height."""
    x0, y0, x1, y1 = span.bbox
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    if y1 - y0 < 0.5:
        y0 = y1 - (span.size if span.size > 0 else 1.0)
    bbox = (float(x0), float(y0), float(x1), float(y1))
    return span if bbox == tuple(span.bbox) else replace(span, bbox=bbox)


def vertical_overlap_ratio(a: BBox, b: BBox) -> float:
    """Shared height of two boxes as a share of the smaller height."""
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min(a[3] - a[1], b[3] - b[1])
    return overlap / smaller if smaller > 0 else 0.0


@dataclass(slots=True)
class _OpenLine:
    spans: list[Span] = field(default_factory=list)
    x1: float = 0.0
    y0: float = 0.0
    y1: float = 0.0
    label: bool = False  # only one span so far, and it is a label

    def add(self, span: Span) -> None:
        if not self.spans:
            self.y0, self.y1 = span.bbox[1], span.bbox[3]
        else:
            self.y0, self.y1 = min(self.y0, span.bbox[1]), max(self.y1, span.bbox[3])
        self.spans.append(span)
        self.x1 = max(self.x1, span.bbox[2])
        self.label = len(self.spans) == 1 and is_label(span.text)


_CLOSING = frozenset(".,;:!?)]}")
_BUCKET = 4.0  # points; open lines are indexed by the vertical centre of their first span


def _chars(span: Span) -> int:
    return len(span.text.strip())


def vertical_spans(spans: list[Span], options: LineOptions = LineOptions()) -> list[bool]:
    """Which spans are set vertically (see the module docstring); ``spans`` have normalised boxes."""

    def tallness(span: Span) -> float:
        x0, y0, x1, y1 = span.bbox
        return (y1 - y0) / max(x1 - x0, 1e-6)

    long = [_chars(s) >= options.vertical_min_chars for s in spans]
    clear = [n and tallness(s) >= options.vertical_ratio for s, n in zip(spans, long)]
    across = sum(_chars(s) for s, n in zip(spans, long) if n and tallness(s) <= 1 / options.vertical_ratio)
    down = sum(_chars(s) for s, v in zip(spans, clear) if v)
    turned = down > 0 and down >= options.vertical_page_share * (down + across)
    if not turned:
        return clear
    return [v or (_chars(s) >= 2 and tallness(s) > 1.0) for s, v in zip(spans, clear)]


def group_lines(spans: list[Span], options: LineOptions = LineOptions()) -> list[Line]:
    """Group a page's spans into lines, sorted top to bottom then left to right."""
    usable = [_normalised(s) for s in spans if s.text and s.text.strip()]
    vertical = [s for s, v in zip(usable, vertical_spans(usable, options)) if v]
    if vertical:
        standing = {id(s) for s in vertical}
        usable = [s for s in usable if id(s) not in standing]
    usable.sort(key=lambda s: (s.bbox[0], s.bbox[1]))
    open_lines: list[_OpenLine] = []
    by_bucket: dict[int, list[_OpenLine]] = {}
    tallest = 0.0
    for span in usable:
        size = span_size(span)
        height = span.bbox[3] - span.bbox[1]
        centre = (span.bbox[1] + span.bbox[3]) / 2
        reach = 1.5 * max(height, tallest) + _BUCKET  # no matching line's first span is farther away
        best: _OpenLine | None = None
        best_key = (0.0, 0.0)
        for bucket in range(int((centre - reach) // _BUCKET), int((centre + reach) // _BUCKET) + 1):
            for line in by_bucket.get(bucket, ()):
                gap = span.bbox[0] - line.x1
                max_gap = options.max_label_gap_em if line.label else options.max_join_gap_em
                if gap > max_gap * size or gap < -0.5 * size:
                    continue
                overlap = vertical_overlap_ratio((0, line.y0, 0, line.y1), span.bbox)
                if overlap < options.min_vertical_overlap:
                    continue
                key = (overlap, -abs(gap))
                if best is None or key > best_key:
                    best, best_key = line, key
        if best is None:
            best = _OpenLine()
            open_lines.append(best)
            by_bucket.setdefault(int(centre // _BUCKET), []).append(best)
        best.add(span)
        tallest = max(tallest, best.y1 - best.y0)
    lines = [_finish(line.spans, options) for line in open_lines]
    lines += [Line(spans=[span], bbox=span.bbox) for span in vertical]
    lines.sort(key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    return lines


def _finish(spans: list[Span], options: LineOptions) -> Line:
    spans = sorted(spans, key=lambda s: s.bbox[0])
    spaced: list[Span] = []
    for span in spans:
        if spaced:
            prev = spaced[-1]
            gap = span.bbox[0] - prev.bbox[2]
            seam_has_space = prev.text[-1:].isspace() or span.text[:1].isspace()
            # a formula's box is its glyphs' ink: the gap to the punctuation after it is not a word space
            punctuation_after_math = bool(prev.flags & FontFlags.MATH) and span.text[:1] in _CLOSING
            if not seam_has_space and not punctuation_after_math and gap > options.space_gap_em * min(span_size(prev), span_size(span)):
                spaced[-1] = replace(prev, text=prev.text + " ")
        spaced.append(span)
    return Line(spans=spaced, bbox=bbox_union([s.bbox for s in spaced]))


def vertical_lines(lines: list[Line], options: LineOptions = LineOptions()) -> list[bool]:
    """Which of a page's lines are lines of turned text: the rule of :func:`vertical_spans` applied to the lines
    (each vertical span is a line of its own; a line of several spans reads across)."""
    as_spans = [Span(text=line_text(line), bbox=line.bbox) if len(line.spans) > 1 else line.spans[0] for line in lines]
    return [len(line.spans) == 1 and v for line, v in zip(lines, vertical_spans(as_spans, options))]


def line_text(line: Line, inline: Delimiters = INLINE_DELIMITERS) -> str:
    """The line's text without leading or trailing whitespace; inline formulas between ``inline`` delimiters."""
    return line.render(inline).strip()


def dominant_size(lines: list[Line]) -> float:
    """The font size carrying the most characters (rounded to 0.5 pt); 0 without text."""
    weights: Counter[float] = Counter()
    for line in lines:
        for span in line.spans:
            weights[round(span_size(span) * 2) / 2] += len(span.text.strip())
    if not weights:
        return 0.0
    return max(weights.items(), key=lambda kv: (kv[1], kv[0]))[0]


def line_size(line: Line) -> float:
    return dominant_size([line])


def is_bold(lines: list[Line]) -> bool:
    """Whether (nearly) all the characters of the lines are bold."""
    return _all_styled(lines, FontFlags.BOLD)


def is_italic(lines: list[Line]) -> bool:
    """Whether (nearly) all the characters of the lines are italic."""
    return _all_styled(lines, FontFlags.ITALIC)


def _all_styled(lines: list[Line], flag: FontFlags) -> bool:
    total = styled = 0
    for line in lines:
        for span in line.spans:
            n = len(span.text.strip())
            total += n
            if span.flags & flag:
                styled += n
    return total > 0 and styled >= 0.9 * total
