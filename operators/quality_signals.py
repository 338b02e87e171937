"""Quality signals of a page's extracted text, and the page and document quality scores.

Pure functions; :mod:`docray.operators.quality` applies them to every page record of a result row.
The signals are computed on a page's *final* text: its Markdown (the ``markdown`` of the page
record) reduced to plain text by :func:`plain_text` (image links, HTML tags and heading marks
removed, entities decoded).  "Characters" always means non-whitespace characters.

Signals (one value per page):

* ``ocr_confidence``: the recogniser's scores of the page's OCR lines, averaged with each line
  weighted by its characters; ``None`` when the page has no OCR line with text.
* ``repetition``: the share of the text's characters (in word tokens) that repeat earlier text:
  tokens in a later occurrence of a word ``ngram_size``-gram, or on a later occurrence of a line
  of at least ``min_line_chars`` characters.  Tokens are numbers (``3.14``, ``2024-01-05``) and
  runs of letters and digits; each CJK ideograph or kana is a token of its own, and a run longer
  than 40 characters is split into characters (so a loop without spaces, ``abcabcabc...``, is
  caught too); punctuation is no token (dot leaders are not repetition).  Prose scores about 0,
  an OCR or VLM loop that repeats one phrase to the end of the page about 1; on the eval sets,
  tables and exercise lists reached 0.1-0.2, a page of near-identical SQL statements 0.59 and
  lorem-ipsum filler 0.8.
* ``text_density``: characters per square inch of page (``width * height / 72**2``).
* ``lang`` / ``lang_score``: py3langid's label for the text and its normalised probability;
  ``None`` below ``min_letters`` letters.
* ``garbled``: the garbled share the score uses: the page's text-layer ``garbled_ratio`` when the
  text came from the text layer (route ``txt``), or the garbled share of the final text
  (:mod:`docray.operators.textlayer.garbled`: U+FFFD, control, private-use and unassigned
  characters, ``(cid:NN)`` placeholders, the letters of a shifted encoding, code-page symbol
  soup; never a script's or notation's own characters), whichever is larger.

Page score, in 0..1 (:func:`page_quality`).  0 with one flag for a page in error (``failed``), a
page routed to OCR that no OCR stage read (``needs_ocr``), and a page without a letter or digit
(``empty``; ``garbled`` when its characters are at least ``garbled_bad`` garbled).  Otherwise the
product of four factors, each 1 while its signal is on the good side of its ``ok`` bound and
falling linearly to 0 at its ``bad`` bound (``ramp``; defaults in :class:`QualityThresholds`)::

    score = ramp(garbled, 0.02, 0.3)
          * (1 - ocr_share * (1 - ramp(ocr_confidence, 0.93, 0.7)))   # pages with OCR lines
          * ramp(repetition, 0.3, 0.9)
          * min(1, text_density / 2.0)                                # 2 characters per square inch

``ocr_share`` is the share of the page's characters that OCR read (1 on pages routed to OCR), so a
low-confidence OCR'd region on a text-layer page costs in proportion to its text.  Each factor
below 1 adds its flag (``garbled``, ``low_ocr_confidence``, ``repetitive``, ``sparse``).  On the
eval sets, clean scans OCR'd at 0.94-1.0 mean confidence and handwriting at 0.74-0.87.

Document score (:func:`document_quality`): the character-weighted mean of its pages' scores, where
a page without text (failed, needs OCR, empty) weighs as much as the document's average page with
text; equivalently, the character-weighted mean over pages with text times the share of pages
with text.  0 for a document in error.  Flags: the union of its pages' flags (plus ``failed`` for a
document in error).  Language: the ``lang`` carrying most characters over the pages.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from docray.operators.textlayer.garbled import garbled_counts
from docray.schema import QualityFlag

POINTS_PER_INCH = 72.0
MAX_TOKEN_CHARS = 40  # a longer run of letters is no word: split it into characters
MAX_LANG_CHARS = 20_000  # language identification reads at most this much of a page

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|\d+(?:[.,:/-]\d+)*|(?:(?![{_CJK}])[^\W_])+")
_IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_TAG = re.compile(r"<[^>]{0,200}>")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)


class LanguageIdentifier(Protocol):
    """What py3langid's ``LanguageIdentifier`` (loaded with ``norm_probs=True``) offers."""

    def classify(self, text: str) -> tuple[str, float]: ...


@dataclass(frozen=True)
class QualityThresholds:
    """Bounds of the page score's factors (see the module docstring)."""

    garbled_ok: float = 0.02
    garbled_bad: float = 0.3
    ocr_confidence_ok: float = 0.93
    ocr_confidence_bad: float = 0.7
    repetition_ok: float = 0.3
    repetition_bad: float = 0.9
    sparse_density: float = 2.0  # characters per square inch
    ngram_size: int = 8
    min_line_chars: int = 10
    min_letters: int = 20


@dataclass(frozen=True)
class PageSignals:
    """A page's quality signals and what its score needs besides them."""

    chars: int  # non-whitespace characters of the final text
    has_text: bool  # at least one letter or digit
    garbled: float
    ocr_confidence: float | None
    ocr_share: float
    repetition: float
    text_density: float | None
    lang: str | None
    lang_score: float | None
    failed: bool = False
    needs_ocr: bool = False


