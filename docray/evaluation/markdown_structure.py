"""A coarse comparison of two Markdown renderings of one document: whole-document text distance and structure counts.

Meant for reference Markdown that is another tool's output rather than human-verified ground truth (docling's
regression snapshots): it answers "did it run, did the text and the structure come out", not "how accurate is it".

* :func:`plain_text`: the document's words without Markdown/HTML markup: images, HTML comments (docling's
  ``<!-- image -->``), tags, table pipes and separator rows, heading marks, emphasis and ``$`` go; NFKC, lower case,
  whitespace collapsed. So an HTML table and a pipe table with the same cells give the same text.
* :func:`text_ned`: normalised Levenshtein distance of the two plain texts (0 = same, 1 = nothing in common).
* :func:`count_tables`: tables as :func:`docray.evaluation.markdown_parts.split_markdown` finds them (HTML tables,
  LaTeX tables, runs of pipe-table lines); :func:`count_headings`: ATX heading lines (``#`` .. ``######``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SEPARATOR_ROW = re.compile(r"^[ \t]*\|?[ \t:|-]*-[ \t:|-]*\|?[ \t]*$", re.MULTILINE)
_HEADING_MARK = re.compile(r"^[ \t]*#{1,6}[ \t]+", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_MARKUP = re.compile(r"[|*_`$]+")
_SPACE = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    text = _COMMENT.sub(" ", _IMAGE.sub(" ", markdown))
    text = _SEPARATOR_ROW.sub(" ", _TAG.sub(" ", text))
    text = _MARKUP.sub(" ", _HEADING_MARK.sub("", text))
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", text).strip()


def text_ned(ours: str, reference: str) -> float:
    from docray.evaluation.omnidocbench_match import ned

    return ned(plain_text(ours), plain_text(reference))


def count_tables(markdown: str) -> int:
    from docray.evaluation.markdown_parts import PartKind, split_markdown

    return sum(part.kind in (PartKind.HTML_TABLE, PartKind.LATEX_TABLE) for part in split_markdown(markdown))


def count_headings(markdown: str) -> int:
    return len(_HEADING.findall(markdown))


@dataclass(frozen=True)
class StructureComparison:
    text_ned: float
    tables: int
    reference_tables: int
    headings: int
    reference_headings: int
    chars: int  # plain-text characters, ours
    reference_chars: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(ours: str, reference: str) -> StructureComparison:
    """Text distance and structure counts of ``ours`` against ``reference`` (both whole-document Markdown)."""
    return StructureComparison(
        text_ned=text_ned(ours, reference),
        tables=count_tables(ours),
        reference_tables=count_tables(reference),
        headings=count_headings(ours),
        reference_headings=count_headings(reference),
        chars=len(plain_text(ours)),
        reference_chars=len(plain_text(reference)),
    )
