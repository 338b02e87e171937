"""olmOCR-bench's ``math`` test on formulas rendered with KaTeX, compared by their rendered STRUCTURE (no browser).

olmOCR-bench (allenai/olmocr, ``olmocr/bench/katex``) renders the ground truth and each candidate with KaTeX in headless
Chromium and compares the on-screen positions of the rendered symbols. Here KaTeX runs in node
(``tools/katex/render.js``, the pinned ``katex`` npm package) and renders to MathML; the MathML is compared as a tree,
**not by pixel positions**. Reports call it "math (KaTeX structure)".

* :func:`math_symbols`: the rendered symbols (text of ``mi``/``mn``/``mo``/``mtext``/``ms`` leaves, NFKC-normalised,
  one per character, whitespace and invisible operators dropped; fonts and other attributes ignored) in reading order,
  each with its structural path: the relations (:data:`RELATIONS`) from the formula's root down to it, e.g. ``("num",
  "sup")`` for the ``2`` of ``\\frac{x^2}{y}``. ``under``/``over`` count as ``sub``/``sup`` (display and inline limits
  render alike), a table cell is ``"cell r,c"``; grouping elements (``mrow``, ``mstyle``...) add nothing.
* :func:`structure_distance`: the ground truth's symbols are aligned with the best-matching stretch of the candidate's
  symbols below some node of the candidate (paths taken relative to that node), so a candidate may hold more than the
  ground truth, as with olmOCR's MathML containment. A symbol matches when text and path are equal.
* :class:`KatexMathChecker`: a ground truth passes when some candidate formula of the output (the same extraction as
  :func:`.olmocr_math.extract_formulas`) is identical to it, or is within ``max_edit_ratio`` of its symbol count
  (rounded down: formulas under 20 symbols must match exactly). A formula KaTeX cannot render fails; a ground truth
  KaTeX cannot render fails with that reason.

Formulas are rendered in one node process per batch (:meth:`KatexRenderer.render_many`) and cached per renderer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from docray.evaluation.olmocr_math import DEFAULT_MAX_EDIT_RATIO, extract_formulas, window_edit_distance

METHOD_LABEL = "KaTeX structure"
DEFAULT_KATEX_DIR = Path(__file__).resolve().parents[2] / "tools" / "katex"
RENDER_TIMEOUT_S = 300
_NS = "{http://www.w3.org/1998/Math/MathML}"
_LEAVES = {"mi", "mn", "mo", "mtext", "ms"}
_HIDDEN = {"annotation", "annotation-xml", "mphantom", "mspace"}
_INVISIBLE = {"\u2061", "\u2062", "\u2063", "\u2064", "\u200b"}
# relation of each child, by parent element; the last entry repeats for further children
RELATIONS: dict[str, tuple[str, ...]] = {
    "msub": ("base", "sub"), "msup": ("base", "sup"), "msubsup": ("base", "sub", "sup"),
    "munder": ("base", "sub"), "mover": ("base", "sup"), "munderover": ("base", "sub", "sup"),
    "mfrac": ("num", "den"), "mroot": ("sqrt", "root"), "msqrt": ("sqrt",),
}  # fmt: skip

Symbol = tuple[str, tuple[str, ...]]  # (text, path of relations)


@dataclass(frozen=True)
class Rendering:
    """KaTeX's MathML for one formula, or the error that stopped it."""

    mathml: str | None = None
    error: str | None = None


def math_symbols(mathml: str) -> list[Symbol]:
    """The rendered symbols of KaTeX MathML with their structural paths (see the module docstring)."""
    root = ElementTree.fromstring(mathml)
    math = root if _tag(root) == "math" else root.find(f".//{_NS}math")
    symbols: list[Symbol] = []
    if math is not None:
        _walk(math, (), symbols)
    return symbols


def _tag(element: ElementTree.Element) -> str:
    return element.tag.removeprefix(_NS)


def _walk(element: ElementTree.Element, path: tuple[str, ...], symbols: list[Symbol]) -> None:
    tag = _tag(element)
    if tag in _HIDDEN:
        return
    if tag in _LEAVES:
        text = unicodedata.normalize("NFKC", "".join(element.itertext()))
        symbols += [(char, path) for char in text if not char.isspace() and char not in _INVISIBLE]
        return
    if tag == "mtable":
        for row_index, row in enumerate(child for child in element if _tag(child) in ("mtr", "mlabeledtr")):
            for column, cell in enumerate(row):
                _walk(cell, (*path, f"cell {row_index},{column}"), symbols)
        return
    relations = RELATIONS.get(tag)
    for index, child in enumerate(element):
        relation = relations[min(index, len(relations) - 1)] if relations else None
        _walk(child, path if relation in (None, "base") else (*path, relation), symbols)


