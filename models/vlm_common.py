"""What the VLM engines share: images as data URLs, and each generated token's text.

Engines return per-token log-probabilities whose texts join exactly to the answer; byte-level tokenizers split
UTF-8 characters across tokens, so a token's text comes from incremental detokenisation (:func:`token_pieces`).
"""

from __future__ import annotations

import base64
from typing import Callable, Sequence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
DETOKENIZE_CONTEXT = 4  # tokens decoded before a new token, so tokenizers that strip leading spaces decode right


def image_mime(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` from the bytes' magic number; None for anything else."""
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    return None


def data_url(image: bytes) -> str:
    """The image as a base64 data URL; ``ValueError`` unless it is a PNG or a JPEG."""
    mime = image_mime(image)
    if mime is None:
        raise ValueError(f"the request's image is not a PNG or JPEG (starts with {image[:8]!r})")
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def token_pieces(decode: Callable[[list[int]], str], ids: Sequence[int], text: str) -> list[str]:
    """Each token's text, such that ``"".join(pieces) == text`` (``text`` is ``decode(ids)``).

    A token's text is what decoding it adds after the tokens already emitted (with a few tokens of
    context).  While the decoded tail is an incomplete UTF-8 character (``"\\ufffd"``) or does not continue
    ``text``, tokens wait with empty text; the token that completes it carries the text, and the last
    token carries whatever remains.
    """
    pieces: list[str] = []
    pos = 0  # characters of text emitted so far
    start = 0  # first token whose text is not emitted yet
    for i in range(len(ids)):
        if i == len(ids) - 1:
            pieces.extend([""] * (i - start))
            pieces.append(text[pos:])
            break
        window = max(0, start - DETOKENIZE_CONTEXT)
        before = decode(list(ids[window:start]))
        after = decode(list(ids[window : i + 1]))
        new = after[len(before) :] if after.startswith(before) else ""
        if new and not new.endswith("\ufffd") and text.startswith(new, pos):
            pieces.extend([""] * (i - start))
            pieces.append(new)
            pos += len(new)
            start = i + 1
    return pieces


def cut_at_stop(text: str, pieces: list[str], stops: Sequence[str]) -> tuple[str, list[str], bool]:
    """``text`` cut before the first stop string, the token pieces cut to match, and whether one was found."""
    cuts = [at for at in (text.find(s) for s in stops if s) if at >= 0]
    if not cuts:
        return text, pieces, False
    cut = min(cuts)
    kept: list[str] = []
    pos = 0
    for piece in pieces:
        if pos >= cut:
            break
        kept.append(piece[: cut - pos])
        pos += len(piece)
    return text[:cut], kept, True
