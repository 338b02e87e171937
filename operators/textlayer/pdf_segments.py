"""The page's straight horizontal and vertical line pieces, for finding ruled tables.

Table rules are drawn in many ways: stroked lines (``m``/``l``), stroked or filled rectangles per cell (``re``),
thin filled bars.  :func:`page_segments` reads every path object of the page (inside form XObjects too), walks its
segments and keeps each axis-aligned straight piece as a displayed segment ``(x0, y0, x1, y1)`` in points (origin
top-left, after ``/Rotate``) with ``y0 == y1`` (horizontal) or ``x0 == x1`` (vertical).  A filled path thinner than
:data:`MAX_BAR` is one segment along its middle; the edges of wider filled areas (cell shading, white boxes
behind text) are not rules.  Curves and diagonals are skipped.
"""

from __future__ import annotations

import ctypes
from bisect import bisect_left, bisect_right
from typing import Any, Sequence

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docray.operators.textlayer.pdf_geometry import (
    _IDENTITY,
    _MAX_FORM_DEPTH,
    Matrix,
    PageFrame,
    _compose,
    page_frame,
)

Segment = tuple[float, float, float, float]
MAX_BAR = 3.0  # points: a filled path at most this thick is one rule
MIN_LENGTH = 2.0  # points: shorter pieces are dots, not rules
AXIS_SLACK = 0.5  # points: a piece whose ends differ less than this across its direction is axis-aligned
DEFAULT_LIMIT = 20_000  # segments per page; charts and maps can hold many more paths


def page_segments(page: pdfium.PdfPage, frame: PageFrame | None = None, limit: int = DEFAULT_LIMIT) -> list[Segment]:
    """Axis-aligned line pieces of the page's paths (see the module docstring), at most ``limit``."""
    frame = frame or page_frame(page)
    raw = page.raw
    count = pdfium_c.FPDFPage_CountObjects(raw)
    out: list[Segment] = []
    _walk((pdfium_c.FPDFPage_GetObject(raw, i) for i in range(count)), _IDENTITY, 0, frame, limit, out)
    return out


def _walk(objects, to_page: Matrix, depth: int, frame: PageFrame, limit: int, out: list[Segment]) -> None:
    matrix = pdfium_c.FS_MATRIX()
    for obj in objects:
        if len(out) >= limit:
            return
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            if not pdfium_c.FPDFPageObj_GetMatrix(obj, matrix):
                continue
            own = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
            _path_segments(obj, _compose(own, to_page), frame, limit, out)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < _MAX_FORM_DEPTH:
            if not pdfium_c.FPDFPageObj_GetMatrix(obj, matrix):
                continue
            form_to_page = _compose((matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), to_page)
            n = pdfium_c.FPDFFormObj_CountObjects(obj)
            children = (pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(max(0, n)))
            _walk(children, form_to_page, depth + 1, frame, limit, out)


def _path_segments(obj, to_page: Matrix, frame: PageFrame, limit: int, out: list[Segment]) -> None:
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill_mode), ctypes.byref(stroke)):
        return
    filled = fill_mode.value != pdfium_c.FPDF_FILLMODE_NONE
    if not (filled or stroke.value):
        return
    a, b, c, d, e, f = to_page
    x, y = ctypes.c_float(), ctypes.c_float()
    subpaths: list[list[tuple[float, float]]] = []  # displayed points of each subpath
    pieces: list[tuple[tuple[float, float], tuple[float, float]]] = []  # straight pieces of all subpaths
    start = current = None
    curved = False
    for i in range(pdfium_c.FPDFPath_CountSegments(obj)):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        if not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
            continue
        point = frame.point(a * x.value + c * y.value + e, b * x.value + d * y.value + f)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or current is None:
            subpaths.append([point])
            start = current = point
            continue
        subpaths[-1].append(point)
        if kind == pdfium_c.FPDF_SEGMENT_LINETO:
            pieces.append((current, point))
        elif kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            curved = True
        current = point
        if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
            pieces.append((current, start))
            current = start
    if stroke.value:
        for (x0, y0), (x1, y1) in pieces:
            if len(out) >= limit:
                return
            if abs(y1 - y0) <= AXIS_SLACK:
                mid = (y0 + y1) / 2
                _keep((min(x0, x1), mid, max(x0, x1), mid), frame, out)
            elif abs(x1 - x0) <= AXIS_SLACK:
                mid = (x0 + x1) / 2
                _keep((mid, min(y0, y1), mid, max(y0, y1)), frame, out)
    elif not curved:  # filled only: each thin subpath is a bar; wider areas (shading, white boxes) are no rules
        for points in subpaths:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            width, height = max(xs) - min(xs), max(ys) - min(ys)
            if min(width, height) > MAX_BAR:
                continue
            if width >= height:
                _keep((min(xs), (min(ys) + max(ys)) / 2, max(xs), (min(ys) + max(ys)) / 2), frame, out)
            else:
                _keep(((min(xs) + max(xs)) / 2, min(ys), (min(xs) + max(xs)) / 2, max(ys)), frame, out)


