"""Quality signals and scores: pure functions on hand-written texts, and the real py3langid model."""

from __future__ import annotations

import dataclasses

import pytest

from docray.operators.quality_signals import (
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
    ramp,
    repetition,
    text_density,
    tokens,
)
from docray.schema import QualityFlag

PROSE = """Optical character recognition converts images of typed, handwritten or printed text into
machine-encoded text. It is widely used to digitise printed records such as passports, invoices,
bank statements and receipts, so that they can be searched, edited and stored more compactly.
Early versions had to be trained with images of each character and worked on one font at a time.
Modern systems reach high accuracy on most fonts and accept a variety of image file formats.
Some can reproduce formatted output that closely approximates the original page, including
images, columns and other non-textual components, while others only return the plain words."""

GERMAN = (
    "Die Texterkennung wandelt Bilder von gedruckten oder handgeschriebenen Texten in maschinenlesbaren "
    "Text um. Sie wird häufig verwendet, um Dokumente wie Rechnungen und Kontoauszüge zu digitalisieren."
)
CHINESE = (
    "光学字符识别是指对文本资料的图像文件进行分析识别处理，获取文字及版面信息的过程。它被广泛用于将纸质文档数字化。"
)
LETTER_PAGE = (612.0, 792.0)


@pytest.fixture(scope="module")
def identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


# ---------------------------------------------------------------------------- text


def test_plain_text_drops_markup_but_keeps_words():
    markdown = "# Title\n\n![](images/abc.jpg)\n\n<table><tr><td>a &amp; b</td></tr></table>\n\n$$\nx^2\n$$"
    text = plain_text(markdown)
    assert "images" not in text and "<" not in text and "#" not in text and "$$" not in text
    assert text.split() == ["Title", "a", "&", "b", "x^2"]
    assert plain_text(None) == "" and plain_text("") == ""


def test_tokens_words_numbers_cjk_and_overlong_runs():
    assert tokens("Hello, World! 3.14 and 2024-01-05 ...") == ["hello", "world", "3.14", "and", "2024-01-05"]
    assert tokens("数据abc") == ["数", "据", "abc"]
    assert tokens("ab" * 30) == list("ab" * 30)  # 60 letters are no word


def test_garbled_share_counts_replacement_private_use_and_cid():
    assert garbled_share("clean text") == 0.0
    assert garbled_share("ab\ufffd\ue000") == pytest.approx(2 / 4)
    assert garbled_share("(cid:12) ok") == pytest.approx(8 / 10)
    assert garbled_share("") == 0.0


# ---------------------------------------------------------------------------- signals


def test_repetition_is_near_zero_on_prose():
    assert repetition(PROSE) < 0.05
    assert repetition(GERMAN) < 0.05
    assert repetition(CHINESE) < 0.1


def test_repetition_is_near_one_on_loops():
    sentence = "The patient was advised to rest and drink plenty of fluids."
    assert repetition("\n".join([sentence] * 60)) > 0.95  # a VLM repeating a line
    assert repetition(" ".join(["the end of the"] * 80)) > 0.95  # a phrase looping inside one line
    assert repetition("abc" * 200) > 0.95  # a loop without spaces
    assert repetition("我们的系统" * 60) > 0.95  # a CJK loop
    loop = " ".join(["and so on"] * 200)  # prose that ends in a loop: about the loop's share of the text
    loop_share = count_chars(loop) / count_chars(PROSE + loop)
    assert repetition(PROSE + "\n" + loop) == pytest.approx(loop_share, abs=0.02)


def test_repetition_counts_only_the_repeats_and_short_lines_only_as_ngrams():
    once_more = PROSE + "\n" + PROSE
    assert repetition(once_more) == pytest.approx(0.5, abs=0.02)  # the second copy repeats the first
    table_cells = "\n".join(["Yes", "No", "Yes", "No", "Yes"])  # short repeated lines are no loop
    assert repetition(table_cells) == 0.0
    toc = "\n".join(f"Chapter {n} {name} ........ {5 * n}" for n, name in enumerate(["Intro", "Methods", "Data"], 1))
    assert repetition(toc) == 0.0  # dot leaders are punctuation, not tokens
    assert repetition("") == 0.0


def test_ocr_confidence_is_character_weighted():
    lines = [{"text": "abcd", "score": 1.0}, {"text": "a b", "score": 0.4}, {"text": "  ", "score": 0.0}]
    assert ocr_confidence(lines) == pytest.approx((4 * 1.0 + 2 * 0.4) / 6)
    assert ocr_confidence([]) is None and ocr_confidence(None) is None
    assert ocr_confidence([{"text": "", "score": 0.9}]) is None


def test_text_density_per_square_inch():
    assert text_density(935, *LETTER_PAGE) == pytest.approx(935 / (8.5 * 11))
    assert text_density(10, None, 792.0) is None and text_density(10, 0.0, 792.0) is None


