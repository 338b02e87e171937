"""TEDS (tree-edit-distance-based similarity) between HTML tables, as used by OmniDocBench.

Facts from the public TEDS definition (Zhong et al., PubTabNet; the ``TEDS`` class OmniDocBench ships in
``metrics/table_metric.py``) and OmniDocBench's table normalisation (``normalized_html_table``); the code is ours:

* normalisation (:func:`normalise_table_html`): ``<th>`` becomes ``<td>``, ``<thead>``/``<tbody>``/``<span>`` tags
  are unwrapped, MathML ``<math alttext=..>`` becomes ``$alttext$``, entities are unescaped, newlines dropped, the
  text NFKC-normalised; the content of the outermost ``<table>`` is kept, ``style``/``height``/``width``/``align``/
  ``class`` attributes go, whitespace runs collapse to one space and whitespace between tags goes (the published
  normalised tables have none), ``<br>`` is written ``<br/>``; ``<sup>``, ``<sub>``, ``<div>``, ``<p>`` tags and
  ``<colgroup>`` blocks are removed;
* the tree: the ``<table>`` element and, below it, every element except the insides of ``<td>``; a ``<td>`` is a
  leaf carrying ``colspan``, ``rowspan`` (default 1) and its content as tokens: the characters of its text, and for
  each element inside it ``<tag>``, its text characters, its children, ``</tag>`` and its tail characters;
* the edit distance: deleting or inserting a node costs 1; renaming costs 1 when the tags, colspans or rowspans
  differ, otherwise, for cells, the normalised Levenshtein distance of the token lists (0 when both are empty), and
  0 for other nodes. With ``structure_only`` cells carry no tokens.
* ``TEDS = 1 - distance / max(n_pred, n_true)`` where ``n`` counts the elements below ``<table>`` (including
  elements inside cells). An empty prediction scores 0.

The tree edit distance is Zhang and Shasha's algorithm (the same optimum as APTED, which OmniDocBench calls).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from docray.evaluation.html_tree import Element, parse_html

_TABLE_BODY = re.compile(r"<table\b[^>]*>(.*)</table>", re.DOTALL | re.IGNORECASE)
_DROPPED_ATTRIBUTES = [re.compile(f'( {name}=".*?")') for name in ("style", "height", "width", "align", "class")]
_UNWRAPPED_TAGS = re.compile(r"</?(?:thead|tbody|span|sup|sub|div|p)(?:\s[^>]*)?/?>", re.IGNORECASE)
_MATH = re.compile(r"<math\b([^>]*)>.*?</math>", re.DOTALL | re.IGNORECASE)
_ALTTEXT = re.compile(r'alttext\s*=\s*"([^"]*)"')
_COLGROUP = re.compile(r"<colgroup>.*?</colgroup>", re.DOTALL)


def normalise_table_html(markup: str) -> str:
    """A table's HTML in OmniDocBench's normalised form (see the module docstring); "" when there is no table."""
    if "<table" not in markup.replace(" ", "").replace("'", '"'):
        return ""
    text = re.sub(r"<th(?=[\s>/])", "<td", markup, flags=re.IGNORECASE)
    text = re.sub(r"</th>", "</td>", text, flags=re.IGNORECASE)
    text = _MATH.sub(lambda m: "$" + html.unescape(_alttext(m.group(1))) + "$", text)
    text = _UNWRAPPED_TAGS.sub("", text)
    text = html.unescape(text).replace("\n", "")
    text = unicodedata.normalize("NFKC", text).strip()
    text = "".join(_TABLE_BODY.findall(text))
    for pattern in _DROPPED_ATTRIBUTES:
        text = pattern.sub("", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r">\s+<", "><", text).strip()
    text = re.sub(r"<br\s*/?>", "<br/>", text, flags=re.IGNORECASE)
    text = _COLGROUP.sub("", text)
    return '<html><body><table border="1" >' + text + "</table></body></html>"


def _alttext(attributes: str) -> str:
    match = _ALTTEXT.search(attributes)
    return match.group(1) if match else ""


@dataclass
class TableNode:
    tag: str
    colspan: int | None = None
    rowspan: int | None = None
    tokens: tuple[str, ...] = ()
    children: list[TableNode] | None = None


def _span(value: str | None) -> int:
    digits = re.match(r"\s*(\d+)", value or "")
    return int(digits.group(1)) if digits else 1


def _cell_tokens(element: Element) -> list[str]:
    tokens = list(element.text)
    for child in element.children:
        tokens.append(f"<{child.tag}>")
        tokens.extend(_cell_tokens(child))
        tokens.append(f"</{child.tag}>")
        tokens.extend(child.tail)
    return tokens


def table_tree(element: Element, structure_only: bool = False) -> TableNode:
    """The TEDS tree of a ``<table>`` element."""
    if element.tag == "td":
        tokens = () if structure_only else tuple(_cell_tokens(element))
        return TableNode("td", _span(element.attrs.get("colspan")), _span(element.attrs.get("rowspan")), tokens)
    return TableNode(element.tag, children=[table_tree(child, structure_only) for child in element.children])


def _first_table(markup: str) -> Element | None:
    root = parse_html(markup)
    body = root.find_first("body") or root
    return next((child for child in body.children if child.tag == "table"), None) or root.find_first("table")


def teds(pred_html: str, true_html: str, structure_only: bool = False) -> float:
    """TEDS of two (normalised) HTML tables in [0, 1]; 0 when either side has no table."""
    if not pred_html or not true_html:
        return 0.0
    pred_table, true_table = _first_table(pred_html), _first_table(true_html)
    if pred_table is None or true_table is None:
        return 0.0
    n_nodes = max(sum(1 for _ in pred_table.iter()) - 1, sum(1 for _ in true_table.iter()) - 1)
    if n_nodes == 0:
        return 1.0
    distance = tree_edit_distance(table_tree(pred_table, structure_only), table_tree(true_table, structure_only))
    return 1.0 - distance / n_nodes


def _postorder(root: TableNode) -> tuple[list[TableNode], list[int]]:
    """Nodes in postorder and, for each, the postorder index of its leftmost leaf."""
    nodes: list[TableNode] = []
    leftmost: list[int] = []

    def visit(node: TableNode) -> int:
        first_leaf = None
        for child in node.children or []:
            leaf = visit(child)
            if first_leaf is None:
                first_leaf = leaf
        nodes.append(node)
        leftmost.append(len(nodes) - 1 if first_leaf is None else first_leaf)
        return leftmost[-1]

    visit(root)
    return nodes, leftmost


def rename_cost(a: TableNode, b: TableNode) -> float:
    if a.tag != b.tag or a.colspan != b.colspan or a.rowspan != b.rowspan:
        return 1.0
    if a.tag == "td" and (a.tokens or b.tokens):
        from rapidfuzz.distance import Levenshtein

        return Levenshtein.distance(a.tokens, b.tokens) / max(len(a.tokens), len(b.tokens))
    return 0.0


def tree_edit_distance(tree_a: TableNode, tree_b: TableNode) -> float:
    """Ordered tree edit distance (Zhang–Shasha) with unit insert/delete costs and :func:`rename_cost`."""
    nodes_a, left_a = _postorder(tree_a)
    nodes_b, left_b = _postorder(tree_b)
    keyroots_a = sorted({max(i for i, leaf in enumerate(left_a) if leaf == value) for value in set(left_a)})
    keyroots_b = sorted({max(j for j, leaf in enumerate(left_b) if leaf == value) for value in set(left_b)})
    renames = [[rename_cost(a, b) for b in nodes_b] for a in nodes_a]
    tree_dist = [[0.0] * len(nodes_b) for _ in nodes_a]
    for i in keyroots_a:
        for j in keyroots_b:
            _forest_distance(i, j, left_a, left_b, renames, tree_dist)
    return tree_dist[-1][-1]


def _forest_distance(i: int, j: int, left_a: list[int], left_b: list[int], renames, tree_dist) -> None:
    li, lj = left_a[i], left_b[j]
    rows, cols = i - li + 2, j - lj + 2
    forest = [[0.0] * cols for _ in range(rows)]
    for x in range(1, rows):
        forest[x][0] = forest[x - 1][0] + 1
    for y in range(1, cols):
        forest[0][y] = forest[0][y - 1] + 1
    for x in range(1, rows):
        node_a = li + x - 1
        row, previous_row = forest[x], forest[x - 1]
        same_root_a = left_a[node_a] == li
        for y in range(1, cols):
            node_b = lj + y - 1
            deletion = previous_row[y] + 1
            insertion = row[y - 1] + 1
            if same_root_a and left_b[node_b] == lj:
                value = min(deletion, insertion, previous_row[y - 1] + renames[node_a][node_b])
                tree_dist[node_a][node_b] = value
            else:
                value = min(
                    deletion,
                    insertion,
                    forest[left_a[node_a] - li][left_b[node_b] - lj] + tree_dist[node_a][node_b],
                )
            row[y] = value
