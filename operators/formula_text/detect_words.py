"""Words of one text line and what they are in math: variables, operator names, function applications.

Runs on a line's per-glyph standing (:class:`~docray.operators.formula_text.detect_glyphs.Cue`) before scripts
take their base's standing (:mod:`.detect_inline`):

* :func:`classify_words`: an italic one-letter word is a variable (unless it sits in an italic phrase: emphasis),
  a short italic word touching math or beside a relation joins it (``dt``, ``mc``, ``= ug``), longer italic
  words are text.
* :func:`bind_operator_names`: an upright word that names an operator (``sin``, ``log``, ``Hom``) binds to the
  math next to it; an English-looking name (``rank``, ``span``, ``Ann``) and any other upright word bind only
  in operator form: with a script (``Ann_R``, ``max_i``) or a bracket right after it (``rank(A)``), and (an unknown word)
  with math on both sides (``R/Ann_R(x)``), or on one side when it carries a subscript (``Res_{z=0} g``).
* :func:`bind_function_terms`: a one-letter function applied to a short argument, even in text fonts (slides
  and web pages set math in the text face), ``F(b)``, chained by operators to more terms or across a relation (``F(b) - F(a)``,
  ``f(x) = 2x + 1``) is one formula; ``see (a) and (b)`` or a word before a parenthesis is not.
"""

from __future__ import annotations

from docray.operators.formula_text.detect_glyphs import FUNCTION_NAMES, OPERATOR_WORDS, Cue
from docray.operators.textlayer.pdf_glyphs import Glyph

WORD_GAP = 0.2  # x size: letters closer than this (and both italic or both upright) belong to one word
PHRASE_GAP = 0.6  # x size: a one-letter italic word this close to an italic word is emphasis
SHORT_ITALIC = 3  # italic words up to this many letters may join an adjacent run (dt, mc)
TOUCH_SPACE = 0.6  # x the line's word space: an italic word closer than this to math is part of it
PHRASE_LETTERS = frozenset("aAI")  # one-letter English words: next to italic words they are emphasis, not variables
DIFFERENTIAL_GAP = 0.5  # x size: how far an italic "dx" may sit from the math before or after it
SCRIPT_REACH = 0.4  # x size: how far right of its base a script may start
TIGHT = 0.5  # x the line's word space (and at most WORD_GAP x size): a bracket this close to a word is its argument
OPERATOR_GAP = 0.8  # x size: a short italic word this close to a relation or operator is a product of variables
NEIGHBOUR_GAP = 1.1  # x size: math farther than this from a word is not its neighbour
TERM_ARGUMENT = 7  # glyphs at most inside a function term's parentheses: F(b), f(x, y), g(n+1)
_PUNCT = frozenset(",.;:")
_OPERATOR_SIGNS = frozenset("=<>+\u2212\u2264\u2265\u2260\u2248\u2261\u2208\u2282\u2286\u00d7\u00b7\u22c5")
_TERM_OPERATORS = frozenset("+-=<>\u2212\u2264\u2265\u2260\u00d7\u00b7\u22c5")
_RELATIONS = frozenset("=<>\u2264\u2265\u2260")
_ARGUMENT = frozenset(",+-\u2212")


def _gap(a: Glyph, b: Glyph) -> float:
    return b.bbox[0] - a.bbox[2]


def _tight(em: float, space: float) -> float:
    """Glyphs closer than this (points) have no word space between them."""
    return min(TIGHT * space, WORD_GAP * em)


def split_words(gl: list[Glyph], status: list[Cue], script: list[bool], em: float, space: float) -> list[list[int]]:
    """Full-size letters grouped into words: close together and all italic or all upright."""
    words: list[list[int]] = []
    limit = min(WORD_GAP * em, 0.6 * space)
    for k, g in enumerate(gl):
        if script[k] or status[k] not in (Cue.TEXT, Cue.ITALIC) or not g.text.isalpha():
            continue
        if words and words[-1][-1] == k - 1 and _gap(gl[k - 1], g) < limit and status[k - 1] == status[k]:
            words[-1].append(k)
        else:
            words.append([k])
    return words


