"""Scoring docray outputs against public benchmarks' ground truth (pure functions, no Ray).

* :mod:`docray.evaluation.olmocr_bench`: olmOCR-bench's text tests (present, absent, order, baseline).
* :mod:`docray.evaluation.text_match`: the text normalisation and matching those tests share.
* :mod:`docray.evaluation.omnidocbench`: OmniDocBench end-to-end page metrics (text block, display formula and
  reading-order edit distance; table TEDS and TEDS-structure via :mod:`docray.evaluation.teds`), following the
  protocol of the version that produced the published sample results; GT in ``omnidocbench_gt``, matching in
  ``omnidocbench_match``, normalisation in ``omnidocbench_normalise``, Markdown splitting in ``markdown_parts``.

* :mod:`docray.evaluation.run_outputs`, :mod:`docray.evaluation.run_scores`, :mod:`docray.evaluation.cli_eval`:
  ``docray eval`` — reading a run's outputs (Parquet, MinerU folders, Markdown files), matching them to ground
  truth, scoring and tables; :mod:`docray.evaluation.markdown_structure` compares Markdown structure (docling's
  regression outputs).
* :mod:`docray.evaluation.text_gt`, :mod:`docray.evaluation.table_gt`: users' own labels for ``docray eval``:
  plain-text transcripts (CER, NED) and HTML tables (TEDS, TEDS-S).

The fuzzy matchers need the ``eval`` extra (rapidfuzz, fuzzysearch).
"""
