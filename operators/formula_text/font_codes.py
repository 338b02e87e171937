"""Character codes of math fonts beyond Computer Modern that pdfium cannot map to Unicode: the companion fonts of
txfonts and pxfonts (Times and Palatino math: ``txsyc``/``pxsyc`` negated and extra relations, ``txexa``/``pxexa``
multiple integrals and the brace extension), by their AFM glyph names. ``txsy``/``pxsy`` follow CMSY's layout and
``txex``/``pxex`` CMEX's (see :mod:`.symbols`).
"""

from __future__ import annotations

import re

# fonts laid out like CMSY10 (their unmapped codes and calligraphic capitals read as CMSY's)
CMSY_LIKE = re.compile(r"^(?:CMB?SY\d*|r?[tp]xb?sy)$", re.I)

# txsyc / pxsyc: nequal, nequivalence, nsimilar, napproxequal, npropersubset, npropersuperset, nelement, nowner,
# colonequal, equalcolon, doteq
_SYC: dict[int, tuple[str, str]] = {
    0x11: ("\\doteq", "rel"), 0x2C: ("\\neq", "rel"), 0x2E: ("\\not\\equiv", "rel"), 0x2F: ("\\nsim", "rel"),
    0x30: ("\\not\\approx", "rel"), 0x31: ("\\not\\subset", "rel"), 0x32: ("\\not\\supset", "rel"),
    0x3C: ("\\notin", "rel"), 0x3D: ("\\not\\ni", "rel"), 0x42: ("\\coloneqq", "rel"), 0x43: ("\\eqqcolon", "rel"),
}  # fmt: skip
# txexa / pxexa: dblcontinteg (text, display), bracehext, iinteg, iiinteg (text, display)
_EXA: dict[int, tuple[str, str]] = {
    0x08: ("\\oiint", "bigop"), 0x09: ("\\oiint", "bigop"), 0x20: ("\\braceext", "ord"),
    0x21: ("\\iint", "bigop"), 0x22: ("\\iint", "bigop"), 0x23: ("\\iiint", "bigop"), 0x24: ("\\iiint", "bigop"),
}  # fmt: skip
COMPANIONS: tuple[tuple[re.Pattern[str], dict[int, tuple[str, str]]], ...] = (
    (re.compile(r"^[tp]xsyc$", re.I), _SYC),
    (re.compile(r"^[tp]xexa$", re.I), _EXA),
)


def companion_code(font: str, code: int) -> tuple[str, str] | None:
    """(LaTeX, kind) of an unmapped ``code`` of a txfonts/pxfonts companion font; ("", "") for a code it lacks;
    None for other fonts."""
    for pattern, table in COMPANIONS:
        if pattern.match(font):
            return table.get(code, ("", ""))
    return None
