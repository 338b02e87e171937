"""Glyph → LaTeX symbol tables: by Unicode (Greek, operators, relations, arrows, letterlike and math alphanumeric
letters), by font (TeX's CMMI/CMR/CMSY/CMBX/MSBM/EUFM/RSFS... families give the math alphabet), and by character
code for CMEX10, whose glyphs pdfium cannot map (big operators, big and extensible delimiters, radicals, wide accents).

:func:`symbol_of` classifies one glyph as a :class:`Sym`: its LaTeX, its kind (how layout treats it) and, for
letters, its math alphabet (``mathbb``, ``mathcal``...; ``mathrm`` for upright letters that may form operator names).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from docray.operators.formula_text.font_codes import CMSY_LIKE, companion_code

REPLACEMENT = "\ufffd"

# kinds: ord, bin, rel, open, close, fence (| and ‖, either side), punct, bigop, radical, accent, prime,
# piece (part of an extensible delimiter or radical), not (the slash that negates a relation), mapsto (the bar of ↦)


@dataclass(frozen=True, slots=True)
class Sym:
    tex: str  # LaTeX of the symbol (a letter without its alphabet command)
    kind: str = "ord"
    style: str = ""  # math alphabet: "" (math italic / default), mathrm, mathbf, mathbb, mathcal, mathfrak, ...
    char: str = ""  # for delimiters and pieces: the delimiter it draws, e.g. "(" or "{"; for pieces also the role
    known: bool = True  # False when the glyph could not be identified


_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho varsigma sigma tau "
    "upsilon phi chi psi omega"
).split()
UNICODE: dict[str, tuple[str, str]] = {}
for _i, _name in enumerate(_GREEK):
    if _name not in ("omicron", "varsigma"):
        UNICODE[chr(0x3B1 + _i)] = ("\\" + _name, "ord")
# capitals drawn like Latin ones are those Latin letters in LaTeX
for _i, _name in enumerate("A B Gamma Delta E Z H Theta I K Lambda M N Xi O Pi P".split()):
    UNICODE[chr(0x391 + _i)] = (_name if len(_name) == 1 else "\\" + _name, "ord")
UNICODE.update({
    "Σ": ("\\Sigma", "ord"), "Υ": ("\\Upsilon", "ord"), "Φ": ("\\Phi", "ord"), "Ψ": ("\\Psi", "ord"), "Ω": ("\\Omega", "ord"),
    "Τ": ("T", "ord"), "Χ": ("X", "ord"), "ο": ("o", "ord"),
    "ε": ("\\varepsilon", "ord"), "ϵ": ("\\epsilon", "ord"), "φ": ("\\varphi", "ord"), "ϕ": ("\\phi", "ord"),
    "ϑ": ("\\vartheta", "ord"), "ϖ": ("\\varpi", "ord"), "ϱ": ("\\varrho", "ord"), "ς": ("\\varsigma", "ord"),
    "ϰ": ("\\varkappa", "ord"), "µ": ("\\mu", "ord"), "∆": ("\\Delta", "ord"), "\u2126": ("\\Omega", "ord"),
    "ℓ": ("\\ell", "ord"), "ℏ": ("\\hbar", "ord"), "ħ": ("\\hbar", "ord"), "ı": ("\\imath", "ord"), "ȷ": ("\\jmath", "ord"),
    "∂": ("\\partial", "ord"), "∇": ("\\nabla", "ord"), "∞": ("\\infty", "ord"), "∅": ("\\emptyset", "ord"),
    "∀": ("\\forall", "ord"), "∃": ("\\exists", "ord"), "∄": ("\\nexists", "ord"), "¬": ("\\neg", "ord"),
    "ℵ": ("\\aleph", "ord"), "℘": ("\\wp", "ord"), "ℜ": ("\\Re", "ord"), "ℑ": ("\\Im", "ord"), "♯": ("\\sharp", "ord"),
    "♭": ("\\flat", "ord"), "♮": ("\\natural", "ord"), "△": ("\\triangle", "ord"), "□": ("\\square", "ord"),
    "∠": ("\\angle", "ord"), "⊤": ("\\top", "ord"), "′": ("\\prime", "prime"), "″": ("\\prime\\prime", "prime"),
    "…": ("\\ldots", "ord"), "⋯": ("\\cdots", "ord"), "⋮": ("\\vdots", "ord"), "⋱": ("\\ddots", "ord"),
    "°": ("^\\circ", "ord"), "†": ("\\dagger", "bin"), "‡": ("\\ddagger", "bin"), "§": ("\\S", "ord"),
    "+": ("+", "bin"), "−": ("-", "bin"), "-": ("-", "bin"), "±": ("\\pm", "bin"), "∓": ("\\mp", "bin"),
    "×": ("\\times", "bin"), "÷": ("\\div", "bin"), "·": ("\\cdot", "bin"), "⋅": ("\\cdot", "bin"), "∗": ("*", "bin"),
    "*": ("*", "bin"), "∘": ("\\circ", "bin"), "◦": ("\\circ", "bin"), "•": ("\\bullet", "bin"), "∙": ("\\bullet", "bin"),
    "⋆": ("\\star", "bin"), "∩": ("\\cap", "bin"), "∪": ("\\cup", "bin"), "⊎": ("\\uplus", "bin"), "⊓": ("\\sqcap", "bin"),
    "⊔": ("\\sqcup", "bin"), "∨": ("\\vee", "bin"), "∧": ("\\wedge", "bin"), "⊕": ("\\oplus", "bin"),
    "⊖": ("\\ominus", "bin"), "⊗": ("\\otimes", "bin"), "⊘": ("\\oslash", "bin"), "⊙": ("\\odot", "bin"),
    "∖": ("\\setminus", "bin"), "≀": ("\\wr", "bin"), "⋄": ("\\diamond", "bin"), "◃": ("\\triangleleft", "bin"),
    "▹": ("\\triangleright", "bin"), "⊲": ("\\lhd", "bin"), "⊳": ("\\rhd", "bin"), "⊠": ("\\boxtimes", "bin"),
    "⊞": ("\\boxplus", "bin"), "⊡": ("\\boxdot", "bin"), "⋉": ("\\ltimes", "bin"), "⋊": ("\\rtimes", "bin"),
    "=": ("=", "rel"), "<": ("<", "rel"), ">": (">", "rel"), "≤": ("\\leq", "rel"), "≥": ("\\geq", "rel"),
    "≦": ("\\leqq", "rel"), "≧": ("\\geqq", "rel"), "⩽": ("\\leqslant", "rel"), "⩾": ("\\geqslant", "rel"),
    "≠": ("\\neq", "rel"), "≡": ("\\equiv", "rel"), "≈": ("\\approx", "rel"), "≅": ("\\cong", "rel"),
    "∼": ("\\sim", "rel"), "≃": ("\\simeq", "rel"), "≍": ("\\asymp", "rel"), "∝": ("\\propto", "rel"),
    "≪": ("\\ll", "rel"), "≫": ("\\gg", "rel"), "≺": ("\\prec", "rel"), "≻": ("\\succ", "rel"), "⪯": ("\\preceq", "rel"),
    "⪰": ("\\succeq", "rel"), "⊂": ("\\subset", "rel"), "⊃": ("\\supset", "rel"), "⊆": ("\\subseteq", "rel"),
    "⊇": ("\\supseteq", "rel"), "⊊": ("\\subsetneq", "rel"), "⊋": ("\\supsetneq", "rel"), "⊏": ("\\sqsubset", "rel"),
    "⊐": ("\\sqsupset", "rel"), "⊑": ("\\sqsubseteq", "rel"), "⊒": ("\\sqsupseteq", "rel"), "∈": ("\\in", "rel"),
    "∋": ("\\ni", "rel"), "∉": ("\\notin", "rel"), "⊢": ("\\vdash", "rel"), "⊣": ("\\dashv", "rel"), "⊨": ("\\models", "rel"),
    "⊥": ("\\perp", "rel"), "∣": ("\\mid", "rel"), "∥": ("\\|", "fence"), "‖": ("\\|", "fence"), "|": ("|", "fence"),
    "≐": ("\\doteq", "rel"), "≜": ("\\triangleq", "rel"), "≔": (":=", "rel"), "⌣": ("\\smile", "rel"), "⌢": ("\\frown", "rel"),
    "∴": ("\\therefore", "rel"), "∵": ("\\because", "rel"), "≲": ("\\lesssim", "rel"), "≳": ("\\gtrsim", "rel"),
    "∦": ("\\nparallel", "rel"), "≁": ("\\nsim", "rel"), "≰": ("\\nleq", "rel"), "≱": ("\\ngeq", "rel"),
    "⊈": ("\\nsubseteq", "rel"), "∤": ("\\nmid", "rel"), "≮": ("\\nless", "rel"), "≯": ("\\ngtr", "rel"),
    "←": ("\\leftarrow", "rel"), "→": ("\\to", "rel"), "↑": ("\\uparrow", "rel"), "↓": ("\\downarrow", "rel"),
    "↔": ("\\leftrightarrow", "rel"), "↕": ("\\updownarrow", "rel"), "⇐": ("\\Leftarrow", "rel"), "⇒": ("\\Rightarrow", "rel"),
    "⇑": ("\\Uparrow", "rel"), "⇓": ("\\Downarrow", "rel"), "⇔": ("\\Leftrightarrow", "rel"), "↦": ("\\mapsto", "rel"),
    "⟼": ("\\longmapsto", "rel"), "⟵": ("\\longleftarrow", "rel"), "⟶": ("\\longrightarrow", "rel"),
    "⟷": ("\\longleftrightarrow", "rel"), "⟸": ("\\Longleftarrow", "rel"), "⟹": ("\\Longrightarrow", "rel"),
    "⟺": ("\\Longleftrightarrow", "rel"), "↗": ("\\nearrow", "rel"), "↘": ("\\searrow", "rel"), "↙": ("\\swarrow", "rel"),
    "↖": ("\\nwarrow", "rel"), "↪": ("\\hookrightarrow", "rel"), "↩": ("\\hookleftarrow", "rel"),
    "⇀": ("\\rightharpoonup", "rel"), "↼": ("\\leftharpoonup", "rel"), "⇌": ("\\rightleftharpoons", "rel"),
    "⇝": ("\\leadsto", "rel"), "↠": ("\\twoheadrightarrow", "rel"), "⇄": ("\\rightleftarrows", "rel"),
    "(": ("(", "open"), ")": (")", "close"), "[": ("[", "open"), "]": ("]", "close"), "{": ("\\{", "open"),
    "}": ("\\}", "close"), "⟨": ("\\langle", "open"), "⟩": ("\\rangle", "close"), "〈": ("\\langle", "open"),
    "〉": ("\\rangle", "close"), "⌊": ("\\lfloor", "open"), "⌋": ("\\rfloor", "close"), "⌈": ("\\lceil", "open"),
    "⌉": ("\\rceil", "close"), "⟦": ("\\llbracket", "open"), "⟧": ("\\rrbracket", "close"),
    ",": (",", "punct"), ";": (";", "punct"), ":": (":", "rel"), ".": (".", "ord"), "!": ("!", "ord"), "?": ("?", "ord"),
    "/": ("/", "ord"), "\\": ("\\backslash", "ord"), "'": ("\\prime", "prime"), "&": ("\\&", "ord"), "%": ("\\%", "ord"),
    "#": ("\\#", "ord"), "$": ("\\$", "ord"), "_": ("\\_", "ord"), "@": ("@", "ord"),
    "∑": ("\\sum", "bigop"), "∏": ("\\prod", "bigop"), "∐": ("\\coprod", "bigop"), "∫": ("\\int", "bigop"),
    "∬": ("\\iint", "bigop"), "∭": ("\\iiint", "bigop"), "∮": ("\\oint", "bigop"), "⋃": ("\\bigcup", "bigop"),
    "⋂": ("\\bigcap", "bigop"), "⋁": ("\\bigvee", "bigop"), "⋀": ("\\bigwedge", "bigop"), "⨁": ("\\bigoplus", "bigop"),
    "⨂": ("\\bigotimes", "bigop"), "⨀": ("\\bigodot", "bigop"), "⨄": ("\\biguplus", "bigop"), "⨆": ("\\bigsqcup", "bigop"),
    "√": ("\\sqrt", "radical"), "∛": ("\\sqrt", "radical"),
    "ˆ": ("\\hat", "accent"), "^": ("\\hat", "accent"), "̂": ("\\hat", "accent"), "˜": ("\\tilde", "accent"),
    "~": ("\\tilde", "accent"), "̃": ("\\tilde", "accent"), "¯": ("\\bar", "accent"), "̄": ("\\bar", "accent"),
    "ˉ": ("\\bar", "accent"), "˙": ("\\dot", "accent"), "̇": ("\\dot", "accent"), "¨": ("\\ddot", "accent"),
    "̈": ("\\ddot", "accent"), "´": ("\\acute", "accent"), "́": ("\\acute", "accent"), "`": ("\\grave", "accent"),
    "̀": ("\\grave", "accent"), "˘": ("\\breve", "accent"), "̆": ("\\breve", "accent"), "ˇ": ("\\check", "accent"),
    "̌": ("\\check", "accent"), "⃗": ("\\vec", "accent"), "→⃗": ("\\vec", "accent"), "˚": ("\\mathring", "accent"),
    "̊": ("\\mathring", "accent"), "̸": ("\\not", "not"),
})  # fmt: skip

# CMEX10 character codes (TeX's cmex layout); "piece" roles: top, mid, bot, ext
_CMEX_DELIMS = "()[]⌊⌋⌈⌉{}⟨⟩|‖/\\"
CMEX: dict[int, Sym] = {}
for _base in (0x00, 0x12, 0x20):  # big, bigg, Bigg ("Big" parens are 0x10 and 0x11, its other delimiters 0x68...)
    for _j, _ch in enumerate("()[]⌊⌋⌈⌉{}⟨⟩"):
        CMEX[_base + _j] = Sym(_ch, "delim", char=_ch)
CMEX[0x10], CMEX[0x11] = Sym("(", "delim", char="("), Sym(")", "delim", char=")")
for _j, _ch in enumerate("[]⌊⌋⌈⌉{}"):
    CMEX[0x68 + _j] = Sym(_ch, "delim", char=_ch)
CMEX.update({
    0x0C: Sym("|", "piece", char="|ext"), 0x0D: Sym("\\|", "piece", char="‖ext"), 0x77: Sym("\\|", "piece", char="‖ext"),
    0x0E: Sym("/", "ord"), 0x0F: Sym("\\backslash", "ord"), 0x1E: Sym("/", "ord"), 0x1F: Sym("\\backslash", "ord"), 0x2C: Sym("/", "ord"), 0x2D: Sym("\\backslash", "ord"),
    0x2E: Sym("/", "ord"), 0x2F: Sym("\\backslash", "ord"), 0x44: Sym("⟨", "delim", char="⟨"), 0x45: Sym("⟩", "delim", char="⟩"),
    0x30: Sym("(", "piece", char="(top"), 0x31: Sym(")", "piece", char=")top"), 0x32: Sym("[", "piece", char="[top"),
    0x33: Sym("]", "piece", char="]top"), 0x34: Sym("[", "piece", char="[bot"), 0x35: Sym("]", "piece", char="]bot"),
    0x36: Sym("[", "piece", char="[ext"), 0x37: Sym("]", "piece", char="]ext"), 0x38: Sym("{", "piece", char="{top"),
    0x39: Sym("}", "piece", char="}top"), 0x3A: Sym("{", "piece", char="{bot"), 0x3B: Sym("}", "piece", char="}bot"),
    0x3C: Sym("{", "piece", char="{mid"), 0x3D: Sym("}", "piece", char="}mid"), 0x3E: Sym("{", "piece", char="{ext"),
    0x40: Sym("(", "piece", char="(bot"), 0x41: Sym(")", "piece", char=")bot"), 0x42: Sym("(", "piece", char="(ext"),
    0x43: Sym(")", "piece", char=")ext"), 0x3F: Sym("|", "piece", char="|ext"),
    0x46: Sym("\\bigsqcup", "bigop"), 0x47: Sym("\\bigsqcup", "bigop"), 0x48: Sym("\\oint", "bigop"),
    0x49: Sym("\\oint", "bigop"), 0x4A: Sym("\\bigodot", "bigop"), 0x4B: Sym("\\bigodot", "bigop"),
    0x4C: Sym("\\bigoplus", "bigop"), 0x4D: Sym("\\bigoplus", "bigop"), 0x4E: Sym("\\bigotimes", "bigop"),
    0x4F: Sym("\\bigotimes", "bigop"), 0x50: Sym("\\sum", "bigop"), 0x51: Sym("\\prod", "bigop"), 0x52: Sym("\\int", "bigop"),
    0x53: Sym("\\bigcup", "bigop"), 0x54: Sym("\\bigcap", "bigop"), 0x55: Sym("\\biguplus", "bigop"),
    0x56: Sym("\\bigwedge", "bigop"), 0x57: Sym("\\bigvee", "bigop"), 0x58: Sym("\\sum", "bigop"), 0x59: Sym("\\prod", "bigop"),
    0x5A: Sym("\\int", "bigop"), 0x5B: Sym("\\bigcup", "bigop"), 0x5C: Sym("\\bigcap", "bigop"),
    0x5D: Sym("\\biguplus", "bigop"), 0x5E: Sym("\\bigwedge", "bigop"), 0x5F: Sym("\\bigvee", "bigop"),
    0x60: Sym("\\coprod", "bigop"), 0x61: Sym("\\coprod", "bigop"), 0x62: Sym("\\widehat", "accent"),
    0x63: Sym("\\widehat", "accent"), 0x64: Sym("\\widehat", "accent"), 0x65: Sym("\\widetilde", "accent"),
    0x66: Sym("\\widetilde", "accent"), 0x67: Sym("\\widetilde", "accent"),
    0x70: Sym("\\sqrt", "radical"), 0x71: Sym("\\sqrt", "radical"), 0x72: Sym("\\sqrt", "radical"),
    0x73: Sym("\\sqrt", "radical"), 0x74: Sym("\\sqrt", "piece", char="√bot"), 0x75: Sym("\\sqrt", "piece", char="√ext"),
    0x76: Sym("\\sqrt", "piece", char="√top"), 0x78: Sym("\\uparrow", "piece", char="↑top"),
    0x79: Sym("\\downarrow", "piece", char="↓bot"), 0x7E: Sym("\\Uparrow", "piece", char="⇑top"),
    0x7F: Sym("\\Downarrow", "piece", char="⇓bot"), 0x7A: Sym("\\bracetip"), 0x7B: Sym("\\bracetip"),
    0x7C: Sym("\\bracetip"), 0x7D: Sym("\\bracetip"),
})  # fmt: skip
# Adobe private-use code points pdfium gives some extension glyphs (from their glyph names)
PRIVATE: dict[str, Sym] = {
    "\uf8eb": Sym("(", "piece", char="(top"), "\uf8ec": Sym("(", "piece", char="(ext"), "\uf8ed": Sym("(", "piece", char="(bot"),
    "\uf8f6": Sym(")", "piece", char=")top"), "\uf8f7": Sym(")", "piece", char=")ext"), "\uf8f8": Sym(")", "piece", char=")bot"),
    "\uf8ee": Sym("[", "piece", char="[top"), "\uf8ef": Sym("[", "piece", char="[ext"), "\uf8f0": Sym("[", "piece", char="[bot"),
    "\uf8f9": Sym("]", "piece", char="]top"), "\uf8fa": Sym("]", "piece", char="]ext"), "\uf8fb": Sym("]", "piece", char="]bot"),
    "\uf8f1": Sym("{", "piece", char="{top"), "\uf8f2": Sym("{", "piece", char="{mid"), "\uf8f3": Sym("{", "piece", char="{bot"),
    "\uf8f4": Sym("{", "piece", char="?ext"), "\uf8fc": Sym("}", "piece", char="}top"), "\uf8fd": Sym("}", "piece", char="}mid"),
    "\uf8fe": Sym("}", "piece", char="}bot"), "\uf8e5": Sym("\\sqrt", "piece", char="√ext"),
    "\uf8e6": Sym("|", "piece", char="|ext"), "\uf8f5": Sym("\\int", "piece", char="∫ext"),
}  # fmt: skip
# CMSY10 codes pdfium leaves unmapped
CMSY: dict[int, Sym] = {0x37: Sym("\\mapsto", "mapsto"), 0x36: Sym("\\not", "not")}

DELIM_TEX = {"(": "(", ")": ")", "[": "[", "]": "]", "{": "\\{", "}": "\\}", "⟨": "\\langle", "⟩": "\\rangle",
             "⌊": "\\lfloor", "⌋": "\\rfloor", "⌈": "\\lceil", "⌉": "\\rceil", "|": "|", "‖": "\\|"}  # fmt: skip
OPENING = set("([{⟨⌊⌈")
CLOSING = set(")]}⟩⌋⌉")
DELIM_OF_TEX = {"\\{": "{", "\\}": "}", "\\langle": "⟨", "\\rangle": "⟩", "\\lfloor": "⌊", "\\rfloor": "⌋",
                "\\lceil": "⌈", "\\rceil": "⌉", "\\|": "‖", "|": "|", "(": "(", ")": ")", "[": "[", "]": "]"}  # fmt: skip

_ALPHABETS = (  # font-name pattern → math alphabet of its letters
    (re.compile(r"^(?:MSBM|BBOLD|DSROM|BBM)", re.I), "mathbb"),
    (re.compile(r"^EU[FR][MB]|^EUF|Fraktur", re.I), "mathfrak"),
    (re.compile(r"^RSFS|^EUS|Script", re.I), "mathscr"),
    (CMSY_LIKE, "mathcal"),
    (re.compile(r"^CMMIB|^CMBMI", re.I), "boldsymbol"),
    (re.compile(r"^CMMI", re.I), ""),
    (re.compile(r"^CMBX|^CMB\d", re.I), "mathbf"),
    (re.compile(r"^CMSS|^NimbusSan|Helvetica|Arial|^URWGothic|Sans", re.I), "mathsf"),
    (re.compile(r"^CMTT|^[tp]xtt|^NimbusMon|Courier|Mono", re.I), "mathtt"),
    (re.compile(r"^CMTI|^CMMI", re.I), ""),
    (re.compile(r"^CM[RU]|^CMDUNH|^CMFIB", re.I), "mathrm"),
)
_ITALIC_NAME = re.compile(r"Italic|Oblique|Ital\b|-It\b|-I$|MathItalic", re.I)
_MATH_STYLE_WORDS = (
    ("DOUBLE-STRUCK", "mathbb"), ("FRAKTUR", "mathfrak"), ("BLACK-LETTER", "mathfrak"), ("SCRIPT", "mathcal"),
    ("BOLD ITALIC", "boldsymbol"), ("BOLD", "mathbf"), ("SANS-SERIF", "mathsf"), ("MONOSPACE", "mathtt"), ("ITALIC", ""),
)  # fmt: skip


def font_alphabet(font: str, is_math_font: bool) -> str:
    """The math alphabet a font's Latin letters stand for ("" = math italic)."""
    for pattern, style in _ALPHABETS:
        if pattern.search(font):
            return style
    if is_math_font or _ITALIC_NAME.search(font):
        return ""
    return "mathrm"  # an upright text font: operator names, text


