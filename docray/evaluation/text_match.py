"""Text normalisation and fuzzy matching in the way olmOCR-bench scores Markdown.

Facts taken from the public olmOCR-bench scorer (allenai/olmocr, ``olmocr/bench/tests.py``); the code is ours:

* both the candidate Markdown and the test strings are normalised: ``<br>`` (also ``<br />``) becomes a space, bold/italic Markdown
  emphasis (``**x**``, ``__x__``, ``*x*``, ``_x_``, pairs within one line) and ``<b>``/``<i>`` tags are removed,
  whitespace runs collapse to one space, the text is NFC-normalised, and curly quotes, dash/minus variants, the
  full-width underscore and the micro sign are folded (to ASCII, resp. Greek mu);
* presence uses rapidfuzz's ``partial_ratio`` (best alignment of the query against any window of the text);
* order uses fuzzysearch's ``find_near_matches`` (Levenshtein distance at most ``max_diffs``).

rapidfuzz and fuzzysearch come with the ``eval`` extra and are imported when a matcher first runs.
"""

from __future__ import annotations

import re
import unicodedata

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HTML_EMPHASIS = re.compile(r"</?[bi]>")
_BOLD = re.compile(r"(\*\*|__)(.*?)\1")
_ITALIC = re.compile(r"(\*|_)(.*?)\1")
_WHITESPACE = re.compile(r"\s+")
_FOLDS = str.maketrans(
    {
        "\u2018": "'",  # left single quote
        "\u2019": "'",  # right single quote
        "\u201a": "'",  # single low-9 quote
        "\u201c": '"',  # left double quote
        "\u201d": '"',  # right double quote
        "\u201e": '"',  # double low-9 quote
        "\uff3f": "_",  # full-width low line
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2212": "-",  # minus sign
        "\u00b5": "\u03bc",  # micro sign -> Greek small mu
    }
)

# Scripts and symbols that an English/Latin-script OCR output should not contain (olmOCR's baseline check).
DISALLOWED_CHARACTERS = re.compile(
    "["
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\U0001f600-\U0001f64f"  # emoticons
    "\U0001f300-\U0001f5ff"  # miscellaneous symbols and pictographs
    "\U0001f680-\U0001f6ff"  # transport and map symbols
    "\U0001f1e0-\U0001f1ff"  # regional indicators (flags)
    "]"
)
_MARKDOWN_IMAGE = re.compile(r"!\[.*?\]\(.*?\)")


def normalise(text: str) -> str:
    """The form in which olmOCR-bench compares texts (see the module docstring for the steps)."""
    text = _BR.sub(" ", text)
    text = _HTML_EMPHASIS.sub("", text)
    # `.` stops at newlines, so an emphasis pair never spans lines; run before whitespace is collapsed.
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\2", text)
    text = _WHITESPACE.sub(" ", text)
    text = unicodedata.normalize("NFC", text)
    return text.translate(_FOLDS)


def partial_ratio(query: str, text: str) -> float:
    """Similarity in [0, 1] of ``query`` to its best-matching window of ``text`` (rapidfuzz ``partial_ratio``)."""
    from rapidfuzz import fuzz

    return fuzz.partial_ratio(query, text) / 100.0


def near_match_starts(pattern: str, text: str, max_distance: int) -> list[int]:
    """Start offsets of the approximate occurrences of ``pattern`` in ``text`` (Levenshtein <= ``max_distance``)."""
    from fuzzysearch import find_near_matches

    return [match.start for match in find_near_matches(pattern, text, max_l_dist=max_distance)]


def alphanumeric_count(text: str, *, skip_image_tags: bool = False) -> int:
    """Letters and digits in ``text`` (any script), optionally not counting Markdown image tags ``![alt](src)``."""
    if skip_image_tags:
        text = _MARKDOWN_IMAGE.sub("", text)
    return sum(1 for char in text if char.isalnum())


def trailing_repeats(text: str, max_ngram: int = 5) -> list[int]:
    """For n = 1..``max_ngram``: how many times the last n characters repeat back to back at the end of ``text``.

    Whitespace runs count as one space. ``"abab"`` gives ``[1, 2, 1, 1, 0]`` for ``max_ngram=5``: "b" once, "ab"
    twice, "bab" once, "abab" once, and no 5-gram.
    """
    text = _WHITESPACE.sub(" ", text)
    counts = []
    for size in range(1, max_ngram + 1):
        if len(text) < size:
            counts.append(0)
            continue
        tail = text[-size:]
        count, end = 0, len(text)
        while end - size >= 0 and text[end - size : end] == tail:
            count += 1
            end -= size
        counts.append(count)
    return counts


def disallowed_characters(text: str) -> list[str]:
    """Characters of ``text`` from the scripts/emoji blocks in :data:`DISALLOWED_CHARACTERS`, in order."""
    return DISALLOWED_CHARACTERS.findall(text)
