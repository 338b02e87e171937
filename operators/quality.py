"""``quality``: per-page quality signals and a document quality score, for filtering a corpus.

Runs after ``assemble`` on the RESULTS table.  Every page record in ``pages`` gains
``ocr_confidence``, ``repetition``, ``text_density``, ``lang``, ``lang_score``, ``quality_score``
and ``quality_flags``; every document gains ``lang``, ``quality_score`` and ``quality_flags``.
The definitions and the score formula are in :mod:`docray.operators.quality_signals`.

The language identifier is py3langid's model, which ships inside its wheel (BSD-3-Clause); it loads
in about 0.6 s, once per operator instance.  The stage runs as stateless tasks, so on Ray that is
once per batch (``batch_size`` documents); ``--set quality.concurrency=1`` keeps it in an actor.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from docray.config import OperatorConfig
from docray.operators.base import Level, Operator, Row, is_error
from docray.operators.quality_signals import (
    LanguageIdentifier,
    PageSignals,
    Quality,
    QualityThresholds,
    count_chars,
    document_quality,
    garbled_share,
    language,
    main_language,
    ocr_confidence,
    page_quality,
    plain_text,
    repetition,
    text_density,
)
from docray.schema import FIELDS, Route, field

DEFAULTS = QualityThresholds()
PAGE_QUALITY_COLUMNS = (
    "ocr_confidence", "repetition", "text_density", "lang", "lang_score", "quality_score", "quality_flags",
)  # fmt: skip


class QualityConfig(OperatorConfig):
    """Bounds of the quality score's factors; each factor is 1 up to its ``ok`` bound, 0 at ``bad``."""

    op: Literal["quality"] = "quality"
    batch_size: int = Field(64, ge=1, description="documents per batch (the language model loads once per batch)")
    garbled_ok: float = Field(
        DEFAULTS.garbled_ok, ge=0, le=1, description="garbled share of the text below which it costs nothing"
    )
    garbled_bad: float = Field(DEFAULTS.garbled_bad, ge=0, le=1, description="garbled share at which a page scores 0")
    ocr_confidence_ok: float = Field(
        DEFAULTS.ocr_confidence_ok, ge=0, le=1, description="OCR confidence above which it costs nothing"
    )
    ocr_confidence_bad: float = Field(
        DEFAULTS.ocr_confidence_bad, ge=0, le=1, description="OCR confidence at which OCR'd text scores 0"
    )
    repetition_ok: float = Field(
        DEFAULTS.repetition_ok, ge=0, le=1, description="repetition below which it costs nothing"
    )
    repetition_bad: float = Field(
        DEFAULTS.repetition_bad, ge=0, le=1, description="repetition at which a page scores 0"
    )
    sparse_density: float = Field(
        DEFAULTS.sparse_density,
        gt=0,
        description="characters per square inch below which the score falls in proportion",
    )
    ngram_size: int = Field(DEFAULTS.ngram_size, ge=2, description="word n-gram length of the repetition signal")
    min_line_chars: int = Field(
        DEFAULTS.min_line_chars, ge=1, description="repeated lines count for repetition from this many characters"
    )
    min_letters: int = Field(
        DEFAULTS.min_letters, ge=1, description="letters a page needs before its language is identified"
    )

    def thresholds(self) -> QualityThresholds:
        return QualityThresholds(**{name: getattr(self, name) for name in QualityThresholds.__dataclass_fields__})


