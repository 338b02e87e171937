"""Text lines of a page's glyphs, with sub/superscripts and big delimiters kept on the line they belong to.

Glyphs are first grouped by baseline (origin y) and split at wide horizontal gaps (columns, equation numbers);
a group of smaller glyphs whose baseline lies within a line's height of a group of bigger glyphs over the same
x range (scripts, inline fraction parts) joins that line; glyphs pdfium could not map (CMEX big operators,
whose origin is not on the baseline) join the line nearest to their centre.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from docray.datamodel import BBox
from docray.operators.textlayer.pdf_glyphs import REPLACEMENT, Glyph

BASELINE_TOLERANCE = 0.12  # x size: glyphs whose baselines differ less share a baseline
SPLIT_GAP = 1.5  # x size: a wider horizontal gap starts a new segment (column gutters, equation numbers)
HOST_X_GAP = 1.5  # x size: a script or big delimiter lies at most this far (in x) from a glyph of its line
SCRIPT_RATIO = 0.85  # a group this much smaller than a neighbour line is its scripts
SCRIPT_REACH = 0.65  # x size: how far from a line's baseline its scripts' (and inline fractions') baselines lie
DELIMITER_REACH = 1.2  # x size: how far from a line's body band a big delimiter's centre may lie


@dataclass(slots=True)
class Line:
    """Glyphs of one line segment, sorted by left edge."""

    members: list[int]
    baseline: float
    size: float
    bbox: BBox = (0.0, 0.0, 0.0, 0.0)

    def finish(self, glyphs: Sequence[Glyph]) -> Line:
        self.members = sorted(self.members, key=lambda i: (glyphs[i].bbox[0], glyphs[i].bbox[1]))
        boxes = [glyphs[i].bbox for i in self.members]
        self.bbox = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        return self


def _floating(glyph: Glyph) -> bool:
    """Glyphs whose origin is not on a text baseline: unmapped big operators/delimiters."""
    if glyph.text == REPLACEMENT or glyph.font.upper().startswith("CMEX"):
        return True
    return (glyph.bbox[1] + glyph.bbox[3]) / 2 > glyph.origin[
        1
    ] + 0.3 * glyph.size  # hangs below its origin (a radical)


def _baseline_groups(glyphs: Sequence[Glyph], indices: list[int]) -> list[list[int]]:
    """Glyph indices grouped by baseline (page wide), each group split into its full-size and its small glyphs."""
    indices = sorted(indices, key=lambda i: glyphs[i].origin[1])
    groups: list[list[int]] = []
    last = None
    for i in indices:
        y, size = glyphs[i].origin[1], max(glyphs[i].size, 1.0)
        if last is None or y - last > BASELINE_TOLERANCE * size:
            groups.append([])
        groups[-1].append(i)
        last = y
    out: list[list[int]] = []
    for group in groups:
        top = max(glyphs[i].size for i in group)
        full = [i for i in group if glyphs[i].size >= SCRIPT_RATIO * top]
        small = [i for i in group if glyphs[i].size < SCRIPT_RATIO * top]
        out += [g for g in (full, small) if g]
    return out


@dataclass(slots=True)
class _Group:
    members: list[int]
    baseline: float
    size: float
    xs: list[tuple[float, float]]  # (x0, x1) of its own glyphs, sorted

    def x_distance(self, box: BBox) -> float:
        k = bisect.bisect_left(self.xs, (box[0], box[0]))
        best = float("inf")
        for x0, x1 in self.xs[max(0, k - 2) : k + 2]:
            best = min(best, max(0.0, x0 - box[2], box[0] - x1))
        return best


def build_lines(glyphs: Sequence[Glyph], indices: Sequence[int] | None = None) -> list[Line]:
    """Line segments of ``glyphs`` (all, or those at ``indices``), top to bottom, each sorted left to right."""
    chosen = list(range(len(glyphs))) if indices is None else list(indices)
    fixed = [i for i in chosen if not _floating(glyphs[i])]
    floating = [i for i in chosen if _floating(glyphs[i])]
    groups = [
        _Group(
            g,
            statistics.median(glyphs[i].origin[1] for i in g),
            max(glyphs[i].size for i in g),
            sorted((glyphs[i].bbox[0], glyphs[i].bbox[2]) for i in g),
        )
        for g in _baseline_groups(glyphs, fixed)
    ]
    groups.sort(key=lambda g: g.baseline)
    baselines = [g.baseline for g in groups]
    hosted: dict[int, int] = {}  # script glyph -> the group of its line
    originals = [list(group.members) for group in groups]
    for group in groups:
        keep = []
        for i in group.members:
            g = glyphs[i]
            host = _host(g, groups, baselines, lambda h, g=g: g.size < SCRIPT_RATIO * h.size, script=True)
            if host is None:
                keep.append(i)
            else:
                hosted[i] = host
        group.members = keep
    joined: dict[int, list[int]] = {}
    for i, host in hosted.items():
        for _ in range(3):  # a script of a script (x_{i_1}) goes where its own base went
            base = min(originals[host], key=lambda j: abs(glyphs[j].bbox[0] - glyphs[i].bbox[0]))
            if hosted.get(base, host) == host:
                break
            host = hosted[base]
        joined.setdefault(host, []).append(i)
    for gi, extra in joined.items():  # scripts count as their line's glyphs when placing big delimiters
        groups[gi].xs = sorted(groups[gi].xs + [(glyphs[i].bbox[0], glyphs[i].bbox[2]) for i in extra])
    for i in floating:
        host = _host(glyphs[i], groups, baselines, lambda h: True, script=False)
        if host is None:
            groups.append(_Group([i], (glyphs[i].bbox[1] + glyphs[i].bbox[3]) / 2, glyphs[i].size, []))
        else:
            joined.setdefault(host, []).append(i)
    lines: list[Line] = []
    for gi, group in enumerate(groups):
        members = group.members + joined.get(gi, [])
        if members:
            lines += _segments(glyphs, members, group.baseline, group.size)
    lines.sort(key=lambda line: (line.baseline, line.bbox[0]))
    return lines


def _segments(glyphs: Sequence[Glyph], members: list[int], baseline: float, size: float) -> list[Line]:
    members = sorted(members, key=lambda i: glyphs[i].bbox[0])
    out: list[Line] = []
    segment = [members[0]]
    right = glyphs[members[0]].bbox[2]
    for i in members[1:]:
        if glyphs[i].bbox[0] - right > SPLIT_GAP * size:
            out.append(Line(segment, baseline, size).finish(glyphs))
            segment = []
        segment.append(i)
        right = max(right, glyphs[i].bbox[2])
    out.append(Line(segment, baseline, size).finish(glyphs))
    return out


def _host(glyph: Glyph, groups: list[_Group], baselines: list[float], eligible, *, script: bool) -> int | None:
    """The group ``glyph`` belongs to: near it in x, and (a script) with a baseline close to the glyph's, or (a big
    delimiter) with a body band close to the glyph's centre; the nearest by vertical plus horizontal distance."""
    cy = (glyph.bbox[1] + glyph.bbox[3]) / 2
    best, best_d = None, float("inf")
    window = 2.5 * max(glyph.size, 1.0) + 30.0
    lo, hi = bisect.bisect_left(baselines, cy - window), bisect.bisect_right(baselines, cy + window)
    for gi in range(lo, min(hi, len(groups))):
        group = groups[gi]
        if not group.xs or not eligible(group):
            continue
        if script:
            d = abs(glyph.origin[1] - group.baseline)
            limit = SCRIPT_REACH * group.size
        else:
            top, bottom = group.baseline - 0.75 * group.size, group.baseline
            d = top - cy if cy < top else (cy - bottom if cy > bottom else 0.0)
            limit = DELIMITER_REACH * group.size
        dx = group.x_distance(glyph.bbox)
        if d < limit and dx <= HOST_X_GAP * group.size and d + dx < best_d:
            best, best_d = gi, d + dx
    return best
