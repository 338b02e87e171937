"""Pass rates of scored olmOCR-bench tests: per test type, per JSONL file, overall (see :mod:`.olmocr_bench`).

``math`` rates come from an approximation of olmOCR's check (which compares KaTeX-rendered symbol positions in a
browser): the KaTeX structure check (:mod:`.katex_math`) or the LaTeX token check (:mod:`.olmocr_math`).
:attr:`Report.math_method` says which; :func:`type_label` gives ``"math (KaTeX structure)"`` or ``"math (approx.)"``,
and :meth:`Report.to_dict` lists math under ``approximate_types`` either way, with ``math_method``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docray.evaluation.olmocr_bench import BenchTest, TestResult

TYPE_ORDER = ("present", "absent", "order", "baseline", "table", "math")
NOT_SCORED = "n/a (not scored)"
APPROXIMATE = ("math",)  # test types scored with an approximation of olmOCR's check


@dataclass(frozen=True)
class Rate:
    """``passed`` of ``total`` scored tests."""

    passed: int
    total: int

    @property
    def value(self) -> float | None:
        return self.passed / self.total if self.total else None

    def __str__(self) -> str:
        return f"{100 * self.value:.1f}% ({self.passed}/{self.total})" if self.total else "n/a"


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False

    test: BenchTest
    result: TestResult

    @property
    def status(self) -> str:
        if not self.result.scored:
            return "unsupported"
        return "pass" if self.result.passed else "fail"


def _rates(outcomes: list[TestOutcome], key) -> dict[str, Rate]:
    passed: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        if outcome.result.scored:
            total[key(outcome)] += 1
            passed[key(outcome)] += outcome.result.passed
    return {name: Rate(passed[name], total[name]) for name in total}


@dataclass
class Report:
    """Outcomes of one system's run over a set of tests."""

    outcomes: list[TestOutcome]
    math_method: str = "approx."  # how math tests were checked: "KaTeX structure" or "approx."

    def by_type(self) -> dict[str, Rate]:
        """Pass rate of each scored test type present in the outcomes, in olmOCR's type order."""
        rates = _rates(self.outcomes, lambda o: o.test.type.value)
        return {name: rates[name] for name in sorted(rates, key=_type_rank)}

    def by_file(self) -> dict[str, Rate]:
        """Pass rate per JSONL file (``BenchTest.source``) over its scored tests."""
        return dict(sorted(_rates(self.outcomes, lambda o: o.test.source).items()))

    def unsupported(self) -> dict[str, int]:
        """How many tests of each type were not scored."""
        counts: dict[str, int] = defaultdict(int)
        for outcome in self.outcomes:
            if not outcome.result.scored:
                counts[outcome.test.type.value] += 1
        return {name: counts[name] for name in sorted(counts, key=_type_rank)}

    @property
    def overall(self) -> float | None:
        """olmOCR's headline score: the mean over JSONL files of each file's pass rate (scored tests only)."""
        values = [rate.value for rate in self.by_file().values() if rate.value is not None]
        return sum(values) / len(values) if values else None

    @property
    def mean_over_tests(self) -> float | None:
        """The plain pass rate over all scored tests."""
        rate = self.total()
        return rate.value

    def total(self) -> Rate:
        scored = [o for o in self.outcomes if o.result.scored]
        return Rate(sum(o.result.passed for o in scored), len(scored))

    def failures(self) -> list[TestOutcome]:
        return [o for o in self.outcomes if o.status == "fail"]

    def to_dict(self, *, outcomes: bool = True, explanations: bool = True) -> dict[str, Any]:
        """Scores as plain data; ``explanations=False`` leaves out the per-test messages (they quote document text)."""
        data: dict[str, Any] = {
            "overall": self.overall,
            "mean_over_tests": self.mean_over_tests,
            "scored": self.total().total,
            "passed": self.total().passed,
            "by_type": {name: _rate_dict(rate) for name, rate in self.by_type().items()},
            "by_file": {name: _rate_dict(rate) for name, rate in self.by_file().items()},
            "unsupported": self.unsupported(),
            "approximate_types": [name for name in self.by_type() if name in APPROXIMATE],
            "math_method": self.math_method,
        }
        if outcomes:
            data["outcomes"] = [
                {"id": o.test.id, "pdf": o.test.pdf, "page": o.test.page, "type": o.test.type.value,
                 "source": o.test.source, "status": o.status,
                 **({"explanation": o.result.explanation} if explanations else {})}
                for o in self.outcomes
            ]  # fmt: skip
        return data

    def to_markdown_table(self) -> str:
        """A two-column Markdown table: each test type's and JSONL file's pass rate, then the overall scores."""
        rows = ["| tests | pass rate |", "|---|---:|"]
        by_type, unsupported = self.by_type(), self.unsupported()
        for name in TYPE_ORDER:
            if name in by_type:
                rows.append(f"| {type_label(name, self.math_method)} | {by_type[name]} |")
            elif name in unsupported:
                rows.append(f"| {type_label(name, self.math_method)} ({unsupported[name]} tests) | {NOT_SCORED} |")
        for name, rate in self.by_file().items():
            rows.append(f"| file {name} | {rate} |")
        rows.append(f"| **overall** (mean over files) | {format_rate(self.overall)} |")
        rows.append(f"| mean over tests | {self.total()} |")
        return "\n".join(rows)


def type_label(name: str, math_method: str = "approx.") -> str:
    """A test type's name for tables: ``"math (approx.)"`` / ``"math (KaTeX structure)"`` (``math_method``)."""
    return f"{name} ({math_method})" if name in APPROXIMATE else name


def format_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _rate_dict(rate: Rate) -> dict[str, Any]:
    return {"passed": rate.passed, "total": rate.total, "rate": rate.value}


def _type_rank(name: str) -> int:
    return TYPE_ORDER.index(name) if name in TYPE_ORDER else len(TYPE_ORDER)