def classify_words(words: list[list[int]], gl: list[Glyph], status: list[Cue], em: float, space: float) -> None:
    """Italic one-letter words become math; italic words of a few letters touching math stay italic, others text."""
    italic_words = [w for w in words if len(w) > 1 and all(status[k] == Cue.ITALIC for k in w)]
    for w in words:
        if not all(status[k] == Cue.ITALIC for k in w):
            continue
        text = "".join(gl[k].text for k in w)
        if len(w) == 1 and not (text in PHRASE_LETTERS and any(_near(gl, w, other, em) for other in italic_words)):
            status[w[0]] = Cue.MATH
        elif len(w) > 1:
            touch = TOUCH_SPACE * space
            reach = max(DIFFERENTIAL_GAP * em, touch) if len(w) == 2 and text[0] == "d" else touch  # dx after math
            bound = len(w) <= SHORT_ITALIC and (
                _touches(gl, status, w[0], w[0] - 1, reach)
                or _touches(gl, status, w[-1], w[-1] + 1, touch)
                or _beside_operator(gl, status, w, em)
            )
            for k in w:
                status[k] = Cue.ITALIC if bound else Cue.TEXT


def _touches(gl: list[Glyph], status: list[Cue], edge: int, neighbour: int, reach: float) -> bool:
    """True when the glyph next to a word's ``edge`` is not text and sits closer than ``reach`` points."""
    if not 0 <= neighbour < len(gl) or status[neighbour] == Cue.TEXT or gl[neighbour].text in _PUNCT:
        return False
    if gl[neighbour].text.isalnum() and gl[neighbour].size >= 0.9 * gl[edge].size:
        return False  # a letter or digit beside it: words next to a formula, not a product (TeX sets those tight)
    left, right = (edge, neighbour) if neighbour > edge else (neighbour, edge)
    return _gap(gl[left], gl[right]) < reach


def _beside_operator(gl: list[Glyph], status: list[Cue], word: list[int], em: float) -> bool:
    """True when a relation or binary operator sits right before or after the word (``g' = ug``): a product of
    variables, not emphasis."""
    for edge, neighbour in ((word[0], word[0] - 1), (word[-1], word[-1] + 1)):
        if 0 <= neighbour < len(gl) and gl[neighbour].text in _OPERATOR_SIGNS and status[neighbour] != Cue.TEXT:
            left, right = (edge, neighbour) if neighbour > edge else (neighbour, edge)
            if _gap(gl[left], gl[right]) < OPERATOR_GAP * em:
                return True
    return False


def _near(gl: list[Glyph], word: list[int], other: list[int], em: float) -> bool:
    if other[0] > word[-1]:
        return other[0] == word[-1] + 1 and _gap(gl[word[-1]], gl[other[0]]) < PHRASE_GAP * em
    return other[-1] == word[0] - 1 and _gap(gl[other[-1]], gl[word[0]]) < PHRASE_GAP * em


def bind_operator_names(
    words: list[list[int]], gl: list[Glyph], status: list[Cue], script: list[bool], em: float, space: float
) -> None:
    """Upright words that act as operators become bindable (math next to math), see the module doc."""
    for w in words:
        if len(w) < 2 or not all(status[k] == Cue.TEXT for k in w):
            continue
        text = "".join(gl[k].text for k in w)
        after = w[-1] + 1
        scripted = subscript = False
        while after < len(gl) and script[after] and gl[after].bbox[0] - gl[after - 1].bbox[2] < SCRIPT_REACH * em:
            scripted, after = True, after + 1
            subscript |= gl[after - 1].origin[1] > gl[w[-1]].origin[1]  # below the baseline: no footnote mark
        tight = after < len(gl) and gl[after].text in "([{" and _gap(gl[after - 1], gl[after]) < _tight(em, space)
        if text in FUNCTION_NAMES:
            bound = True
        elif text in OPERATOR_WORDS:
            bound = scripted or tight
        elif scripted or tight:
            left = _math_side(gl, status, script, w[0], -1, em)
            right = _math_side(gl, status, script, after - 1, 1, em)
            bound = (left and right) or (subscript and (left or right))  # Res_{z=0} g after a line break
        else:
            bound = False
        if bound:
            for k in w:
                status[k] = Cue.BINDABLE


