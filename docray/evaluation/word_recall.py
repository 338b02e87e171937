"""Recall of one Markdown's prose words in another (did a pipeline lose text that a reference pipeline kept?).

Used to check that ``standard`` (layout model, crops, tables) keeps the text that ``fast`` (text layer only)
reads from the same document: every word of the reference should still be somewhere in the candidate.

* :func:`prose_words`: the words of a Markdown text as a multiset. A word is a run of letters (Unicode
  letters and combining marks; digits and ``_`` cut a word) of at least ``min_letters`` letters, case-folded
  and NFC-normalised. Markup that is not text is removed first: HTML tags (tables), image links
  (``![...](images/<sha256>.jpg)``: the path is not text) and LaTeX command names (``\\frac``).
* :func:`word_recall`: the share of the reference's words (with multiplicity) that the candidate also has,
  and the reference's words the candidate lacks, most missed first.
* :func:`spelled_elsewhere`: of those missing words, the ones the candidate has with a word break inside
  (letters in order, only non-letters between them, across at least two of its words: ``procedurecompletion``
  in ``Procedure Completion``, ``annr`` in ``\\operatorname{Ann}_{R}``): words the two texts split
  differently, not text that is gone.

What counts as kept (issue 16, item 5: every span ``fast`` keeps must land in ``standard``'s output; headers and
footers go to discarded blocks; labels inside a figure may stay with the figure).  ``benchmarks/word_recall.py``
reports, per set, the recall of fast's words in:

* standard's Markdown alone (``recall``);
* its Markdown plus the text of its discarded blocks (``+discarded``, the headline): a running head in a
  discarded block is in standard's output, the MinerU JSON, where item 5 sends it.  That is only honest while
  standard discards nothing but furniture: a layout ``header``/``footer`` region is discarded only when fast's own
  furniture rules flag one of its lines or it sits at the page's edge and is no sentence
  (:func:`docray.operators.textlayer.furniture.is_furniture_region`);
* beside it, ``+figure labels``: also the text-layer words inside standard's figures (a diagram's callouts, kept
  in the figure's crop, not as text).  Reported apart, never folded into the headline: MinerU's JSON records no
  text for a figure body, so these words are in standard's output only as pixels.

Words that fast glues and standard separates (``split``: fast's ``procedurecompletion`` for two table headers
``Procedure`` / ``Completion`` set at 45 degrees, ``annr`` for ``\\operatorname{Ann}_{R}``) stay counted as lost;
the benchmark lists how many there are so that a reader can tell them from text that is gone.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

_HTML_TAG = re.compile(r"<[^>]{0,2000}>")
_IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")


def prose_words(markdown: str, min_letters: int = 4) -> Counter[str]:
    """The words of at least ``min_letters`` letters in a Markdown text, case-folded, as a multiset."""
    text = unicodedata.normalize("NFC", markdown)
    text = _IMAGE_LINK.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    text = _LATEX_COMMAND.sub(" ", text)
    return Counter(w.casefold() for w in _WORD.findall(text) if len(w) >= min_letters)


@dataclass(frozen=True, slots=True)
class Recall:
    reference_words: int  # words of the reference, with multiplicity
    kept: int  # of those, how many the candidate has too
    missing: tuple[tuple[str, int], ...]  # reference words the candidate lacks (word, times), most missed first

    @property
    def recall(self) -> float:
        """``kept / reference_words``; 1.0 for a reference without words."""
        return self.kept / self.reference_words if self.reference_words else 1.0

    @property
    def lost(self) -> int:
        return self.reference_words - self.kept


def word_recall(reference: Counter[str], candidate: Counter[str]) -> Recall:
    """How many of the reference's words (as a multiset) the candidate keeps."""
    kept = sum(min(n, candidate.get(word, 0)) for word, n in reference.items())
    missing = Counter({word: n - candidate.get(word, 0) for word, n in reference.items() if n > candidate.get(word, 0)})
    return Recall(reference_words=sum(reference.values()), kept=kept, missing=tuple(missing.most_common()))


def spelled_elsewhere(missing: tuple[tuple[str, int], ...], candidate_markdown: str) -> int:
    """How many of the ``missing`` words (with multiplicity) the candidate has with a word break inside."""
    text = _IMAGE_LINK.sub(" ", _HTML_TAG.sub(" ", _LATEX_COMMAND.sub(" ", candidate_markdown)))
    words = [w.casefold() for w in _WORD.findall(unicodedata.normalize("NFC", text))]
    letters = "".join(words)
    word_of = [k for k, w in enumerate(words) for _ in w]  # letter position -> candidate word
    found = 0
    for word, n in missing:
        start = letters.find(word)
        while start >= 0 and word_of[start] == word_of[start + len(word) - 1]:  # inside one word: another word
            start = letters.find(word, start + 1)
        found += n if start >= 0 else 0
    return found


def pooled(recalls: list[Recall]) -> Recall:
    """Several documents' recalls as one (words summed over the documents)."""
    missing: Counter[str] = Counter()
    for r in recalls:
        missing.update(dict(r.missing))
    return Recall(
        reference_words=sum(r.reference_words for r in recalls),
        kept=sum(r.kept for r in recalls),
        missing=tuple(missing.most_common()),
    )
