"""Synthetic documents for tests, samples and benchmarks (needs ``pip install 'docray[dev]'``).

See :mod:`docray.testing.pdfs` (good PDFs, images, bad inputs), :mod:`docray.testing.article`
(the two-column article with its ground truth) and :mod:`docray.testing.corpus` (thousands of small
distinct PDFs, some corrupt, for scale tests and benchmarks).
"""
