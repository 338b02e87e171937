"""Model runtimes behind one Protocol per task (layout, OCR, table, formula, VLM) and where weights come from.

The text-layer foundation uses no model; the model-stages issue fills this package (DESIGN.md §6).
"""
