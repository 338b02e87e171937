"""Functions for :func:`docray.operators.isolation.isolated_map` tests that hang, crash or raise on demand.

They live in the package (not in a test module) so that the fork server can import them once: a test
module on pytest's ``sys.path`` only would be imported again by every child.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Iterator

from docray.operators.base import DocrayError
from docray.schema import ErrorCode


def behave(item: tuple[str, object]) -> Iterator[str]:
    """What a child does with an item.

    ``("chunks", n)``: yields ``"n:0"`` .. ``"n:{n-1}"``; ``("hang", _)``: yields once, then sleeps for an hour;
    ``("segv", _)``: yields once, then dies of SIGSEGV; ``("raise", message)``: yields once, then raises
    ``ValueError(message)``; ``("docray", message)``: raises a :class:`DocrayError` (which does not pickle).
    """
    action, arg = item
    if action == "chunks":
        for i in range(int(arg)):  # type: ignore[call-overload]
            yield f"{arg}:{i}"
    elif action == "hang":
        yield "started"
        time.sleep(3600)
    elif action == "segv":
        yield "before the crash"
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "raise":
        yield "before the error"
        raise ValueError(arg)
    elif action == "docray":
        raise DocrayError(ErrorCode.CORRUPT, str(arg))
    else:
        raise KeyError(action)