def _math_side(gl: list[Glyph], status: list[Cue], script: list[bool], edge: int, step: int, em: float) -> bool:
    """True when, from ``edge`` going ``step``, bindable glyphs (brackets, operators) lead to a math glyph with no
    text, punctuation or wide gap before it."""
    k, last = edge + step, edge
    while 0 <= k < len(gl):
        left, right = (gl[k], gl[last]) if step < 0 else (gl[last], gl[k])
        if _gap(left, right) > NEIGHBOUR_GAP * em or status[k] == Cue.TEXT or gl[k].text in _PUNCT:
            return False
        if status[k] in (Cue.MATH, Cue.ITALIC) and not script[k]:
            return True
        if not script[k]:
            last = k
        k += step
    return False


def bind_function_terms(gl: list[Glyph], status: list[Cue], script: list[bool], em: float, space: float) -> None:
    """Chains of one-letter function terms become math, see the module doc."""
    tight = _tight(em, space)
    k = 0
    while k < len(gl):
        end = _term(gl, script, k, tight)
        if end is None:
            k += 1
            continue
        items, terms, relation, at = [(k, end)], 1, False, end
        while True:
            op = at + 1
            if op >= len(gl) or gl[op].text not in _TERM_OPERATORS or _gap(gl[at], gl[op]) > NEIGHBOUR_GAP * em:
                break
            nxt = op + 1
            if nxt >= len(gl) or _gap(gl[op], gl[nxt]) > NEIGHBOUR_GAP * em:
                break
            term = _term(gl, script, nxt, tight)
            stop = term if term is not None else _operand(gl, script, nxt, tight)
            if stop is None:
                break
            terms += term is not None
            relation |= gl[op].text in _RELATIONS
            items.append((op, stop))
            at = stop
        if len(items) > 1 and (terms > 1 or relation):
            for first, last in items:
                for j in range(first, last + 1):
                    if status[j] != Cue.MATH:
                        status[j] = Cue.MATH if gl[j].text.isalpha() and not script[j] else Cue.BINDABLE
        k = at + 1


def _single_letter(gl: list[Glyph], script: list[bool], k: int, tight: float) -> bool:
    """A letter with no letter touching it on either side (a one-letter word)."""
    if not (0 <= k < len(gl)) or script[k] or not gl[k].text.isalpha():
        return False
    for j in (k - 1, k + 1):
        if 0 <= j < len(gl) and gl[j].text.isalpha() and not script[j]:
            left, right = (gl[j], gl[k]) if j < k else (gl[k], gl[j])
            if _gap(left, right) < tight:
                return False
    return True


def _term(gl: list[Glyph], script: list[bool], k: int, tight: float) -> int | None:
    """End (the closing parenthesis) of a function term ``F(b)`` starting at ``k``, or None."""
    if not _single_letter(gl, script, k, tight) or k + 2 >= len(gl):
        return None
    if gl[k + 1].text != "(" or _gap(gl[k], gl[k + 1]) > tight:
        return None
    for j in range(k + 2, min(k + 3 + TERM_ARGUMENT, len(gl))):
        text = gl[j].text
        if text == ")":
            return j if j > k + 2 and gl[j - 1].text not in _ARGUMENT else None
        if not (text.isdigit() or text in _ARGUMENT or _single_letter(gl, script, j, tight) or script[j]):
            return None
    return None


def _digit(gl: list[Glyph], k: int) -> bool:
    return k < len(gl) and gl[k].text.isdigit()


def _operand(gl: list[Glyph], script: list[bool], k: int, tight: float) -> int | None:
    """End of a plain operand after an operator in a term chain: a number, optionally times a letter (``2x``), or
    one letter; None for a word."""
    j = k
    while j < len(gl) and (gl[j].text.isdigit() or (j > k and gl[j].text == "." and _digit(gl, j + 1))):
        j += 1
    if j < len(gl) and _single_letter(gl, script, j, tight) and (j == k or _gap(gl[j - 1], gl[j]) < tight):
        j += 1
    if j == k:
        return None
    if j < len(gl) and gl[j].text.isalnum() and not script[j] and _gap(gl[j - 1], gl[j]) < tight:
        return None  # the number runs into a word (3rd)
    return j - 1
