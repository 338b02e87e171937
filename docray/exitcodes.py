"""The exit status of ``docray parse``, ``docray run`` and ``docray submit``: what a shell script can test.

The outcome of a run is decided from the status of its inputs' rows (each input has exactly one):
every one ``ok`` exits 0; some ``partial`` or ``error`` exits :attr:`ExitCode.SOME_FAILED`; every one
``error`` exits :attr:`ExitCode.ALL_FAILED`; no input at all exits :attr:`ExitCode.NO_INPUTS` (before
any work starts).  ``--ok-exit-on-errors`` turns the two failure outcomes into 0 for corpus jobs where
error rows are expected (they are still in the documents table and the summary).
"""

from __future__ import annotations

import re
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every input's row is ok
    FAILED = 1  # the run itself failed: an exception, an incomplete output, a cluster job FAILED/STOPPED
    USAGE = 2  # nothing ran: a bad option, a refused flag or language, a malformed manifest
    TIMEOUT = 3  # docray submit --timeout passed; the job goes on
    SOME_FAILED = 4  # some inputs are partial or error rows (the others ok)
    ALL_FAILED = 5  # every input is an error row
    NO_INPUTS = 6  # no input documents were found (missing paths, empty folders, no glob match)
    INTERRUPTED = 130  # Ctrl-C


EXIT_CODES_HELP = (
    "exit status: 0 every input ok; 4 some inputs partial or error; 5 every input an error; 6 no input found "
    "(nothing run); 2 a usage error or a refused option (nothing run); 1 the run failed (or its output is "
    "incomplete); 3 docray submit --timeout passed; 130 interrupted.  --ok-exit-on-errors: 0 instead of 4 and 5."
)


def outcome(status: dict[str, int], *, complete: bool = True, ok_exit_on_errors: bool = False) -> ExitCode:
    """The exit code of a finished run from its inputs' row counts by status (``ok``/``partial``/``error``)."""
    if not complete:
        return ExitCode.FAILED
    total = sum(status.values())
    if total == 0:
        return ExitCode.NO_INPUTS
    failed = total - status.get("ok", 0)
    if failed == 0 or ok_exit_on_errors:
        return ExitCode.OK
    return ExitCode.ALL_FAILED if status.get("error", 0) == total else ExitCode.SOME_FAILED


_EXIT_CODE_IN_MESSAGE = re.compile(r"exit code (\d+)")


def job_exit_code(message: str | None) -> ExitCode:
    """The outcome of a Ray job whose entrypoint (``docray run``) failed, from the job's status message
    ("Job entrypoint command failed with exit code 4, ..."): its own outcome code, else FAILED."""
    found = _EXIT_CODE_IN_MESSAGE.search(message or "")
    if found:
        code = int(found.group(1))
        if code in (ExitCode.SOME_FAILED, ExitCode.ALL_FAILED, ExitCode.NO_INPUTS):  # 2 there: the job failed
            return ExitCode(code)
    return ExitCode.FAILED
