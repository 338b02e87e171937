"""olmOCR-bench's tests, scored on Markdown outputs (pure functions, no Ray).

olmOCR-bench (allenai/olmocr, ``olmocr/bench``) ships its ground truth as JSONL rows, one pass/fail test each, bound to
one page of one PDF (``pdf`` is relative to the benchmark's ``pdfs/`` folder, ``page`` is 1-based). This module
follows the facts of its public scorer, in our own code:

* ``present`` / ``absent``: fuzzy search of ``text`` (rapidfuzz ``partial_ratio`` >= ``1 - max_diffs/len(text)``
  counts as found; a tie within float rounding counts too), optionally case-insensitive and limited to the first ``first_n`` / last ``last_n`` characters of
  the normalised output (:func:`docray.evaluation.text_match.normalise`).
* ``order``: some approximate occurrence (Levenshtein <= ``max_diffs``) of ``before`` starts before some occurrence
  of ``after``.
* ``baseline``: the output has letters or digits, does not end in a character n-gram (n <= 5) repeated more than
  ``max_repeats`` times, and has no CJK/kana/emoji characters; with ``max_length`` (blank-page tests) it only checks
  that at most ``max_length`` letters/digits were output. olmOCR adds a default baseline test on page 1 of every PDF
  that has none: :func:`add_default_baselines` does that, with ``source="baseline"``.
* ``table``: some Markdown pipe table or HTML table of the output has a cell like ``cell`` whose given neighbours
  (``up``/``down``/``left``/``right``, ``top_heading``/``left_heading``) match; see :mod:`.olmocr_tables`.
* ``math``: **not olmOCR's exact check** (which renders LaTeX with KaTeX in a browser and compares symbol positions).
  When ``node`` and the KaTeX of ``tools/katex`` are installed, formulas are rendered with KaTeX to MathML and compared
  by rendered structure (:mod:`.katex_math`, reports say "math (KaTeX structure)"); otherwise some ``$..$``,
  ``$$..$$``, ``\\(..\\)`` or ``\\[..\\]`` formula of the output must be within a small edit distance of the ground
  truth after LaTeX normalisation (:mod:`.olmocr_math`, "math (approx.)"). :func:`default_math_checker` picks one;
  :func:`score` takes ``math_checker`` to force either.

Scores: each test passes or fails. A type's rate is its passed share; ``overall`` is, as in olmOCR, the mean over
JSONL files (``BenchTest.source``) of each file's pass rate; ``mean_over_tests`` is the plain mean. olmOCR scores
repeated runs by majority vote; here every output is one run.

Outputs are Markdown strings keyed by ``(pdf, page)`` (one page's Markdown) or by ``pdf`` (the whole document's, used
for every page's tests). A test whose output is missing (or ``None``) fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, Union

from docray.evaluation.katex_math import KatexMathChecker, KatexRenderer
from docray.evaluation.olmocr_math import ApproximateMathChecker
from docray.evaluation.olmocr_report import Rate, Report, TestOutcome
from docray.evaluation.olmocr_tables import check_table_cell
from docray.evaluation.text_match import (
    alphanumeric_count,
    disallowed_characters,
    near_match_starts,
    normalise,
    partial_ratio,
    trailing_repeats,
)


class TestType(str, Enum):
    __test__ = False  # not a pytest class

    PRESENT = "present"
    ABSENT = "absent"
    ORDER = "order"
    BASELINE = "baseline"
    TABLE = "table"
    MATH = "math"


DEFAULT_BASELINE_SOURCE = "baseline"
# partial_ratio is 1 - indel_distance / (2 * len), so k substituted characters land exactly on the threshold for
# max_diffs = k; olmOCR compares the floats directly, where such ties fall either way by rounding. We count a tie
# as a match.
TIE_TOLERANCE = 1e-9
_COMMON_KEYS = {"id", "pdf", "page", "type", "max_diffs", "checked", "url"}
_TABLE_TEXT_KEYS = ("cell", "up", "down", "left", "right", "top_heading", "left_heading")


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    passed: bool
    explanation: str = ""
    scored: bool = True  # False for a test that could not be scored (counted apart, in no rate)


@dataclass(frozen=True, kw_only=True)
class BenchTest:
    id: str
    pdf: str  # relative to the benchmark's pdfs/ folder
    page: int  # 1-based
    type: TestType
    source: str = ""  # the JSONL file name the test came from (the unit of the overall score)
    max_diffs: int = 0
    checked: str | None = None

    def run(self, markdown: str) -> TestResult:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class TextPresenceTest(BenchTest):
    """``present`` or ``absent``: whether ``text`` occurs (fuzzily) in the output."""

    text: str
    case_sensitive: bool = True
    first_n: int | None = None
    last_n: int | None = None

    def run(self, markdown: str) -> TestResult:
        query, content = normalise(self.text), normalise(markdown)
        if not self.case_sensitive:
            query, content = query.lower(), content.lower()
        if self.first_n and self.last_n:
            content = content[: self.first_n] + content[-self.last_n :]
        elif self.first_n:
            content = content[: self.first_n]
        elif self.last_n:
            content = content[-self.last_n :]
        threshold = 1.0 - self.max_diffs / max(1, len(query))
        ratio = partial_ratio(query, content)
        found = ratio >= threshold - TIE_TOLERANCE
        wanted = self.type == TestType.PRESENT
        if found == wanted:
            return TestResult(True)
        verb = "expected" if wanted else "expected absence of"
        return TestResult(False, f"{verb} {query[:40]!r}: best match {ratio:.3f}, threshold {threshold:.3f}")


@dataclass(frozen=True, kw_only=True)
class TextOrderTest(BenchTest):
    """``order``: ``before`` must occur before ``after``."""

    before: str
    after: str

    def run(self, markdown: str) -> TestResult:
        content = normalise(markdown)
        before_starts = near_match_starts(normalise(self.before), content, self.max_diffs)
        if not before_starts:
            return TestResult(False, f"'before' {self.before[:40]!r} not found within {self.max_diffs} edits")
        after_starts = near_match_starts(normalise(self.after), content, self.max_diffs)
        if not after_starts:
            return TestResult(False, f"'after' {self.after[:40]!r} not found within {self.max_diffs} edits")
        if min(before_starts) < max(after_starts):
            return TestResult(True)
        return TestResult(False, f"{self.before[:40]!r} never starts before {self.after[:40]!r}")


@dataclass(frozen=True, kw_only=True)
class BaselineTest(BenchTest):
    """``baseline``: basic sanity of a page's output; a blank-page test when ``max_length`` is set."""

    max_length: int | None = None
    max_length_skips_image_alt_tags: bool = False
    max_repeats: int = 30
    check_disallowed_characters: bool = True

    def run(self, markdown: str) -> TestResult:
        if self.max_length is not None:
            count = alphanumeric_count(markdown, skip_image_tags=self.max_length_skips_image_alt_tags)
            if count > self.max_length:
                return TestResult(False, f"{count} letters/digits on a page expected blank (max {self.max_length})")
            return TestResult(True)
        if alphanumeric_count(markdown) == 0:
            return TestResult(False, "no letters or digits in the output")
        for size, count in enumerate(trailing_repeats(markdown), start=1):
            if count > self.max_repeats:
                return TestResult(False, f"output ends with {count} repeats of a {size}-character n-gram")
        found = disallowed_characters(markdown) if self.check_disallowed_characters else []
        if found:
            return TestResult(False, f"disallowed characters {''.join(found[:10])!r}")
        return TestResult(True)


