"""A document's Markdown as an HTML page for the web page: math as MathML (Chromium renders it natively),
images inlined as data URIs, tables kept.  The page shows it in a sandboxed iframe (no scripts run there)."""

from __future__ import annotations

import html
import re

DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\$)")
PAGE_STYLE = ("body{font-family:system-ui,sans-serif;line-height:1.5;margin:1em;}table{border-collapse:collapse}"
              "td,th{border:1px solid #999;padding:2px 6px}img{max-width:100%}math[display=block]{margin:.6em 0}")  # fmt: skip


def _mathml(latex: str, display: bool) -> str:
    import latex2mathml.converter

    try:
        return latex2mathml.converter.convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # a formula the converter cannot read stays visible as its source
        return f'<code class="latex">{html.escape(latex)}</code>'


def markdown_page(markdown: str, images: dict[str, str]) -> str:
    """A whole HTML document for ``markdown``; ``images`` maps ``images/<file>`` paths to data URIs."""
    from markdown_it import MarkdownIt

    formulas: list[str] = []

    def hold(match: re.Match, display: bool) -> str:
        formulas.append(_mathml(match.group(1), display))
        return f"DOCRAYMATH{len(formulas) - 1}X"

    text = DISPLAY_MATH.sub(lambda m: hold(m, True), markdown)
    text = INLINE_MATH.sub(lambda m: hold(m, False), text)
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    body = re.sub(r"DOCRAYMATH(\d+)X", lambda m: formulas[int(m.group(1))], body)
    for path, uri in images.items():
        body = body.replace(f'src="{html.escape(path)}"', f'src="{uri}"')
    return f"<!doctype html><html><head><meta charset=\"utf-8\"><style>{PAGE_STYLE}</style></head><body>{body}</body></html>"
