"""The operator contract.

An operator is a callable class that Ray Data runs with ``map_batches`` (or ``map_groups`` for a
:class:`GroupOperator`).  ``__init__`` only stores its config; heavy set-up (models, imports) runs
once per worker in :meth:`Operator.setup`.  Page logic lives in pure functions that the operator
calls per row; tests call those, or call the operator on a ``pyarrow.Table`` directly, without Ray.

Each operator declares the table level it consumes and produces, the columns it reads and the
columns it writes (names from :mod:`docray.schema`); the pipeline builder checks them when a
pipeline is built.  A row that fails becomes ``status=error`` with ``error``/``error_code``; it never
fails its batch, and rows already in error pass through untouched.
"""

from __future__ import annotations

import time
import traceback
from enum import Enum
from typing import Any, ClassVar, Generic, Iterable, TypeVar

import pyarrow as pa

from docray.config import OperatorConfig
from docray.schema import ErrorCode, Status, field

C = TypeVar("C", bound=OperatorConfig)
Row = dict[str, Any]


class Level(str, Enum):
    """The table an operator consumes or produces."""

    SOURCES = "sources"  # input URIs (and bytes, for Parquet input), before ingest
    DOCUMENTS = "documents"
    PAGES = "pages"
    RESULTS = "results"  # assembled documents, with their page records


SOURCE_COLUMNS = ("source", "name", "bytes")


class DocrayError(Exception):
    """An expected, classified failure of one document or page (bad input, limits)."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code


def add_timing(row: Row, stage: str, seconds: float) -> None:
    timings = dict(row.get("timings") or ())
    timings[stage] = timings.get(stage, 0.0) + seconds
    row["timings"] = timings


def share_timing(before: list[Row], after: list[Row], stage: str, seconds: float) -> None:
    """Split a batch's ``seconds`` evenly over its rows, adding it to each row that did not arrive in error.

    ``before`` and ``after`` are the batch's rows as it came in and as it goes out, in the same order.
    """
    share = seconds / max(1, len(after))
    for original, row in zip(before, after):
        if not is_error(original):
            add_timing(row, stage, share)


def error_fields(stage: str, exc: BaseException) -> Row:
    """The status/error columns of a row that failed in ``stage``."""
    if isinstance(exc, DocrayError):
        return {"status": Status.ERROR.value, "error": f"{stage}: {exc}", "error_code": exc.code.value}
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return {
        "status": Status.ERROR.value,
        "error": f"{stage}: {type(exc).__name__}: {exc}{at}",
        "error_code": ErrorCode.INTERNAL.value,
    }


def is_error(row: Row) -> bool:
    return row.get("status") == Status.ERROR.value


def to_table(rows: list[Row], schema: pa.Schema | None) -> pa.Table:
    if schema is None:
        return pa.Table.from_pylist(rows)
    return pa.Table.from_pylist(rows, schema=schema)


class Operator(Generic[C]):
    """Base of every docray operator (one module per operator, its config beside it)."""

    name: ClassVar[str]
    Config: ClassVar[type[OperatorConfig]]
    consumes: ClassVar[Level]
    produces: ClassVar[Level]
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    drops: ClassVar[tuple[str, ...]] = ()
    read_hints: ClassVar[dict[str, str]] = {}  # column -> how to get it, for the pipeline builder's error
    stateful: ClassVar[bool] = False  # True: holds a model, runs in an actor pool

    def __init__(self, config: C | dict[str, Any] | None = None, output_schema: pa.Schema | None = None):
        self.config: C = self.Config.model_validate(config if config is not None else {"op": self.name})  # type: ignore[assignment]
        self.output_schema = output_schema
        self._is_set_up = False

    # ---------------------------------------------------------------- schema
    @classmethod
    def output_schema_for(cls, input_schema: pa.Schema, config: OperatorConfig) -> pa.Schema:
        """Schema of the batches this operator returns, given the schema it receives."""
        kept = [f for f in input_schema if f.name not in cls.drops and f.name not in cls.writes]
        return pa.schema(kept + [field(c) for c in cls.writes])

    @classmethod
    def is_stateful(cls, config: OperatorConfig) -> bool:
        """Whether this stage holds a model (runs in an actor pool) with ``config``; ``stateful`` unless overridden."""
        return cls.stateful

    # ---------------------------------------------------------------- hooks
    def setup(self) -> None:
        """Load models and heavy imports; runs once per worker before the first batch."""

    def process_row(self, row: Row) -> Row | list[Row]:
        """Transform one row; may return several rows (fan-out) or raise to fail the row."""
        raise NotImplementedError

    def process_error_row(self, row: Row) -> list[Row]:
        """What a row already in error becomes; by default it passes through."""
        return [row]

    def process_rows(self, rows: list[Row]) -> list[Row]:
        """Transform a batch of rows. Model operators override this to batch inference."""
        out: list[Row] = []
        for row in rows:
            if is_error(row):
                out.extend(self.process_error_row(row))
                continue
            start = time.perf_counter()
            try:
                result = self.process_row(row)
                produced = [result] if isinstance(result, dict) else list(result)
            except Exception as exc:  # one bad row never fails its batch
                produced = [{**row, **error_fields(self.name, exc)}]
            share = (time.perf_counter() - start) / max(1, len(produced))
            for new in produced:
                add_timing(new, self.name, share)
            out.extend(produced)
        return out

    # ---------------------------------------------------------------- entry point
    def ensure_setup(self) -> None:
        if not self._is_set_up:
            self.setup()
            self._is_set_up = True

    def __call__(self, batch: pa.Table) -> pa.Table:
        self.ensure_setup()
        rows = batch.to_pylist() if isinstance(batch, pa.Table) else _rows_of(batch)
        return to_table(self.process_rows(rows), self.output_schema)


class GroupOperator(Operator[C]):
    """An operator over all rows of one group (e.g. all pages of a document), via ``map_groups``."""

    group_key: ClassVar[str] = "source"

    def process_group(self, rows: list[Row]) -> Row:
        raise NotImplementedError

    def fail_group(self, rows: list[Row], exc: BaseException) -> Row:
        first = rows[0] if rows else {}
        return {**{k: first.get(k) for k in ("doc_id", "source", "name", "kind", "num_pages")}, **error_fields(self.name, exc)}

    def process_rows(self, rows: list[Row]) -> list[Row]:
        start = time.perf_counter()
        try:
            result = self.process_group(rows)
        except Exception as exc:
            result = self.fail_group(rows, exc)
        add_timing(result, self.name, time.perf_counter() - start)
        return [result]


def _rows_of(batch: Any) -> list[Row]:
    """Rows of a dict-of-columns batch (numpy or lists)."""
    if isinstance(batch, dict):
        keys = list(batch)
        n = len(batch[keys[0]]) if keys else 0
        return [{k: batch[k][i] for k in keys} for i in range(n)]
    if hasattr(batch, "to_dict"):  # pandas
        return batch.to_dict("records")
    raise TypeError(f"unsupported batch type {type(batch)!r}")


def iter_batches(rows: list[Row], size: int) -> Iterable[list[Row]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
