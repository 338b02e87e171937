"""docray's user config file: one JSON file, in MinerU's ``magic-pdf.json`` spirit.

The file is, in order: the path in the ``DOCRAY_CONFIG`` environment variable, ``./docray.json``
(the current directory), or ``~/.config/docray/config.json``.  Keys docray reads today:

* ``"models-dir"`` — the local models directory (:mod:`docray.models.weights`);
* ``"bucket_info"`` — S3 credentials and endpoint per bucket (:mod:`docray.storage`);
* ``"latex-delimiter-config"`` — MinerU's formula delimiters, ``{"display": {"left": "$$", "right": "$$"},
  "inline": {"left": "$", "right": "$"}}`` (:class:`docray.operators.assemble.AssembleConfig`; read when a
  pipeline is built).

The environment and the file are read each time these functions are called, never at import
time, so a Ray worker sees the file its own environment names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFIG_ENV = "DOCRAY_CONFIG"
LOCAL_CONFIG = "docray.json"


def config_file() -> Path | None:
    """The config file in effect (see the module docstring), or None when there is none."""
    candidates = [os.environ.get(CONFIG_ENV), LOCAL_CONFIG, str(Path.home() / ".config" / "docray" / "config.json")]
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().is_file():
            return Path(candidate).expanduser()
    return None


def load_config() -> dict[str, Any]:
    """The parsed config file, or ``{}`` without one; ``ValueError`` when it is not a JSON object."""
    path = config_file()
    if path is None:
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"docray config {path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"docray config {path} must hold a JSON object, not {type(config).__name__}")
    return config
