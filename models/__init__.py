"""Model runtimes behind one Protocol per task, a registry keyed by name, and where weights come from.

* :mod:`docray.models.protocols` — ``LayoutModel``, ``OcrModel``, ``TableModel`` and their result types.
* :mod:`docray.models.registry` — ``create(task, kind, options)``; engines are imported lazily.
* :mod:`docray.models.weights` — weights shipped inside PyPI wheels (the defaults) or a local models
  directory (MinerU's ``models-dir``); nothing downloads.
* :mod:`docray.models.onnx` — onnxruntime sessions: CUDA when present, bounded CPU threads.
"""
