"""docray: PDFs and page images to Markdown and MinerU-compatible JSON, as Ray Data pipelines."""

__version__ = "0.1.0"