def test_language_of_english_german_chinese(identifier):
    for text, expected in ((PROSE, "en"), (GERMAN, "de"), (CHINESE, "zh")):
        lang, score = language(text, identifier)
        assert lang == expected and 0.5 < score <= 1.0
    assert language("Hi there", identifier) == (None, None)  # fewer than 20 letters
    assert language("12345 67890 " * 10, identifier) == (None, None)


# ---------------------------------------------------------------------------- scores


def clean_page(**changes) -> PageSignals:
    base = PageSignals(
        chars=3000, has_text=True, garbled=0.0, ocr_confidence=None, ocr_share=0.0, repetition=0.0,
        text_density=30.0, lang="en", lang_score=1.0,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_ramp_in_both_directions():
    assert ramp(0.1, 0.2, 0.6) == 1.0 and ramp(0.4, 0.2, 0.6) == pytest.approx(0.5) and ramp(0.9, 0.2, 0.6) == 0.0
    assert ramp(0.95, 0.9, 0.5) == 1.0 and ramp(0.7, 0.9, 0.5) == pytest.approx(0.5) and ramp(0.4, 0.9, 0.5) == 0.0


def test_clean_page_scores_one_without_flags():
    assert page_quality(clean_page()) == Quality(1.0, ())


@pytest.mark.parametrize(
    ("signal", "worse_values", "flag"),
    [
        ("garbled", [0.0, 0.05, 0.1, 0.2, 0.3, 0.5], QualityFlag.GARBLED),
        ("repetition", [0.0, 0.3, 0.5, 0.7, 0.9, 1.0], QualityFlag.REPETITIVE),
        ("ocr_confidence", [0.99, 0.93, 0.85, 0.8, 0.7, 0.5], QualityFlag.LOW_OCR_CONFIDENCE),
        ("text_density", [30.0, 2.0, 1.5, 1.0, 0.5, 0.0], QualityFlag.SPARSE),
    ],
)
def test_score_falls_monotonically_as_a_signal_worsens(signal, worse_values, flag):
    extra = {"ocr_share": 1.0} if signal == "ocr_confidence" else {}
    results = [page_quality(clean_page(**{signal: value}, **extra)) for value in worse_values]
    scores = [q.score for q in results]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0 and scores[-1] == 0.0 and 0.0 < scores[3] < 1.0
    assert all((flag in q.flags) == (q.score < 1.0) for q in results)


def test_factors_multiply_and_ocr_share_scales_the_ocr_penalty():
    both = page_quality(clean_page(garbled=0.16, repetition=0.6))
    assert both.score == pytest.approx(0.5 * 0.5)
    assert set(both.flags) == {QualityFlag.GARBLED, QualityFlag.REPETITIVE}
    shares = [page_quality(clean_page(ocr_confidence=0.7, ocr_share=share)).score for share in (0.0, 0.1, 0.5, 1.0)]
    assert shares == pytest.approx([1.0, 0.9, 0.5, 0.0])


def test_pages_without_text_score_zero_with_their_reason():
    assert page_quality(clean_page(failed=True)) == Quality(0.0, (QualityFlag.FAILED,))
    assert page_quality(clean_page(needs_ocr=True, chars=0, has_text=False)) == Quality(0.0, (QualityFlag.NEEDS_OCR,))
    assert page_quality(clean_page(chars=0, has_text=False)) == Quality(0.0, (QualityFlag.EMPTY,))
    garbled_only = clean_page(chars=40, has_text=False, garbled=1.0)
    assert page_quality(garbled_only) == Quality(0.0, (QualityFlag.GARBLED,))


def test_thresholds_change_the_score():
    page = clean_page(repetition=0.5)
    assert page_quality(page).score < 1.0
    assert page_quality(page, QualityThresholds(repetition_ok=0.5)).score == 1.0


def test_document_score_weights_pages_by_characters_and_counts_textless_pages():
    good, half = Quality(1.0, ()), Quality(0.5, (QualityFlag.REPETITIVE,))
    assert document_quality([(3000, good), (1000, half)]).score == pytest.approx((3000 + 500) / 4000)
    empty = Quality(0.0, (QualityFlag.NEEDS_OCR,))
    with_scan = document_quality([(3000, good), (1000, half), (0, empty)])
    assert with_scan.score == pytest.approx((3000 + 500) / 4000 * 2 / 3)  # a textless page weighs as an average one
    assert with_scan.flags == (QualityFlag.NEEDS_OCR, QualityFlag.REPETITIVE)  # union, in QualityFlag order
    failed = document_quality([(3000, good)], failed=True)
    assert failed == Quality(0.0, (QualityFlag.FAILED,))
    assert document_quality([]).score == 0.0 and document_quality([(0, empty)]).score == 0.0


def test_main_language_is_the_one_carrying_most_characters():
    assert main_language([(100, "de"), (900, "en"), (500, "de"), (50, None)]) == "en"
    assert main_language([(100, "de"), (900, "en"), (900, "de")]) == "de"
    assert main_language([(10, None)]) is None


def test_count_chars_ignores_whitespace():
    assert count_chars(" a b\n\tc ") == 3
