"""Run a generator function over items in a child process, with a deadline on progress.

pdfium is C: a page that hangs cannot be interrupted from Python, and a segfault kills the whole
process (in a Ray worker, the worker and every batch it holds).  :func:`isolated_map` runs
``fn(item)`` for each item in one child process per call, streams back the chunks ``fn`` yields,
and turns a child that makes no progress within ``timeout_s`` (timeout) or dies (crash) into an
:class:`IsolationFailure` for that item; it then starts a fresh child for the remaining items.

Every item produces zero or more :class:`Chunk` events followed by exactly one terminal event:
:class:`Completed` (``fn`` returned), :class:`Raised` (``fn`` raised an ordinary exception, which
is not a crash) or :class:`IsolationFailure`.  :func:`direct_map` produces the same events in this
process, without isolation, so callers have one code path for both.

Children start from a ``forkserver`` (a single-threaded server process started once per parent
process, with ``fn``'s module imported), which is safe in multi-threaded parents such as Ray
workers and makes a child cost milliseconds rather than an interpreter start.  The server outlives
the call; it exits with the parent, and on Linux its children die with it (``PR_SET_PDEATHSIG``).
``fn`` must be a module-level function and items and chunks must pickle.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import pickle
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing.connection import Connection, wait
from typing import Callable, Generic, Iterable, Iterator, Sequence, TypeVar, Union

I = TypeVar("I")  # noqa: E741 - an item
T = TypeVar("T")  # a chunk

_READY, _CHUNK, _DONE, _RAISED = "ready", "chunk", "done", "raised"
_STOP_GRACE_S = 5.0  # how long an idle child gets to exit after being asked to
_PR_SET_PDEATHSIG = 1
_MAIN_LOCK = threading.Lock()


class FailureKind(str, Enum):
    TIMEOUT = "timeout"  # no progress (first chunk, next chunk or completion) within the deadline
    CRASHED = "crashed"  # the child process died (a signal such as SIGSEGV, or an exit)


@dataclass(frozen=True, slots=True)
class Chunk(Generic[T]):
    """One value ``fn(item)`` yielded; an item's chunks arrive in the order ``fn`` yielded them."""

    value: T


@dataclass(frozen=True, slots=True)
class Completed:
    """``fn(item)`` returned: every chunk of the item has arrived."""


@dataclass(frozen=True, slots=True)
class Raised:
    """``fn(item)`` raised an exception (an ordinary error of the item, not a crash)."""

    error: BaseException  # the exception, re-created here; a RemoteError when it does not pickle
    traceback: str  # formatted where it was raised


@dataclass(frozen=True, slots=True)
class IsolationFailure:
    """The child made no progress within the deadline, or died; the item's remaining chunks are lost."""

    kind: FailureKind
    detail: str


Event = Union[Chunk[T], Completed, Raised, IsolationFailure]


class RemoteError(Exception):
    """An exception from the child whose own type could not be sent back; keeps its type name and message."""

    def __init__(self, type_name: str, message: str):
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


@dataclass
class IsolationStats:
    """What :func:`isolated_map` did, for tests and measurements (pass one in to have it filled)."""

    child_pids: list[int] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)  # per child: from start() to its first message


# ----------------------------------------------------------------------------- parent side


def isolated_map(
    fn: Callable[[I], Iterable[T]],
    items: Iterable[I],
    *,
    timeout_s: float | None,
    start_timeout_s: float = 60.0,
    preload: Sequence[str] = (),
    stats: IsolationStats | None = None,
) -> Iterator[tuple[int, Event[T]]]:
    """``(index, event)`` for each item, in order, ``fn(item)`` running in a child process.

    ``timeout_s`` bounds the time without progress: from sending an item to its first event, and
    between its events (None: no deadline, crashes are still isolated).  Time the consumer spends
    between two events does not count.  The child starting up (``start_timeout_s``) does not count
    either.  After a timeout or a crash the child is killed and the next item goes to a new child.
    ``preload``: modules the fork server imports once (default: ``fn``'s module); it applies only
    when this call starts the server, i.e. the first time in this process.  Items are taken from
    ``items`` lazily, one at a time.
    """
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive or None, not {timeout_s!r}")
    context = _context(tuple(preload) or (fn.__module__,))
    child: _Child | None = None
    try:
        for index, item in enumerate(items):
            if child is not None and not child.process.is_alive():  # died while idle: not this item's fault
                child.stop()
                child = None
            if child is None:
                child, failure = _Child.start(context, fn, start_timeout_s, stats)
                if failure is not None:
                    child = None
                    yield index, failure
                    continue
            for event in child.run(index, item, timeout_s):
                if isinstance(event, IsolationFailure):
                    child.stop()
                    child = None
                yield index, event
    finally:
        if child is not None:
            child.stop()