def _keep(segment: Segment, frame: PageFrame, out: list[Segment]) -> None:
    x0, y0, x1, y1 = segment
    x0, x1 = max(0.0, x0), min(frame.width, x1)
    y0, y1 = max(0.0, y0), min(frame.height, y1)
    if x1 < x0 or y1 < y0 or max(x1 - x0, y1 - y0) < MIN_LENGTH:
        return
    out.append((round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)))


MIN_VERTICAL_CHARS = 20  # a page needs this many characters set vertically to have vertical text


def is_vertical_span(text: str, box: tuple[float, float, float, float]) -> bool:
    """A span whose box is at least twice as tall as wide and holds three characters or more: text set vertically."""
    return len(text.strip()) >= 3 and (box[3] - box[1]) >= 2 * (box[2] - box[0])


def vertical_text_angle(page: pdfium.PdfPage, rotation: int) -> int | None:
    """The direction of the page's vertical text as displayed: 270 when most of its vertical characters read
    bottom to top (a table turned anticlockwise), 90 when top to bottom; None with fewer than
    :data:`MIN_VERTICAL_CHARS` vertical characters.  ``rotation`` is the page's ``/Rotate``."""
    textpage = page.get_textpage()
    try:
        counts = {90: 0, 270: 0}
        for index in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
            angle = pdfium_c.FPDFText_GetCharAngle(textpage.raw, index)
            if angle < 0:
                continue
            shown = (round(angle * 180 / 3.141592653589793) + rotation) % 360
            for direction in counts:
                if abs(shown - direction) <= 5:
                    counts[direction] += 1
        direction = max(counts, key=counts.__getitem__)
        return direction if counts[direction] >= MIN_VERTICAL_CHARS else None
    finally:
        textpage.close()


def turned_spans(page: pdfium.PdfPage, frame: PageFrame, spans: Sequence[Any]) -> list[int]:
    """The indices of ``spans`` (with ``text`` and a displayed ``bbox``) set turned: at least half of a span's
    characters have their centre in its box and are displayed at 90 or 270 degrees (pdfium's char angles; a
    number of a sideways table is too short to tell by its box, and a number under a vertical header is not
    turned although its box is the same)."""
    textpage = page.get_textpage()
    try:
        centres: list[tuple[float, float]] = []
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        for index in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
            angle = pdfium_c.FPDFText_GetCharAngle(textpage.raw, index)
            if angle < 0:
                continue
            shown = (round(angle * 180 / 3.141592653589793) + frame.rotation) % 360
            if min(abs(shown - 90), abs(shown - 270)) > 5:
                continue
            if not pdfium_c.FPDFText_GetCharBox(
                textpage.raw, index, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top)
            ):
                continue
            x0, y0, x1, y1 = frame.box(left.value, bottom.value, right.value, top.value)
            centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
    finally:
        textpage.close()
    centres.sort()
    xs = [c[0] for c in centres]
    out = []
    for i, span in enumerate(spans):
        x0, y0, x1, y1 = span.bbox
        inside = sum(1 for cx, cy in centres[bisect_left(xs, x0) : bisect_right(xs, x1)] if y0 <= cy <= y1)
        chars = len(span.text.replace(" ", ""))
        if chars and 2 * inside >= chars:
            out.append(i)
    return out
