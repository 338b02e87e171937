"""Structured fields of a handwritten page: JSON out of a model answer, per-field confidence, boxes, validation.

A fields answer is a JSON object (the context's schema) somewhere in the model's text: bare, inside a code
fence, or after some prose.  :func:`extract_json` finds the first complete object and where it lies in the
answer; :func:`value_spans` scans that JSON text (the ``json`` module gives no positions) for the character
span of every *leaf* value, keyed by a path such as ``patient_name`` or ``medications[0].dosage``.  With the
answer's token log-probabilities (tokens that join to the answer), :func:`field_confidences` scores each
leaf from the tokens that overlap its span, and :func:`field_boxes` places each leaf on the page by fuzzy
matching its text against lines (or blocks) that carry boxes.  :class:`FieldsResult` bundles it all in the
shape of the handwriting API's answer (``fields``, ``confidence``, ``confidence_score``, ``bbox``).

Paths: an object member is ``parent.key`` (``key`` at the top), an array item ``parent[i]``; a top-level
scalar has the path ``""``.  Empty objects and arrays are not leaves and have no path.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

from docray.datamodel import bbox_union
from docray.models.protocols import TokenLogprob
from docray.operators.vlmparse.blocks import FractionBox

logger = logging.getLogger(__name__)

Span = tuple[int, int]  # [start, end) character offsets
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_WHITESPACE = " \t\r\n"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


class TextBox(Protocol):
    """Anything with text and a page-fraction box: a grounded line, a :class:`~.blocks.VlmBlock`."""

    text: str
    bbox: FractionBox | None


# --------------------------------------------------------------------------- JSON text helpers


def _outside_strings(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """``(index, char)`` of the characters of ``text`` from ``start`` that are not inside a JSON string; a string's
    opening quote is yielded, its content (with backslash escapes) and closing quote are not."""
    in_string = False
    i = start
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        else:
            yield i, ch
            in_string = ch == '"'
        i += 1


def closing_bracket(text: str, start: int) -> int | None:
    """Index just past the bracket that closes the ``{`` or ``[`` at ``start``; None when it is never closed.

    Brackets inside strings (with backslash escapes) do not count; the bracket kinds are not checked
    against each other (a mismatched text fails later, in the parser).
    """
    depth = 0
    for i, ch in _outside_strings(text, start):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def relax_json(text: str) -> str:
    """``text`` with the trailing commas before ``}`` and ``]`` blanked out (same length, so offsets hold)."""
    out = list(text)
    pending: int | None = None  # index of a comma seen outside strings, not yet followed by a value
    for i, ch in _outside_strings(text):
        if ch == ",":
            pending = i
        elif ch in "}]":
            if pending is not None:
                out[pending] = " "
            pending = None
        elif ch not in _WHITESPACE:  # a value (a string's opening quote included)
            pending = None
    return "".join(out)


def _decode(text: str) -> Any:
    return json.loads(relax_json(text), strict=False)


def extract_json(answer: str) -> tuple[Any, Span] | None:
    """The first complete JSON object in a model answer, and its ``[start, end)`` span in ``answer``.

    The object may be bare, inside a code fence or after prose; trailing commas are forgiven (control
    characters inside strings too).  A ``{`` that never closes (a truncated answer) ends the search, and
    a braced text that does not parse is skipped whole: an object nested inside either is a part, not
    the answer.  None when there is no complete object.
    """
    i = answer.find("{")
    while i != -1:
        end = closing_bracket(answer, i)
        if end is None:
            return None
        try:
            value = _decode(answer[i:end])
        except ValueError:
            value = None  # prose in braces, or a broken object: its inner objects are parts, not the answer
        if isinstance(value, dict):
            return value, (i, end)
        i = answer.find("{", end)
    return None


def strip_fences(answer: str) -> str:
    """The content of the first Markdown code fence of ``answer`` (an unclosed fence runs to the end), else ``answer``."""
    match = _FENCE.search(answer)
    return match.group(1) if match else answer


# --------------------------------------------------------------------------- value spans


class _Scanner:
    """A small recursive-descent JSON scanner that records the span of every leaf value."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.spans: dict[str, Span] = {}

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at offset {self.pos} of the JSON text")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self, path: str) -> None:
        ch = self.peek()
        if ch == "{":
            self.members(path)
        elif ch == "[":
            self.items(path)
        else:
            start = self.pos
            if ch == '"':
                self.string()
            elif self.text.startswith(("true", "null"), self.pos):
                self.pos += 4
            elif self.text.startswith("false", self.pos):
                self.pos += 5
            else:
                match = _NUMBER.match(self.text, self.pos)
                if not match:
                    raise self.fail("expected a JSON value")
                self.pos = match.end()
            self.spans[path] = (start, self.pos)

    def string(self) -> str:
        start = self.pos
        self.pos += 1  # the opening quote
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if ch == '"':
                return json.loads(self.text[start : self.pos], strict=False)
        raise self.fail("unterminated string")

    def _sequence(self, close: str, element) -> None:
        self.pos += 1  # the opening bracket
        if self.peek() == close:
            self.pos += 1
            return
        while True:
            element()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
                if self.peek() == close:  # a trailing comma
                    self.pos += 1
                    return
            elif ch == close:
                self.pos += 1
                return
            else:
                raise self.fail(f"expected ',' or '{close}'")

    def members(self, path: str) -> None:
        def member() -> None:
            if self.peek() != '"':
                raise self.fail("expected a string key")
            key = self.string()
            if self.peek() != ":":
                raise self.fail("expected ':'")
            self.pos += 1
            self.value(f"{path}.{key}" if path else key)

        self._sequence("}", member)

    def items(self, path: str) -> None:
        index = iter(range(1 << 62))
        self._sequence("]", lambda: self.value(f"{path}[{next(index)}]"))


def value_spans(json_text: str) -> dict[str, Span]:
    """The ``[start, end)`` span of every leaf value of a JSON text, by path (``medications[0].dosage``).

    A string's span includes its quotes; numbers, ``true``, ``false`` and ``null`` span their literal.
    Offsets are string indices into ``json_text`` (code points, so non-ASCII text counts one per
    character).  Trailing commas are accepted; anything after the first value is ignored.  Raises
    ``ValueError`` on text that is not JSON.
    """
    scanner = _Scanner(json_text)
    scanner.value("")
    return scanner.spans


def leaf_values(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a decoded JSON value by the same paths as :func:`value_spans`."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(leaf_values(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.update(leaf_values(item, f"{path}[{i}]"))
    else:
        out[path] = value
    return out


# --------------------------------------------------------------------------- confidences


def token_offsets(tokens: Sequence[TokenLogprob]) -> list[Span]:
    """The ``[start, end)`` span of each token in the text the tokens join to."""
    spans: list[Span] = []
    pos = 0
    for token in tokens:
        spans.append((pos, pos + len(token.token)))
        pos += len(token.token)
    return spans


def span_confidence(tokens: Sequence[TokenLogprob], offsets: Sequence[Span], span: Span) -> float | None:
    """``exp(mean logprob)`` of the tokens overlapping ``span`` (tokens with no text are skipped); None when none do."""
    start, end = span
    logprobs = [t.logprob for t, (a, b) in zip(tokens, offsets) if a < b and a < end and b > start]
    if not logprobs:
        return None
    return min(1.0, max(0.0, math.exp(sum(logprobs) / len(logprobs))))


def field_confidences(answer: str, tokens: Sequence[TokenLogprob]) -> dict[str, float]:
    """Per-leaf confidence (0..1) of the JSON object in ``answer``, from the answer's token log-probabilities.

    ``tokens`` must join to ``answer`` (the engines' contract); otherwise, or when the answer holds no
    object, the result is empty.  Each leaf takes the tokens that overlap its value's span: for a string
    the characters inside the quotes (the quotes themselves when the string is empty), for other values
    the literal.  A token that straddles the value's edge (``": "5``) counts: it is where the model chose
    how the value begins.  Leaves with no token are absent.

    The confidence is ``exp(mean logprob)``: the geometric mean of the value's token probabilities, i.e.
    the value's probability normalised by its length in tokens.  The raw product would rank every long
    value (a hospital's name, a sentence of observations) below every short one whatever the model's
    certainty; the *minimum* token probability is the other candidate and reacts more sharply to one
    doubtful character (``mg`` or ``mcg``), but it also drops on tokens whose doubt is only about form
    (a space, a full-width colon, where a tokeniser split a word) and cannot tell one weak token from
    many.  The geometric mean still falls clearly when one token of a short value is unlikely: a
    3-token dosage with one token at p = 0.1 and two near 1 scores 0.46.
    """
    if not tokens or "".join(t.token for t in tokens) != answer:
        return {}
    found = extract_json(answer)
    if found is None:
        return {}
    _, (start, end) = found
    try:
        spans = value_spans(answer[start:end])
    except ValueError:
        return {}
    offsets = token_offsets(tokens)
    out: dict[str, float] = {}
    for path, (a, b) in spans.items():
        a, b = a + start, b + start
        if answer[a] == '"' and b - a > 2:
            a, b = a + 1, b - 1
        confidence = span_confidence(tokens, offsets, (a, b))
        if confidence is not None:
            out[path] = confidence
    return out


# --------------------------------------------------------------------------- boxes


def normalise(text: str) -> str:
    """Text for fuzzy comparison: NFKC, case-folded, without whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def contained(needle: str, haystack: str) -> float:
    """How well ``needle`` occurs in ``haystack``, 0..1 (1: it occurs exactly).

    The best :class:`difflib.SequenceMatcher` ratio between ``needle`` and a ``len(needle)``-long window of
    ``haystack``, the windows being placed where the matcher's common blocks align them; a needle longer
    than the haystack is compared with the whole haystack (so the length difference costs).
    """
    if not needle or not haystack:
        return 0.0
    if len(needle) >= len(haystack):
        return difflib.SequenceMatcher(None, needle, haystack, autojunk=False).ratio()
    matcher = difflib.SequenceMatcher(None, needle, haystack, autojunk=False)
    best = 0.0
    for i, j, size in matcher.get_matching_blocks():
        if size == 0:
            continue
        start = min(max(0, j - i), len(haystack) - len(needle))
        window = haystack[start : start + len(needle)]
        best = max(best, difflib.SequenceMatcher(None, needle, window, autojunk=False).ratio())
        if best == 1.0:
            break
    return best


def shared_fraction(text: str, other: str, min_block: int = 3) -> float:
    """The fraction of ``text``'s characters that lie in runs of at least ``min_block`` characters shared with ``other``."""
    if not text or not other:
        return 0.0
    least = min(min_block, len(text))
    matcher = difflib.SequenceMatcher(None, text, other, autojunk=False)
    return sum(size for _, _, size in matcher.get_matching_blocks() if size >= least) / len(text)


def _runs(indices: Sequence[int]) -> Iterator[list[int]]:
    """Maximal runs of consecutive integers in a sorted sequence."""
    run: list[int] = []
    for i in indices:
        if run and i != run[-1] + 1:
            yield run
            run = []
        run.append(i)
    if run:
        yield run


def value_box(value: str, lines: Sequence[TextBox], min_score: float = 0.8) -> FractionBox | None:
    """The box of one value's text among ``lines`` (in reading order), or None when no line holds it.

    First the single line that contains the value best (ties: the first); when none reaches
    ``min_score``, the value may run over several lines: the lines that share at least half their text
    with the value (a label such as ``Observations:`` may make the rest) form runs of consecutive lines,
    and the run whose joined text contains the value best gives the union of its boxes.
    """
    needle = normalise(value)
    if not needle:
        return None
    texts = [normalise(line.text) for line in lines]
    best, best_index = 0.0, -1
    for i, text in enumerate(texts):
        score = contained(needle, text)
        if score > best:
            best, best_index = score, i
    if best >= min_score:
        return lines[best_index].bbox
    inside = [i for i, text in enumerate(texts) if len(text) >= 2 and shared_fraction(text, needle) >= 0.5]
    best, chosen = 0.0, None
    for run in _runs(inside):
        score = contained(needle, "".join(texts[i] for i in run))
        if score > best:
            best, chosen = score, run
    if chosen is None or best < min_score:
        return None
    return bbox_union([lines[i].bbox for i in chosen])  # type: ignore[misc]


def field_boxes(fields: Any, lines: Sequence[TextBox], min_score: float = 0.8) -> dict[str, FractionBox]:
    """The page-fraction box of each leaf of ``fields`` found among ``lines`` (grounded lines or VLM blocks).

    Strings and numbers are matched by text (:func:`value_box`; whitespace and case do not count, so
    ``"Amlodipine 5mg"`` finds the line ``Amlodipine 5 mg qd``); booleans, nulls, empty strings and
    values found in no line are absent.  Lines without a box are ignored.
    """
    boxed = [line for line in lines if line.bbox is not None and line.text]
    out: dict[str, FractionBox] = {}
    if not boxed:
        return out
    for path, value in leaf_values(fields).items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            value = format(value, "g")
        if not isinstance(value, str):
            continue
        box = value_box(value, boxed, min_score)
        if box is not None:
            out[path] = box
    return out


# --------------------------------------------------------------------------- validation and the bundle


def _path_text(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_fields(fields: Any, schema: dict[str, Any]) -> list[str]:
    """Messages for every way ``fields`` breaks ``schema`` (``medications[0].dosage: 5 is not of type 'string'``).

    Uses ``jsonschema`` (installed with Ray) with the validator of the schema's ``$schema`` (Draft 2020-12
    by default); without ``jsonschema`` nothing is validated and a warning is logged.
    """
    try:
        from jsonschema.validators import validator_for
    except ImportError:
        logger.warning("jsonschema is not installed: handwriting fields are not validated against their schema")
        return []
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(fields), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_path_text(e.absolute_path) or '(root)'}: {e.message}" for e in errors]


def _rounded(box: FractionBox, digits: int = 4) -> list[float]:
    return [round(v, digits) for v in box]


@dataclass(slots=True)
class FieldsResult:
    """The fields of one page as read under a handwriting context, with confidences, boxes and errors."""

    context: str
    fields: Any = field(default_factory=dict)  # the decoded JSON object ({} when there was none)
    confidence: dict[str, float] = field(default_factory=dict)  # leaf path -> 0..1 (see field_confidences)
    boxes: dict[str, FractionBox] = field(default_factory=dict)  # leaf path -> page-fraction box
    errors: list[str] = field(default_factory=list)  # request failures, no JSON, schema violations

    @property
    def confidence_score(self) -> float | None:
        """The mean of the per-field confidences; None when there is none."""
        if not self.confidence:
            return None
        return sum(self.confidence.values()) / len(self.confidence)

    def to_json(self) -> dict[str, Any]:
        """``{"context", "fields", "confidence", "confidence_score", "bbox", "errors"}`` (the handwriting API's shape)."""
        score = self.confidence_score
        return {
            "context": self.context,
            "fields": self.fields,
            "confidence": {path: round(p, 4) for path, p in self.confidence.items()},
            "confidence_score": None if score is None else round(score, 4),
            "bbox": {path: _rounded(box) for path, box in self.boxes.items()},
            "errors": list(self.errors),
        }