@dataclass(frozen=True)
class Quality:
    score: float
    flags: tuple[QualityFlag, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------- text


def plain_text(markdown: str | None) -> str:
    """A page's Markdown as plain text: no image links, HTML tags or heading marks."""
    if not markdown:
        return ""
    text = _IMAGE_LINK.sub(" ", markdown)
    text = _TAG.sub(" ", text)
    text = _HEADING.sub("", text)
    return html.unescape(text.replace("$$", " "))


def count_chars(text: str) -> int:
    """Non-whitespace characters."""
    return sum(1 for c in text if not c.isspace())


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (see :func:`repetition`)."""
    out: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group(0)
        out.extend(token if len(token) > MAX_TOKEN_CHARS else (token,))
    return out


def garbled_share(text: str) -> float:
    """Share of the characters that do not decode to real text (see :mod:`docray.operators.textlayer.garbled`)."""
    total, bad = garbled_counts(text)
    return bad / total if total else 0.0


# ---------------------------------------------------------------------------- signals


def ocr_confidence(ocr_lines: Sequence[dict[str, Any]] | None) -> float | None:
    """Mean score of the OCR lines, each weighted by its characters; None without OCR text."""
    total = weighted = 0.0
    for line in ocr_lines or ():
        chars = count_chars(line.get("text") or "")
        if chars and line.get("score") is not None:
            total += chars
            weighted += chars * float(line["score"])
    return weighted / total if total else None


def repetition(text: str, ngram_size: int = 8, min_line_chars: int = 10) -> float:
    """Share of the token characters that repeat earlier text (later n-gram or line occurrences)."""
    line_tokens = [tokens(line) for line in text.splitlines()]
    flat = [t for line in line_tokens for t in line]
    total = sum(len(t) for t in flat)
    if not total:
        return 0.0
    covered = [False] * len(flat)
    seen_grams: set[tuple[str, ...]] = set()
    for i in range(len(flat) - ngram_size + 1):
        gram = tuple(flat[i : i + ngram_size])
        if gram in seen_grams:
            covered[i : i + ngram_size] = [True] * ngram_size
        else:
            seen_grams.add(gram)
    seen_lines: set[str] = set()
    start = 0
    for line in line_tokens:
        key = " ".join(line)
        if len(key) >= min_line_chars:
            if key in seen_lines:
                covered[start : start + len(line)] = [True] * len(line)
            seen_lines.add(key)
        start += len(line)
    return sum(len(t) for t, c in zip(flat, covered) if c) / total


def text_density(chars: int, width: float | None, height: float | None) -> float | None:
    """Characters per square inch of a page of ``width`` x ``height`` points; None without a size."""
    if not width or not height or width <= 0 or height <= 0:
        return None
    return chars / (width * height / POINTS_PER_INCH**2)


def language(text: str, identifier: LanguageIdentifier, min_letters: int = 20) -> tuple[str | None, float | None]:
    """``(label, probability)`` from a normalised py3langid identifier; (None, None) for little text."""
    if sum(1 for c in text if c.isalpha()) < min_letters:
        return None, None
    label, probability = identifier.classify(text[:MAX_LANG_CHARS])
    return label, float(probability)


# ---------------------------------------------------------------------------- scores


def ramp(value: float, ok: float, bad: float) -> float:
    """1 on the ``ok`` side of ``ok``, 0 beyond ``bad``, linear between (either direction)."""
    if ok == bad:
        return 1.0 if (value <= ok if bad > ok else value >= ok) else 0.0
    t = (value - ok) / (bad - ok)
    return 1.0 - min(1.0, max(0.0, t))


def page_quality(s: PageSignals, th: QualityThresholds = QualityThresholds()) -> Quality:
    """The page's score and flags (the formula is in the module docstring)."""
    if s.failed:
        return Quality(0.0, (QualityFlag.FAILED,))
    if s.needs_ocr:
        return Quality(0.0, (QualityFlag.NEEDS_OCR,))
    if not s.has_text:  # no letter or digit: nothing, or characters that do not decode
        return Quality(0.0, (QualityFlag.GARBLED if s.chars and s.garbled >= th.garbled_bad else QualityFlag.EMPTY,))
    factors: list[tuple[QualityFlag, float]] = [(QualityFlag.GARBLED, ramp(s.garbled, th.garbled_ok, th.garbled_bad))]
    if s.ocr_confidence is not None:
        confident = ramp(s.ocr_confidence, th.ocr_confidence_ok, th.ocr_confidence_bad)
        factors.append((QualityFlag.LOW_OCR_CONFIDENCE, 1.0 - s.ocr_share * (1.0 - confident)))
    factors.append((QualityFlag.REPETITIVE, ramp(s.repetition, th.repetition_ok, th.repetition_bad)))
    if s.text_density is not None:
        factors.append((QualityFlag.SPARSE, min(1.0, s.text_density / th.sparse_density)))
    score = 1.0
    for _, factor in factors:
        score *= factor
    return Quality(score, tuple(flag for flag, factor in factors if factor < 1.0))


def document_quality(pages: Iterable[tuple[int, Quality]], failed: bool = False) -> Quality:
    """Score and flags of a document from ``(characters, quality)`` of each of its pages."""
    pages = list(pages)
    flags = {flag for _, q in pages for flag in q.flags} | ({QualityFlag.FAILED} if failed else set())
    ordered = tuple(f for f in QualityFlag if f in flags)
    with_text = [(chars, q.score) for chars, q in pages if chars > 0 and _has_text(q)]
    total = sum(chars for chars, _ in with_text)
    if failed or not pages or not total:
        return Quality(0.0, ordered)
    mean = sum(chars * score for chars, score in with_text) / total
    return Quality(mean * len(with_text) / len(pages), ordered)


def _has_text(q: Quality) -> bool:
    textless = (QualityFlag.FAILED, QualityFlag.NEEDS_OCR, QualityFlag.EMPTY)
    return not any(flag in textless for flag in q.flags)


def main_language(pages: Iterable[tuple[int, str | None]]) -> str | None:
    """The language carrying most characters over ``(characters, lang)`` pairs."""
    weight: Counter[str] = Counter()
    for chars, lang in pages:
        if lang:
            weight[lang] += chars
    return weight.most_common(1)[0][0] if weight else None