@dataclass(frozen=True, kw_only=True)
class TableTest(BenchTest):
    """``table``: a table cell like ``cell`` whose given neighbours match (:func:`.olmocr_tables.check_table_cell`)."""

    cell: str
    up: str = ""
    down: str = ""
    left: str = ""
    right: str = ""
    top_heading: str = ""
    left_heading: str = ""
    ignore_markdown_tables: bool = False

    def run(self, markdown: str) -> TestResult:
        relations = {name: getattr(self, name) for name in _TABLE_TEXT_KEYS[1:]}
        passed, why = check_table_cell(markdown, self.cell, max_diffs=self.max_diffs,
                                       ignore_markdown_tables=self.ignore_markdown_tables, **relations)  # fmt: skip
        return TestResult(passed, why)


class MathChecker(Protocol):
    """How ``math`` tests are checked: :class:`.KatexMathChecker` or :class:`.ApproximateMathChecker`."""

    method: str  # for report labels: "KaTeX structure" or "approx."

    def prepare(self, pairs: Iterable[tuple[str, str, bool]]) -> None: ...

    def check(self, content: str, latex: str, *, ignore_dollar_delimited: bool = False) -> tuple[bool, str]: ...


def default_math_checker() -> MathChecker:
    """The KaTeX structure check if node and ``tools/katex`` are installed, else the approximate token check."""
    renderer = KatexRenderer.find()
    return KatexMathChecker(renderer) if renderer is not None else ApproximateMathChecker()


