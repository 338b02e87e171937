"""Scoring docray outputs against public benchmarks' ground truth (pure functions, no Ray).

* :mod:`docray.evaluation.olmocr_bench`: olmOCR-bench's text tests (present, absent, order, baseline).
* :mod:`docray.evaluation.text_match`: the text normalisation and matching those tests share.

The fuzzy matchers need the ``eval`` extra (rapidfuzz, fuzzysearch).
"""
