"""The prose-word recall metric (docray.evaluation.word_recall)."""

from collections import Counter

from docray.evaluation.word_recall import pooled, prose_words, spelled_elsewhere, word_recall


def test_prose_words_skips_markup_short_words_and_folds_case():
    md = (
        "# Results\n\nThe Model beats the model.\n\n![chart](images/" + "ab12" * 16 + ".jpg)\n\n"
        "<table><tr><td>Ångström</td><td>42</td></tr></table>\n\n$$\\frac{a}{b}\\,\\text{area}$$"
    )
    words = prose_words(md)
    assert words == Counter({"model": 2, "results": 1, "beats": 1, "ångström": 1, "area": 1})


def test_prose_words_nfc_and_digits_cut_words():
    decomposed = "Mina\u0301c\u030c"  # combining marks stay part of the word, NFC composes them
    assert prose_words(decomposed) == Counter({"min\u00e1\u010d": 1})
    assert prose_words("abcd1234efgh x_long_word") == Counter({"abcd": 1, "efgh": 1, "long": 1, "word": 1})


def test_word_recall_counts_multiplicity_and_lists_missing():
    ref = prose_words("alpha alpha alpha beta gamma")
    cand = prose_words("alpha beta delta")
    r = word_recall(ref, cand)
    assert (r.reference_words, r.kept, r.lost) == (5, 2, 3)
    assert r.missing == (("alpha", 2), ("gamma", 1))
    assert abs(r.recall - 0.4) < 1e-9
    assert word_recall(Counter(), cand).recall == 1.0


def test_pooled_sums_documents():
    a = word_recall(prose_words("word word"), prose_words("word"))
    b = word_recall(prose_words("other thing"), prose_words("other thing"))
    total = pooled([a, b])
    assert (total.reference_words, total.kept, total.missing) == (4, 3, (("word", 1),))


def test_spelled_elsewhere_tells_split_words_from_lost_ones():
    cand = "Procedure Completion with $\\operatorname{Ann}_{R}(x)$ <td>cor</td><td>porations</td>"
    r = word_recall(prose_words("procedurecompletion annr annr corporations vanished"), prose_words(cand))
    assert r.lost == 5
    assert spelled_elsewhere(r.missing, cand) == 4  # 'vanished' is gone; the others are split differently
    assert spelled_elsewhere((("case", 1),), "because of it") == 0  # inside another word: not a split