def structure_distance(wanted: list[Symbol], found: list[Symbol]) -> int:
    """Fewest symbol edits between ``wanted`` and a stretch of ``found`` below some node of ``found``."""
    prefixes = {path[:depth] for _, path in found for depth in range(len(path) + 1)}
    best = len(wanted)
    for prefix in sorted(prefixes, key=len):
        below = [(text, path[len(prefix) :]) for text, path in found if path[: len(prefix)] == prefix]
        best = min(best, window_edit_distance(wanted, below))
        if best == 0:
            break
    return best


@dataclass
class KatexRenderer:
    """Renders LaTeX to MathML with ``node`` and the KaTeX installed under ``katex_dir`` (results are cached)."""

    node: str
    katex_dir: Path = DEFAULT_KATEX_DIR
    cache: dict[str, Rendering] = field(default_factory=dict)

    @classmethod
    def find(cls, katex_dir: Path = DEFAULT_KATEX_DIR) -> KatexRenderer | None:
        """A renderer if ``node`` is on PATH and ``katex`` is installed (``npm ci --prefix tools/katex``), else None."""
        if missing_katex(katex_dir) is not None:
            return None
        return cls(str(shutil.which("node")), Path(katex_dir))

    def render_many(self, formulas: Iterable[str]) -> dict[str, Rendering]:
        """Each formula's rendering; the uncached ones are rendered in one node process."""
        formulas = list(dict.fromkeys(formulas))
        todo = [formula for formula in formulas if formula not in self.cache]
        if todo:
            completed = subprocess.run(
                [self.node, str(self.katex_dir / "render.js")], input=json.dumps(todo), capture_output=True,
                text=True, encoding="utf-8", timeout=RENDER_TIMEOUT_S, cwd=self.katex_dir,
            )  # fmt: skip
            if completed.returncode != 0:
                raise RuntimeError(f"KaTeX render.js failed ({completed.returncode}): {completed.stderr[-500:]}")
            for formula, item in zip(todo, json.loads(completed.stdout), strict=True):
                self.cache[formula] = Rendering(item.get("mathml"), item.get("error"))
        return {formula: self.cache[formula] for formula in formulas}

    def symbols(self, formula: str) -> list[Symbol] | str:
        """The formula's rendered symbols, or KaTeX's error message."""
        rendering = self.render_many([formula])[formula]
        if rendering.mathml is None:
            return rendering.error or "KaTeX rendered nothing"
        return math_symbols(rendering.mathml)


def missing_katex(katex_dir: Path = DEFAULT_KATEX_DIR) -> str | None:
    """Why KaTeX cannot run here (no node, or katex not installed under ``katex_dir``), or None if it can."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (Path(katex_dir) / "node_modules" / "katex" / "package.json").is_file():
        return f"katex is not installed under {katex_dir} (run: npm ci --prefix {katex_dir})"
    return None


@dataclass
class KatexMathChecker:
    """olmOCR's ``math`` test by KaTeX-rendered structure; ``method`` labels reports."""

    renderer: KatexRenderer
    max_edit_ratio: float = DEFAULT_MAX_EDIT_RATIO
    method: str = METHOD_LABEL

    def prepare(self, pairs: Iterable[tuple[str, str, bool]]) -> None:
        """Render, in one node call, the ground truths and candidates of ``(content, latex, ignore_dollar)`` tests."""
        formulas: list[str] = []
        for content, latex, ignore_dollar_delimited in pairs:
            formulas += [latex, *extract_formulas(content, ignore_dollar_delimited=ignore_dollar_delimited)]
        self.renderer.render_many(formulas)

    def check(self, content: str, latex: str, *, ignore_dollar_delimited: bool = False) -> tuple[bool, str]:
        """Whether some formula of ``content`` renders like ``latex``; and why not."""
        formulas = extract_formulas(content, ignore_dollar_delimited=ignore_dollar_delimited)
        if any(formula == latex for formula in formulas):
            return True, ""
        if not formulas:
            return False, "no formulas ($..$, $$..$$, \\(..\\), \\[..\\]) in the output"
        self.renderer.render_many([latex, *formulas])
        wanted = self.renderer.symbols(latex)
        if isinstance(wanted, str):
            return False, f"KaTeX cannot render the ground truth {latex[:40]!r}: {wanted[:80]}"
        if not wanted:
            return False, f"ground truth {latex[:40]!r} renders no symbols"
        allowed = int(self.max_edit_ratio * len(wanted))
        best, closest, errors = len(wanted) + 1, "", 0
        for formula in formulas:
            found = self.renderer.symbols(formula)
            if isinstance(found, str):
                errors += 1
                continue
            distance = structure_distance(wanted, found)
            if distance <= allowed:
                return True, ""
            if distance < best:
                best, closest = distance, formula
        if not closest:
            return False, f"KaTeX cannot render any of the {len(formulas)} formulas of the output"
        return False, (f"KaTeX structure: closest of {len(formulas)} formulas ({errors} unrenderable) {closest[:40]!r} "
                       f"is {best} symbol edits from {latex[:40]!r}, {allowed} allowed")  # fmt: skip