def direct_map(fn: Callable[[I], Iterable[T]], items: Iterable[I]) -> Iterator[tuple[int, Event[T]]]:
    """The events of :func:`isolated_map`, computed in this process (no isolation, no deadline)."""
    for index, item in enumerate(items):
        try:
            for value in fn(item):
                yield index, Chunk(value)
        except Exception as exc:
            yield index, Raised(exc, "".join(traceback.format_exception(exc)))
        else:
            yield index, Completed()


class _Child:
    """One child process and the parent's end of its pipe."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.process = process
        self.conn = conn
        self.busy = False  # an item was sent and its terminal event has not arrived

    @classmethod
    def start(
        cls,
        context: multiprocessing.context.BaseContext,
        fn: Callable,
        start_timeout_s: float,
        stats: IsolationStats | None,
    ) -> tuple[_Child, IsolationFailure | None]:
        parent_conn, child_conn = context.Pipe(duplex=True)
        process = context.Process(target=_child_main, args=(child_conn, fn), name="docray-isolated", daemon=True)
        started = time.perf_counter()
        try:
            with _main_script_hidden():
                process.start()
        except BaseException:
            parent_conn.close()
            raise
        finally:
            child_conn.close()  # the child holds its own copy; ours would hide the child's death (no EOF)
        child = cls(process, parent_conn)
        if stats is not None:
            stats.child_pids.append(process.pid or -1)
        ready = wait([parent_conn, process.sentinel], timeout=start_timeout_s)
        failure = None
        if parent_conn in ready:
            try:
                parent_conn.recv()
            except (EOFError, OSError):
                failure = child.died("while starting")
        elif ready:
            failure = child.died("while starting")
        else:
            failure = IsolationFailure(
                FailureKind.TIMEOUT, f"the isolated process did not start within {start_timeout_s:g} s"
            )
        if stats is not None:
            stats.start_seconds.append(time.perf_counter() - started)
        if failure is not None:
            child.stop()
        return child, failure

    def run(self, index: int, item: object, timeout_s: float | None) -> Iterator[Event]:
        """Send one item; its events until the terminal one."""
        try:
            self.conn.send((index, item))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            yield self.died("before it received the item")
            return
        self.busy = True
        chunks = 0
        while True:
            ready = wait([self.conn, self.process.sentinel], timeout=timeout_s)
            if self.conn in ready:  # read what arrived before looking at a death
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):
                    yield self.died(f"after {chunks} chunk(s) of the item")
                    return
                kind = message[0]
                if kind == _CHUNK:
                    chunks += 1
                    yield Chunk(message[2])
                    continue
                self.busy = False
                yield Completed() if kind == _DONE else Raised(message[2], message[3])
                return
            if ready:
                yield self.died(f"after {chunks} chunk(s) of the item")
                return
            yield IsolationFailure(
                FailureKind.TIMEOUT, f"no progress within {timeout_s:g} s (after {chunks} chunk(s) of the item)"
            )
            return

    def died(self, when: str) -> IsolationFailure:
        self.process.join(_STOP_GRACE_S)
        return IsolationFailure(
            FailureKind.CRASHED, f"the isolated process {_exit_description(self.process.exitcode)} {when}"
        )

    def stop(self) -> None:
        """End the child: ask an idle one to exit, kill a busy or stuck one; release its resources."""
        if self.process.is_alive() and not self.busy:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(_STOP_GRACE_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(_STOP_GRACE_S)
        self.conn.close()
        if self.process.exitcode is not None:
            self.process.close()


def _exit_description(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def _context(preload: tuple[str, ...]) -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While a child starts, ``__main__`` names no script or module, so the child does not re-run it.

    multiprocessing re-runs the parent's main script in every forkserver or spawn child (the
    forkserver's ``'__main__'`` preload has never worked: CPython gh-126631 / gh-137996).  In a Ray
    worker that script is ray's ``default_worker.py``: ``import ray`` in each child, about a second.
    Our children need nothing from ``__main__`` (``fn`` comes from an importable module).
    """
    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        saved = {
            name: main.__dict__[name] for name in ("__file__", "__spec__") if main is not None and name in main.__dict__
        }
        for name in saved:
            if name == "__spec__":
                main.__spec__ = None
            else:
                delattr(main, name)
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(main, name, value)


# ----------------------------------------------------------------------------- child side


def _child_main(conn: Connection, fn: Callable[[object], Iterable[object]]) -> None:
    """The child's loop: items in, chunks and one terminal message per item out, until told to stop."""
    _die_with_parent()
    conn.send((_READY,))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        index, item = message
        try:
            for value in fn(item):
                conn.send((_CHUNK, index, value))
        except Exception as exc:
            conn.send((_RAISED, index, _portable(exc), "".join(traceback.format_exception(exc))))
        else:
            conn.send((_DONE, index))


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (the parent re-creates it), else a :class:`RemoteError`."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RemoteError(type(exc).__name__, str(exc))


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent (the fork server) exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