def _letter(ch: str, style: str) -> Sym:
    return Sym(ch, "ord", style)


def symbol_of(text: str, font: str, code: int, is_math_font: bool) -> Sym:
    """The symbol one glyph draws (see the module docstring)."""
    upper = font.upper()
    if text == REPLACEMENT:
        companion = companion_code(font, code)
        if companion is not None:
            return Sym(*companion) if companion[0] else Sym("?", "ord", known=False)
        if upper.startswith("CMEX") or "EX" in upper[:6]:
            return CMEX.get(code, Sym("?", "ord", known=False))
        if CMSY_LIKE.match(font) and code in CMSY:
            return CMSY[code]
        return Sym("?", "ord", known=False)
    if text in PRIVATE:
        return PRIVATE[text]
    if upper.startswith("CMEX") and text in "()[]{}|":
        return Sym(text, "delim", char=text)
    if "a" <= text.lower() <= "z" and len(text) == 1:
        return _letter(text, font_alphabet(font, is_math_font))
    code_point = ord(text[0]) if text else 0
    if (0x1D400 <= code_point <= 0x1D7FF or 0x2100 <= code_point <= 0x214F) and text not in UNICODE:
        styled = _math_alphanumeric(text)
        if styled is not None:
            return styled
    if text in UNICODE:
        tex, kind = UNICODE[text]
        if kind == "ord" and len(tex) == 1 and tex.isalpha():
            return _letter(tex, font_alphabet(font, is_math_font))
        if (
            tex.startswith("\\")
            and tex[1:].isalpha()
            and tex[1].isupper()
            and "mathbf" == font_alphabet(font, is_math_font)
        ):
            return Sym(tex, kind, "mathbf")
        return Sym(tex, kind)
    if text.isdigit() and len(text) == 1:
        style = font_alphabet(font, is_math_font)
        return Sym(text, "ord", "mathbf" if style == "mathbf" else "")
    if text.isalpha():  # other scripts' letters: KaTeX takes many Unicode letters as they are
        return Sym(text, "ord", "", known=unicodedata.category(text[0]).startswith("L"))
    return Sym(text, "ord", known=False)


def _math_alphanumeric(text: str) -> Sym | None:
    base = unicodedata.normalize("NFKC", text)
    if len(base) != 1:
        return None
    name = unicodedata.name(text, "")
    style = ""
    for word, alphabet in _MATH_STYLE_WORDS:
        if word in name:
            style = alphabet
            break
    if base in UNICODE:  # Greek, nabla, partial
        tex, kind = UNICODE[base]
        return Sym(tex, kind, "boldsymbol" if style in ("mathbf", "boldsymbol") else "")
    if base.isalnum():
        if base.isdigit() and style not in ("mathbf", "mathbb", "mathsf", "mathtt"):
            style = ""
        return Sym(base, "ord", style)
    return None


def styled(tex: str, style: str) -> str:
    """``tex`` wrapped in its math alphabet command."""
    return f"\\{style}{{{tex}}}" if style else tex
