"""Page images as the model operators read them."""

from __future__ import annotations

import io

import numpy as np


def decode_page_image(data: bytes) -> np.ndarray:
    """An encoded page image (PNG, JPEG, ...) as an RGB uint8 array (H, W, 3)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
