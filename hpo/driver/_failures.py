"""The one place where an exception from a trial is recorded.

:func:`hpo.errors.classify` sorts it into the taxonomy (failed trial, fatal, interrupted, taken
over); :func:`recording_failures` stores the reason on the trial accordingly;
:class:`ConsecutiveFailureGuard` stops a study whose trials keep failing (KerasTuner's
``max_consecutive_failed_trials``). Failures are never relabelled as pruned: TPE learns from
pruned trials.
"""

from __future__ import annotations

import contextlib
import traceback
from typing import TYPE_CHECKING, Callable

import hpo._interrupts as interrupts
import hpo.records as records
from hpo.errors import TrialFailure, TrialInterrupted, classify

if TYPE_CHECKING:
    import optuna

    from hpo.storage import FinishedTrial
    from hpo.trial import TrialValue

MAX_REASON_CHARS = 500
MAX_TRACEBACK_CHARS = 4000

TrialFunction = Callable[["optuna.trial.Trial"], "TrialValue"]


def describe_failure(error: BaseException) -> str:
    """One line saying why a trial failed; out-of-memory errors say so first."""
    if isinstance(error, TrialInterrupted):
        return f"{error} (Ctrl-C or SIGTERM)"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C or SIGTERM)"
    name = type(error).__name__
    text = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, MemoryError) or "ResourceExhausted" in name or "out of memory" in text.lower():
        return f"out of memory: {name}: {text}"[:MAX_REASON_CHARS]
    return (f"{name}: {text}" if text else name)[:MAX_REASON_CHARS]


def store_reason(trial: "optuna.trial.Trial", error: BaseException) -> str:
    """Store why ``trial`` failed (and the traceback of an unexpected error) on the trial."""
    reason = describe_failure(error)
    with contextlib.suppress(Exception):  # the reason is best effort; the FAIL state is not
        trial.set_user_attr(records.FAIL_REASON, reason)
        if not isinstance(error, (KeyboardInterrupt, TrialFailure)):
            trace = "".join(traceback.format_exception(error))
            trial.set_user_attr(records.FAIL_TRACEBACK, trace[-MAX_TRACEBACK_CHARS:])
    return reason


def recording_failures(
    objective: TrialFunction, on_interrupt: Callable[["optuna.trial.Trial"], str],
) -> TrialFunction:
    """``objective`` with its failures recorded on the trial, then left for Optuna to mark FAIL.

    A failed trial's exception becomes :class:`TrialFailure`, which the driver lets Optuna
    catch (the study goes on); fatal errors and interrupts propagate and stop the study. On an
    interrupt, ``on_interrupt(trial)`` queues the retry and says how, for the stored reason.
    """

    def recorded(trial: "optuna.trial.Trial") -> TrialValue:
        try:
            return objective(trial)
        except BaseException as error:
            kind = classify(error)
            if kind in ("pruned", "taken_over"):
                raise
            if kind == "interrupted":
                # A second signal waits until the whole record is stored: the reason and retry
                # here, then Optuna's FAIL state as the error leaves; the caller ends the hold
                # after Optuna's tell (interrupts.end_deferral, in hpo.driver._optimize.work_loop).
                interrupts.defer_second_signal()
                reason = store_reason(trial, error)
                retry = on_interrupt(trial)
                with contextlib.suppress(Exception):
                    trial.set_user_attr(records.FAIL_REASON, f"{reason}; {retry}")
                raise
            reason = store_reason(trial, error)
            if kind == "fatal" or not isinstance(error, Exception):
                raise
            raise TrialFailure(reason) from error

    return recorded


class ConsecutiveFailureGuard:
    """Stops the study after ``limit`` failed trials in a row."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.tripped = False
        self.last_reason = ""

    def record(self, trial: "optuna.trial.FrozenTrial | FinishedTrial") -> bool:
        """Count a finished trial; True when the guard has tripped (the study should stop)."""
        from optuna.trial import TrialState

        if trial.state != TrialState.FAIL:
            self.in_a_row = 0
            return self.tripped
        self.in_a_row += 1
        self.last_reason = records.fail_reason(trial.user_attrs)
        self.tripped = self.tripped or self.in_a_row >= self.limit
        return self.tripped

    def __call__(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        """As an Optuna callback: stops ``optimize`` once tripped."""
        if self.record(trial):
            study.stop()
