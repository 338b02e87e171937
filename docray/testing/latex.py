"""Compile LaTeX to PDF with the machine's pdflatex (Debian's texlive; ``make install`` installs it).

Tests and benchmarks build their own formula documents with this, so the ground truth is the LaTeX source.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

DEFAULT_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath,amssymb}
\usepackage[margin=2.5cm]{geometry}
\pagestyle{empty}
"""
INSTALL_HINT = "pdflatex not found: install Debian's texlive-latex-base texlive-latex-recommended texlive-fonts-recommended (make install does)"
COMPILE_TIMEOUT_S = 120


class LatexError(RuntimeError):
    """pdflatex failed; the message holds the end of its log."""


def pdflatex() -> str | None:
    """The pdflatex executable, or None when texlive is not installed."""
    return shutil.which("pdflatex")


def compile_latex(body: str, preamble: str = DEFAULT_PREAMBLE, *, workdir: Path | None = None) -> bytes:
    r"""PDF bytes of ``preamble`` + ``\begin{document}`` ``body`` ``\end{document}``."""
    exe = pdflatex()
    if exe is None:
        raise LatexError(INSTALL_HINT)
    source = f"{preamble}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folder = Path(tmp)
        (folder / "doc.tex").write_text(source, encoding="utf-8")
        run = subprocess.run(
            [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
            cwd=folder,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=COMPILE_TIMEOUT_S,
        )
        pdf = folder / "doc.pdf"
        if run.returncode != 0 or not pdf.exists():
            raise LatexError(f"pdflatex failed (exit {run.returncode}):\n{run.stdout[-3000:]}")
        return pdf.read_bytes()
