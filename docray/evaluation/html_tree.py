"""A small, forgiving HTML element tree (stdlib ``html.parser``), enough to read tables for TEDS.

Like lxml's HTML parser, which TEDS implementations use: void elements (``<br>``, ``<img>``...) have no children, an
open ``<td>``/``<th>`` is closed by the next cell or row, an open ``<tr>`` by the next row, and an end tag with no
matching open element is ignored. Text is kept as ``text`` (before the first child) and ``tail`` (after an element).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_TAGS = frozenset({"br", "img", "hr", "input", "meta", "link", "col", "area", "base", "wbr", "source"})
_CELL_TAGS = frozenset({"td", "th"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)
    text: str = ""
    tail: str = ""

    def iter(self):
        """This element and all its descendants, in document order."""
        yield self
        for child in self.children:
            yield from child.iter()

    def find_first(self, tag: str) -> Element | None:
        return next((element for element in self.iter() if element.tag == tag), None)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root")
        self.stack = [self.root]

    def _close_until(self, tag: str, stop_at: frozenset[str] = frozenset({"table"})) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag in stop_at:
                return
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _CELL_TAGS:
            self._close_until("td")
            self._close_until("th")
        elif tag == "tr":
            self._close_until("tr")
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID_TAGS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        if parent.children:
            parent.children[-1].tail += data
        else:
            parent.text += data


def parse_html(markup: str) -> Element:
    """The element tree of an HTML fragment, under a synthetic ``#root`` element."""
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root
