"""Ctrl-C and SIGTERM: the first stops at the next epoch boundary, the second at once.

Stopping at an epoch boundary keeps the epoch checkpoint that was just written, so the
interrupted trial's retry loses nothing. A second signal raises ``KeyboardInterrupt`` where
the process is; the last checkpoint is still there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator

from hpo._environment import QUIET_STOP_ENV


class _StopFlag:
    """``threading.Event``'s ``set``/``clear``/``is_set`` without its lock. The signal handlers
    set it, and a handler that runs while the same thread is inside ``Event.set`` (the kernel
    sends a parent-death signal once per exiting parent thread) waits for a lock its own thread
    holds: an orphaned worker hung that way. A plain attribute write needs no lock."""

    def __init__(self) -> None:
        self._value = False

    def set(self) -> None:
        self._value = True

    def clear(self) -> None:
        self._value = False

    def is_set(self) -> bool:
        return self._value


_requested = _StopFlag()
# A second signal inside `recording()` waits for the block's end (see there).
_recording = _StopFlag()
_deferred = _StopFlag()
# A worker's parent-death signal (see hpo.driver._workers.stop_with_parent): a graceful stop only.
PARENT_GONE_SIGNAL = signal.SIGUSR1


def stop_requested() -> bool:
    return _requested.is_set()


def request_stop() -> None:
    _requested.set()


def defer_second_signal() -> None:
    """From now until :func:`end_deferral`, a second signal does not raise: it is held, and
    raised then. An interrupted trial's record spans hpo's writes (its reason and retry) and
    Optuna's FAIL state, written after the trial function has raised; a second Ctrl-C cutting
    Optuna's write short left the trial RUNNING, recovered later as a dead worker's (seen in
    the suite on a loaded machine)."""
    _recording.set()


def end_deferral() -> None:
    """End :func:`defer_second_signal`'s hold; a second signal held meanwhile stops now
    (``KeyboardInterrupt``)."""
    _recording.clear()
    if _deferred.is_set():
        _deferred.clear()
        raise KeyboardInterrupt


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """A block that a second signal does not cut short: the stop it asks for happens as the
    block ends (:func:`defer_second_signal` for one block)."""
    defer_second_signal()
    try:
        yield
    finally:
        _recording.clear()
    end_deferral()


@contextlib.contextmanager
def graceful_stop() -> Iterator[None]:
    """Install the two-step handlers for SIGINT and SIGTERM for the duration of the block."""
    _requested.clear()
    _deferred.clear()
    _recording.clear()
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: object) -> None:
        if _requested.is_set():
            if _recording.is_set():
                _deferred.set()
                return
            raise KeyboardInterrupt
        _requested.set()
        if os.environ.get(QUIET_STOP_ENV) == "1":
            return  # a worker process: its parent announced the stop
        name = signal.Signals(signum).name
        # os.write, not print: print() from a signal handler can hit a re-entrant buffer.
        message = f"{name}: stopping after the current epoch (press Ctrl-C again to stop now)\n"
        with contextlib.suppress(OSError):
            os.write(2, message.encode())

    def handle_parent_gone(signum: int, frame: object) -> None:
        _requested.set()  # never escalates: the kernel may send it once per exiting parent thread

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[PARENT_GONE_SIGNAL] = signal.signal(PARENT_GONE_SIGNAL, handle_parent_gone)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()  # a later run in this process (tests, `hpo best`) starts afresh
        _recording.clear()
        _deferred.clear()
