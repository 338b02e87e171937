"""Page geometry: PDF user space to the displayed page, and the page's image objects.

pdfium reports positions in PDF user space (points, origin bottom-left, before the page's
``/Rotate``).  docray boxes are on the page *as displayed* (the way pdfium renders it): points,
origin top-left, after the rotation, relative to the visible (crop) box.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docray.datamodel import BBox

_MAX_FORM_DEPTH = 8
Matrix = tuple[float, float, float, float, float, float]  # a, b, c, d, e, f (PDF order)
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class PageFrame:
    """The visible box of a page and its rotation: maps user space to displayed top-left points."""

    left: float  # user-space x of the visible box's left edge
    top: float  # user-space y of the visible box's top edge
    box_width: float  # visible box size before rotation
    box_height: float
    rotation: int  # clockwise degrees: 0, 90, 180 or 270

    @property
    def width(self) -> float:
        """Displayed width in points."""
        return self.box_height if self.rotation in (90, 270) else self.box_width

    @property
    def height(self) -> float:
        """Displayed height in points."""
        return self.box_width if self.rotation in (90, 270) else self.box_height

    def point(self, x: float, y: float) -> tuple[float, float]:
        """A user-space point on the displayed page (top-left origin)."""
        u = x - self.left  # unrotated, top-left origin
        v = self.top - y
        if self.rotation == 90:
            return self.box_height - v, u
        if self.rotation == 180:
            return self.box_width - u, self.box_height - v
        if self.rotation == 270:
            return v, self.box_width - u
        return u, v

    def box(self, left: float, bottom: float, right: float, top: float) -> BBox:
        """A user-space rectangle as a displayed ``(x0, y0, x1, y1)`` box."""
        xa, ya = self.point(left, bottom)
        xb, yb = self.point(right, top)
        return (min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))


def page_frame(page: pdfium.PdfPage) -> PageFrame:
    """The frame pdfium renders: the crop box clipped to the media box, and ``/Rotate``."""
    media = page.get_mediabox()
    crop = page.get_cropbox()  # falls back to the media box
    left, bottom = max(media[0], crop[0]), max(media[1], crop[1])
    right, top = min(media[2], crop[2]), min(media[3], crop[3])
    if right <= left or top <= bottom:  # a crop box outside the media box: pdfium uses the media box
        left, bottom, right, top = media
    return PageFrame(left, top, right - left, top - bottom, page.get_rotation() % 360)


def clip_box(box: BBox, width: float, height: float) -> BBox | None:
    """``box`` clipped to a ``width`` x ``height`` page, or None if nothing of it is on the page."""
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    x1, y1 = min(width, box[2]), min(height, box[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def image_boxes(page: pdfium.PdfPage, frame: PageFrame | None = None) -> list[BBox]:
    """Displayed boxes of the page's image objects, including those inside form XObjects, clipped to the page.

    Images wholly outside the visible box are left out.
    """
    return object_boxes(page, pdfium_c.FPDF_PAGEOBJ_IMAGE, frame)


def object_boxes(
    page: pdfium.PdfPage,
    kind: int,
    frame: PageFrame | None = None,
    keep: Callable[[BBox], bool] | None = None,
    limit: int | None = None,
) -> list[BBox]:
    """Displayed boxes (clipped to the page) of the page's objects of pdfium type ``kind``, inside form XObjects too.

    ``keep`` filters the boxes; at most ``limit`` are returned.
    """
    frame = frame or page_frame(page)
    boxes: list[BBox] = []
    raw = page.raw
    count = pdfium_c.FPDFPage_CountObjects(raw)
    objects = (pdfium_c.FPDFPage_GetObject(raw, i) for i in range(count))
    _collect(objects, _IDENTITY, 0, _Wanted(kind, frame, keep, limit), boxes)
    return boxes


@dataclass(frozen=True, slots=True)
class _Wanted:
    kind: int
    frame: PageFrame
    keep: Callable[[BBox], bool] | None
    limit: int | None


def _collect(objects, to_page: Matrix, depth: int, wanted: _Wanted, out: list[BBox]) -> None:
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    frame = wanted.frame
    for obj in objects:
        if wanted.limit is not None and len(out) >= wanted.limit:
            return
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == wanted.kind:
            if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                continue
            corners = _transform_rect(to_page, left.value, bottom.value, right.value, top.value)
            clipped = clip_box(frame.box(*corners), frame.width, frame.height)
            if clipped is not None and (wanted.keep is None or wanted.keep(clipped)):
                out.append(clipped)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < _MAX_FORM_DEPTH:
            matrix = pdfium_c.FS_MATRIX()
            if not pdfium_c.FPDFPageObj_GetMatrix(obj, matrix):
                continue
            form_to_page = _compose((matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), to_page)
            n = pdfium_c.FPDFFormObj_CountObjects(obj)
            children = (pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(max(0, n)))
            _collect(children, form_to_page, depth + 1, wanted, out)


def _compose(first: Matrix, then: Matrix) -> Matrix:
    """The matrix applying ``first`` and then ``then`` (PDF row-vector convention)."""
    a, b, c, d, e, f = first
    a2, b2, c2, d2, e2, f2 = then
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _transform_rect(m: Matrix, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
    """Bounding rectangle (left, bottom, right, top) of a rectangle mapped through ``m``."""
    if m == _IDENTITY:
        return left, bottom, right, top
    a, b, c, d, e, f = m
    xs, ys = [], []
    for x, y in ((left, bottom), (left, top), (right, bottom), (right, top)):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    return min(xs), min(ys), max(xs), max(ys)


def image_coverage(boxes: list[BBox], width: float, height: float, cell: float = 2.0) -> float:
    """Share (0..1) of a ``width`` x ``height`` page covered by the union of ``boxes``.

    Overlapping images are counted once: the union is measured on a grid of ``cell``-point cells
    (exact to about one cell along each box edge).
    """
    if not boxes or width <= 0 or height <= 0:
        return 0.0
    cols, rows = max(1, int(np.ceil(width / cell))), max(1, int(np.ceil(height / cell)))
    covered = np.zeros((rows, cols), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        c0, c1 = int(round(x0 / cell)), int(round(x1 / cell))
        r0, r1 = int(round(y0 / cell)), int(round(y1 / cell))
        covered[max(0, r0) : min(rows, r1), max(0, c0) : min(cols, c1)] = True
    return float(covered.mean())
