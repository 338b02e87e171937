"""Synthetic documents for tests, samples and benchmarks (needs ``pip install 'docray[dev]'``).

See :mod:`docray.testing.pdfs` (good PDFs, images, bad inputs) and :mod:`docray.testing.article`
(the two-column article with its ground truth).
"""