@dataclass(frozen=True, kw_only=True)
class MathTest(BenchTest):
    """``math``: a formula of the output like ``math``, by ``math_checker`` (:func:`default_math_checker` if None)."""

    math: str
    ignore_dollar_delimited: bool = False

    def run(self, markdown: str, math_checker: MathChecker | None = None) -> TestResult:
        checker = math_checker or default_math_checker()
        passed, why = checker.check(markdown, self.math, ignore_dollar_delimited=self.ignore_dollar_delimited)
        return TestResult(passed, why)


def parse_test(row: Mapping[str, Any], source: str = "") -> BenchTest:
    """One JSONL row as a typed test; raises ``ValueError`` on an unknown type or field, or an invalid value."""
    try:
        kind = TestType(row.get("type"))
    except ValueError:
        raise ValueError(f"test {row.get('id')!r}: unknown type {row.get('type')!r}") from None
    common = dict(
        id=str(row.get("id") or ""),
        pdf=str(row.get("pdf") or ""),
        page=int(row.get("page", 1)),
        type=kind,
        source=source,
        max_diffs=row.get("max_diffs", 0),
        checked=row.get("checked"),
    )
    if not common["id"] or not common["pdf"]:
        raise ValueError(f"test row without id or pdf: {dict(row)}")
    if not isinstance(common["max_diffs"], int) or common["max_diffs"] < 0:
        raise ValueError(f"test {common['id']!r}: max_diffs must be an int >= 0")
    extra = {k: v for k, v in row.items() if k not in _COMMON_KEYS}
    if kind in (TestType.PRESENT, TestType.ABSENT):
        _only(extra, {"text", "case_sensitive", "first_n", "last_n"}, common["id"])
        if not normalise(str(extra.get("text", ""))).strip():
            raise ValueError(f"test {common['id']!r}: empty text")
        return TextPresenceTest(**common, **extra)
    if kind == TestType.ORDER:
        _only(extra, {"before", "after"}, common["id"])
        for name in ("before", "after"):
            text = normalise(str(extra.get(name, "")))
            if not text.strip():
                raise ValueError(f"test {common['id']!r}: empty {name!r}")
            if common["max_diffs"] > len(text) // 2:
                raise ValueError(f"test {common['id']!r}: max_diffs over half the length of {name!r}")
        return TextOrderTest(**common, **extra)
    if kind == TestType.BASELINE:
        _only(extra, {"max_length", "max_length_skips_image_alt_tags", "max_repeats", "check_disallowed_characters"},
              common["id"])  # fmt: skip
        return BaselineTest(**common, **extra)
    if kind == TestType.TABLE:
        _only(extra, {*_TABLE_TEXT_KEYS, "ignore_markdown_tables"}, common["id"])
        if not all(isinstance(extra.get(name, ""), str) for name in _TABLE_TEXT_KEYS):
            raise ValueError(f"test {common['id']!r}: table cell and neighbours must be strings")
        return TableTest(**common, **extra)
    _only(extra, {"math", "ignore_dollar_delimited"}, common["id"])
    if not str(extra.get("math", "")).strip():
        raise ValueError(f"test {common['id']!r}: empty math")
    return MathTest(**common, **extra)