class QualityOperator(Operator[QualityConfig]):
    name: ClassVar[str] = "quality"
    Config: ClassVar[type[OperatorConfig]] = QualityConfig
    consumes: ClassVar[Level] = Level.RESULTS
    produces: ClassVar[Level] = Level.RESULTS
    reads: ClassVar[tuple[str, ...]] = ("pages", "status")
    writes: ClassVar[tuple[str, ...]] = ("lang", "quality_score", "quality_flags")

    def __init__(self, config: QualityConfig | dict[str, Any] | None = None, output_schema: pa.Schema | None = None):
        super().__init__(config, output_schema)
        self._identifier: LanguageIdentifier | None = None

    @classmethod
    def output_schema_for(cls, input_schema: pa.Schema, config: OperatorConfig) -> pa.Schema:
        """The input schema with the page quality fields added to the ``pages`` structs, plus ``writes``."""
        base = super().output_schema_for(input_schema, config)
        pages = base.field("pages")
        record = pages.type.value_type
        kept = [f for f in record if f.name not in PAGE_QUALITY_COLUMNS]
        extended = pa.list_(pa.struct(kept + [field(c) for c in PAGE_QUALITY_COLUMNS]))
        new_pages = pa.field("pages", extended, metadata=pages.metadata or FIELDS["pages"].metadata)
        return base.set(base.get_field_index("pages"), new_pages)

    def setup(self) -> None:
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier as Py3LangId

        self._identifier = Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)

    def process_row(self, row: Row) -> Row:
        return score_result(row, self._language_identifier(), self.config.thresholds())

    def process_error_row(self, row: Row) -> list[Row]:
        return [score_result(row, self._language_identifier(), self.config.thresholds())]

    def _language_identifier(self) -> LanguageIdentifier:
        if self._identifier is None:
            raise RuntimeError("QualityOperator.setup() has not run")
        return self._identifier


def page_signals(record: Row, identifier: LanguageIdentifier, th: QualityThresholds) -> tuple[str, PageSignals]:
    """A page record's plain text and its signals."""
    text = plain_text(record.get("markdown"))
    chars = count_chars(text)
    lines = record.get("ocr_lines")
    routed_ocr = record.get("route") == Route.OCR.value
    confidence = ocr_confidence(lines)
    ocr_chars = sum(count_chars(line.get("text") or "") for line in lines or ())
    layer_garbled = float(record.get("garbled_ratio") or 0.0) if not routed_ocr else 0.0
    lang, lang_score = language(text, identifier, th.min_letters)
    return text, PageSignals(
        chars=chars,
        has_text=any(c.isalnum() for c in text),
        garbled=max(layer_garbled, garbled_share(text)),
        ocr_confidence=confidence,
        ocr_share=1.0 if routed_ocr else min(1.0, ocr_chars / chars) if chars else 0.0,
        repetition=repetition(text, th.ngram_size, th.min_line_chars),
        text_density=text_density(chars, record.get("width"), record.get("height")),
        lang=lang,
        lang_score=lang_score,
        failed=is_error(record),
        needs_ocr=routed_ocr and lines is None,
    )


def score_page(record: Row, identifier: LanguageIdentifier, th: QualityThresholds) -> tuple[Row, int, Quality]:
    """The page record with its quality columns, its characters and its quality."""
    _, s = page_signals(record, identifier, th)
    quality = page_quality(s, th)
    scored = {
        **record,
        "ocr_confidence": s.ocr_confidence,
        "repetition": s.repetition,
        "text_density": s.text_density,
        "lang": s.lang,
        "lang_score": s.lang_score,
        "quality_score": quality.score,
        "quality_flags": [flag.value for flag in quality.flags],
    }
    return scored, s.chars, quality


def score_result(row: Row, identifier: LanguageIdentifier, th: QualityThresholds) -> Row:
    """A RESULTS row with its pages scored and the document's ``lang``, ``quality_score``, ``quality_flags``."""
    scored = [score_page(record, identifier, th) for record in row.get("pages") or ()]
    pages = [record for record, _, _ in scored]
    quality = document_quality(((chars, q) for _, chars, q in scored), failed=is_error(row))
    lang = main_language((chars, record["lang"]) for record, chars, _ in scored)
    return {
        **row,
        "pages": pages,
        "lang": lang,
        "quality_score": quality.score,
        "quality_flags": [flag.value for flag in quality.flags],
    }
