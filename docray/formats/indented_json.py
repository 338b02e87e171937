"""MinerU's JSON file layout (``json.dumps(value, ensure_ascii=False, indent=4)``) from compact JSON text, vectorised.

MinerU writes ``_middle.json``, ``_content_list.json`` and ``_model.json`` indented by 4.  Python's json module
encodes with an indent in pure Python (its C encoder only writes compact text): parsing a document's compact
``middle_json`` and dumping it again with ``indent=4`` cost ~18 ms per page (benchmarks/README.md, "What each output
costs per page").  :func:`indent_json_text` re-indents the compact text itself, with array operations over its
bytes: a byte is inside a string when an odd number of unescaped quotes precede it, brackets and separators outside
strings set the depth, and each line break is inserted with its indent in one pass.  The result is byte for byte
what ``json.dumps(json.loads(text), ensure_ascii=False, indent=4)`` gives for text that ``json.dumps(value,
ensure_ascii=False)`` wrote (the assemble stage's columns); any other text takes that slow path.
"""

from __future__ import annotations

import json
import re

import numpy as np

INDENT = 4
_QUOTE, _SPACE, _NEWLINE = ord('"'), ord(" "), ord("\n")
# escaped backslashes and escaped quotes hidden as two control bytes, which json.dumps never writes raw
_ESCAPES = (("\\\\", "\x01\x01"), ('\\"', "\x02\x02"))
_NOT_CONTROL_ESCAPE = re.compile(r"\\u(?!00[01])")  # ensure_ascii=False escapes only control characters as \u00XX


def _table(*chars: str) -> np.ndarray:
    table = np.zeros(256, bool)
    table[[ord(c) for c in chars]] = True
    return table


_OPENS, _CLOSES, _SEPARATORS = _table("[", "{"), _table("]", "}"), _table(",", ":")
_WHITESPACE = _table(" ", "\t", "\n", "\r")


def indent_json_text(text: str) -> str:
    """``json.dumps(json.loads(text), ensure_ascii=False, indent=4)`` for JSON text written by
    ``json.dumps(value, ensure_ascii=False)`` (separators ``", "`` and ``": "``), without parsing it."""
    if "\x01" in text or "\x02" in text:  # raw control bytes: not json.dumps text, and they would be taken for escapes
        return json.dumps(json.loads(text), ensure_ascii=False, indent=INDENT)
    masked = text
    for escape, hidden in _ESCAPES:
        masked = masked.replace(escape, hidden)
    if _NOT_CONTROL_ESCAPE.search(masked):  # ensure_ascii=True text: json.dumps would write the characters
        return json.dumps(json.loads(text), ensure_ascii=False, indent=INDENT)
    data = np.frombuffer(masked.encode("utf-8", "surrogatepass"), np.uint8)  # brackets and quotes are single bytes
    # not inside a string (a closing quote counts as outside); a uint8 count wraps but keeps its parity
    outside = (np.cumsum(data == _QUOTE, dtype=np.uint8) & 1) == 0
    opens, closes = _OPENS[data] & outside, _CLOSES[data] & outside
    separators = _SEPARATORS[data] & outside
    after_separator = np.zeros_like(outside)
    after_separator[1:] = separators[:-1]
    spaces = data == _SPACE
    if not (np.array_equal(after_separator, spaces & outside) and not (_WHITESPACE[data] & outside & ~spaces).any()):
        return json.dumps(json.loads(text), ensure_ascii=False, indent=INDENT)  # not compact json.dumps text
    empty = np.zeros_like(outside)  # an open bracket directly closed: "[]" and "{}" stay on one line
    empty[:-1] = opens[:-1] & closes[1:]
    closes_empty = np.zeros_like(outside)
    closes_empty[1:] = empty[:-1]
    depth = np.cumsum(opens, dtype=np.int32) - np.cumsum(closes, dtype=np.int32)  # depth after each byte
    comma_space = after_separator & (np.roll(data, 1) == ord(","))  # the space after an item separator: a line break
    breaks = np.zeros_like(outside)  # a line break and indent goes before these bytes
    breaks[1:] = (opens & ~empty)[:-1] | comma_space[:-1]
    breaks |= closes & ~closes_empty
    before = np.empty_like(depth)
    before[0], before[1:] = 0, depth[:-1]
    # bytes inserted before each byte: a newline and the indent of the depth there
    inserted = np.where(breaks, 1 + INDENT * np.where(closes, depth, before), 0).astype(np.int32)
    keep = ~comma_space
    # where each kept byte lands: after the bytes inserted up to it, less the removed spaces before it
    position = np.cumsum(inserted, dtype=np.int64) - np.cumsum(comma_space, dtype=np.int64)
    position += np.arange(data.size, dtype=np.int64)
    out = np.full(data.size + int(inserted.sum()) - int(comma_space.sum()), _SPACE, np.uint8)
    out[position[keep]] = data[keep]
    out[(position - inserted)[breaks]] = _NEWLINE
    result = out.tobytes().decode("utf-8", "surrogatepass")
    for escape, hidden in reversed(_ESCAPES):
        result = result.replace(hidden, escape)
    return result