def _only(extra: Mapping[str, Any], allowed: set[str], test_id: str) -> None:
    unknown = set(extra) - allowed
    if unknown:
        raise ValueError(f"test {test_id!r}: unknown fields {sorted(unknown)}")


def load_tests(jsonl_paths: str | Path | Iterable[str | Path]) -> list[BenchTest]:
    """Tests of one or more JSONL files (blank lines skipped); ``source`` is each file's name. Ids must be unique."""
    paths = [jsonl_paths] if isinstance(jsonl_paths, (str, Path)) else list(jsonl_paths)
    tests: list[BenchTest] = []
    for path in map(Path, paths):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                tests.append(parse_test(json.loads(line), source=path.name))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    seen: set[str] = set()
    for test in tests:
        if test.id in seen:
            raise ValueError(f"duplicate test id {test.id!r}")
        seen.add(test.id)
    return tests


def add_default_baselines(tests: Iterable[BenchTest], pdf_names: Iterable[str]) -> list[BenchTest]:
    """``tests`` plus, for each pdf with no baseline test, a default :class:`BaselineTest` on its page 1."""
    tests = list(tests)
    has_baseline = {t.pdf for t in tests if t.type == TestType.BASELINE}
    for pdf in sorted(set(pdf_names) - has_baseline):
        tests.append(
            BaselineTest(id=f"{pdf}_baseline", pdf=pdf, page=1, type=TestType.BASELINE, source=DEFAULT_BASELINE_SOURCE)
        )
    return tests


Outputs = Mapping[Union[str, tuple[str, int]], Union[str, None]]


def output_for(test: BenchTest, outputs: Outputs) -> str | None:
    """The Markdown a test reads: its page's, else its whole document's, else ``None``."""
    page_output = outputs.get((test.pdf, test.page))
    return page_output if page_output is not None else outputs.get(test.pdf)


def run_test(test: BenchTest, markdown: str | None, math_checker: MathChecker | None = None) -> TestResult:
    """Run one test (``math`` ones with ``math_checker``); a missing output (``None``) fails every test."""
    if markdown is None:
        return TestResult(False, f"no output for {test.pdf} page {test.page}")
    if isinstance(test, MathTest):
        return test.run(markdown, math_checker)
    return test.run(markdown)


def score(tests: Iterable[BenchTest], outputs: Outputs, *, math_checker: MathChecker | None = None) -> Report:
    """Run every test on its output (see :func:`output_for`) and collect the results.

    ``math`` tests use ``math_checker`` (default: :func:`default_math_checker`), which first renders all their
    formulas at once; the report's ``math_method`` says which check it was.
    """
    tests = list(tests)
    checker = math_checker or default_math_checker()
    markdowns = [output_for(test, outputs) for test in tests]
    checker.prepare((markdown, test.math, test.ignore_dollar_delimited)
                    for test, markdown in zip(tests, markdowns) if isinstance(test, MathTest) and markdown is not None)
    outcomes = [TestOutcome(test, run_test(test, markdown, checker)) for test, markdown in zip(tests, markdowns)]
    return Report(outcomes, math_method=checker.method)


__all__ = [
    "BaselineTest", "BenchTest", "MathChecker", "MathTest", "Outputs", "Rate", "Report", "TableTest",
    "TestOutcome", "TestResult", "TestType", "TextOrderTest", "TextPresenceTest", "add_default_baselines", "default_math_checker",
    "load_tests", "normalise", "output_for", "parse_test", "run_test", "score",
]  # fmt: skip
