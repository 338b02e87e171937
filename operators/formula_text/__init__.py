"""Formulas from the text layer: rebuild LaTeX from a formula region's glyphs and rules (born-digital PDFs)."""

from docray.operators.formula_text.reconstruct import Reconstruction, reconstruct_latex

__all__ = ["Reconstruction", "reconstruct_latex"]
