"""Riding out a database server that goes away: restarts, outages, dropped connections.

Optuna's ``RDBStorage`` turns a lost connection into ``StorageInternalError`` and gives up:
a study on PostgreSQL whose server restarts loses every worker (each dies with a traceback in
its next write), and Optuna's heartbeat thread dies with its first failed write, so the trial
it watched is later failed as stale while alive (optuna/optuna#4234, #5600). hpo waits instead:

* :func:`riding_out` calls a storage operation again after a lost connection, with a backoff
  doubling from :data:`FIRST_WAIT_S` to :data:`LONGEST_WAIT_S`, for at most ``HPO_STORAGE_PATIENCE``
  seconds (default :data:`DEFAULT_PATIENCE_S`), then stops with one line (:class:`StorageError`).
  Only lost connections are waited for; any other database error is raised at once.
* :class:`OutageAwareStorage` is ``RDBStorage`` with every storage call ridden out (the trial
  loop, Optuna's heartbeat thread and hpo's own queries alike). A SQLite file has no server to
  lose, but its disk can fill up: that is waited out too, until space is freed. Its busy
  timeout, not this, waits for its locks.
* After an outage no process may judge another's trial stale by its heartbeat until every
  worker had time to write one again (:func:`may_judge_heartbeats`): otherwise the first
  worker back fails all the others' running trials.

Every call here is one Optuna already makes idempotent or that hpo checks: a write whose
commit reached the server just before the connection dropped is found already done (a trial's
final state: :meth:`OutageAwareStorage.set_trial_state_values`). One is not: ``create_new_trial``
lost between its commit and the answer would leave a RUNNING trial with no heartbeat; the
window is one round trip, and hpo's recovery cannot see that trial (left alone, in the README).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from optuna.storages import RDBStorage

from hpo._environment import STORAGE_PATIENCE_ENV
from hpo.errors import StorageError

if TYPE_CHECKING:
    from optuna.trial import TrialState

DEFAULT_PATIENCE_S = 600.0
FIRST_WAIT_S = 0.5
LONGEST_WAIT_S = 4.0

T = TypeVar("T")

_lock = threading.Lock()
# When this process last got through to its database after failing to (time.monotonic()).
_last_recovery: float | None = None
_waiting = 0  # calls of this process now waiting for the server (the trial loop, the heartbeat)
# Once one call gave up, the others do at once: recording the failure, Optuna's tell and the
# heartbeat thread would each wait the whole patience again before the process can stop.
_gave_up: str | None = None  # why


def patience_s() -> float:
    """How long a storage call waits for its server: ``HPO_STORAGE_PATIENCE`` seconds."""
    raw = os.environ.get(STORAGE_PATIENCE_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_PATIENCE_S
    except ValueError:
        raise StorageError(f"{STORAGE_PATIENCE_ENV}={raw!r} is not a number of seconds") from None


def is_lost_connection(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is one to wait out: the database server could not
    be reached or dropped the connection, or a SQLite file's disk is full; not a statement the
    database refused, nor SQLite's own locks (its busy timeout waits for those)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    seen: BaseException | None = error
    for _ in range(8):  # Optuna wraps SQLAlchemy's error, which wraps the driver's
        if seen is None:
            return False
        if isinstance(seen, DBAPIError):
            if type(seen.orig).__module__.startswith("sqlite3"):
                return "database or disk is full" in str(seen.orig)
            return bool(seen.connection_invalidated) or isinstance(seen, (OperationalError, InterfaceError))
        seen = seen.__cause__ or seen.__context__
    return False


def riding_out(call: Callable[[], T], *, what: str = "the storage") -> T:
    """``call()``, called again while it fails for a lost connection, for at most
    :func:`patience_s` seconds; then :class:`StorageError`."""
    global _last_recovery, _waiting
    started: float | None = None
    wait = FIRST_WAIT_S
    try:
        while True:
            try:
                result = call()
            except Exception as error:
                if not is_lost_connection(error):
                    raise
                if _gave_up is not None:
                    raise StorageError(_gave_up) from None
                now = time.monotonic()
                if started is None:
                    started = now
                    with _lock:
                        _waiting += 1
                        first = _waiting == 1
                    if first:
                        _say(f"{what} failed ({_first_line(error)}); waiting up to {patience_s():.0f} s "
                             f"for it ({STORAGE_PATIENCE_ENV})")
                if now - started > patience_s():
                    raise StorageError(_give_up(f"{what} unreachable for {now - started:.0f} s, giving up "
                                                f"({STORAGE_PATIENCE_ENV}): {_first_line(error)}")) from None
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_S)
                continue
            if started is not None:
                with _lock:
                    _last_recovery = time.monotonic()
                    last = _waiting == 1
                if last:
                    _say(f"{what} is back after {time.monotonic() - started:.0f} s; going on")
            return result
    finally:
        if started is not None:
            with _lock:
                _waiting -= 1


def _give_up(why: str) -> str:
    global _gave_up
    _gave_up = why
    return why


def given_up() -> str | None:
    """Why this process gave up on its storage; None while it has not. Optuna may end a trial
    whose storage is gone with an error of its own (an ``UnboundLocalError`` in 5.1's
    ``_run_trial``): the caller says this instead."""
    return _gave_up


def may_judge_heartbeats(grace_period_s: float) -> bool:
    """Whether heartbeats may be read as liveness now: not while this process waits for its
    server, nor for a grace period after it got through again (every worker's heartbeat thread
    needs that long to write once more after the same outage)."""
    with _lock:
        if _waiting:
            return False
        return _last_recovery is None or time.monotonic() - _last_recovery > grace_period_s


def forget_outages() -> None:
    """Forget what this process saw (tests)."""
    global _last_recovery, _gave_up
    with _lock:
        _last_recovery, _gave_up = None, None


def _say(line: str) -> None:
    print(f"hpo: {line}", file=sys.stderr, flush=True)


def _first_line(error: BaseException) -> str:
    cause = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(getattr(cause, "orig", None) or cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


# RDBStorage's calls that reach the database, each ridden out by OutageAwareStorage.
_RIDDEN_OUT = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions",
    "get_study_user_attrs", "get_study_system_attrs", "get_trial_user_attrs",
    "get_trial_system_attrs", "get_all_studies", "create_new_trial", "set_trial_param",
    "get_trial_param", "set_trial_intermediate_value", "set_trial_user_attr",
    "set_trial_system_attr", "get_trial_id_from_study_id_trial_number", "get_trial",
    "get_all_trials", "get_best_trial",
    # and the private ones Optuna's caching layer calls (a sampler reads every trial through
    # _get_trials while it suggests, inside the trial: one such call failed a trial in the tests)
    "_create_new_trial", "_get_best_trial_id", "_get_trials", "_set_trial_param",
)


def _ridden_out(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: OutageAwareStorage, *args: Any, **kwargs: Any) -> Any:
        return riding_out(lambda: method(self, *args, **kwargs), what=self.shown)

    return call


class OutageAwareStorage(RDBStorage):
    """``RDBStorage`` whose calls wait for a database server that went away, or for room on a
    full disk under a SQLite file (:func:`riding_out`); every storage hpo opens is one."""

    shown = "the database server"  # how its messages name it (open_storage sets its masked URL)

    def set_trial_state_values(self, trial_id: int, state: "TrialState", values: Any = None) -> bool:
        from optuna.exceptions import UpdateFinishedTrialError

        attempts = 0

        def finish() -> bool:
            nonlocal attempts
            attempts += 1
            try:
                return RDBStorage.set_trial_state_values(self, trial_id, state, values)
            except UpdateFinishedTrialError:
                # A first attempt whose commit landed before the connection dropped: done.
                if attempts > 1 and RDBStorage.get_trial(self, trial_id).state == state:
                    return True
                raise

        return riding_out(finish, what=self.shown)

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            riding_out(lambda: RDBStorage.record_heartbeat(self, trial_id), what=self.shown)
        except StorageError:
            # Given up: Optuna's heartbeat thread would die with a traceback. The trial loop
            # meets the same error at its next storage call and stops with one line.
            pass

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        if not may_judge_heartbeats(self._grace_period_s()):
            return []
        return riding_out(lambda: RDBStorage._get_stale_trial_ids(self, study_id), what=self.shown)

    def _grace_period_s(self) -> float:
        grace = getattr(self, "grace_period", None)
        interval = self.get_heartbeat_interval() or 0
        return float(grace if grace is not None else 2 * interval)


for _name in _RIDDEN_OUT:
    setattr(OutageAwareStorage, _name, _ridden_out(getattr(RDBStorage, _name)))
