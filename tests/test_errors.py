"""The error taxonomy and its exit codes."""

import optuna
import pytest

from hpo import errors
from hpo.errors import (
    MonitorMissingError,
    NonFiniteLossError,
    SetupError,
    StorageError,
    TrialInterrupted,
    TrialPaused,
    TrialTakenOver,
    classify,
    keeps_checkpoint,
)


@pytest.mark.parametrize("error, code", [
    (errors.SetupError("x"), errors.EXIT_SETUP),
    (errors.StorageError("x"), errors.EXIT_SETUP),
    (errors.MonitorMissingError("x"), errors.EXIT_SETUP),
    (errors.TooManyFailuresError("x"), errors.EXIT_STUDY_FAILED),
    (errors.WorkerError("worker w1: bad", errors.EXIT_SETUP), errors.EXIT_SETUP),
    (errors.TrialInterrupted("x"), errors.EXIT_INTERRUPTED),
    (KeyboardInterrupt(), errors.EXIT_INTERRUPTED),
    (RuntimeError("a bug"), errors.EXIT_STUDY_FAILED),
])
def test_each_error_has_one_exit_code(error, code):
    assert errors.exit_code_for(error) == code


def test_the_three_kinds_are_apart():
    assert issubclass(errors.NonFiniteLossError, errors.TrialFailure)
    assert not issubclass(errors.TrialFailure, errors.SetupError)
    # Interrupts must not be caught by `except Exception` (Optuna would record a plain failure).
    assert issubclass(errors.TrialInterrupted, KeyboardInterrupt)
    assert not issubclass(errors.TrialInterrupted, Exception)
    # Handled inside hpo, and still what callers of the standard library would catch.
    assert issubclass(errors.CheckpointError, errors.HpoError) and issubclass(errors.CheckpointError, ValueError)


@pytest.mark.parametrize("error, kind", [
    (optuna.TrialPruned(), "pruned"),
    (KeyboardInterrupt(), "interrupted"),
    (TrialInterrupted("interrupted after epoch 2"), "interrupted"),
    (MonitorMissingError("metric 'val_x' is not in Keras' logs"), "fatal"),
    (SetupError("bad"), "fatal"),
    (NonFiniteLossError("loss became nan"), "failed"),
    (ValueError("boom"), "failed"),
    (MemoryError(), "failed"),
    (optuna.exceptions.UpdateFinishedTrialError("Trial#3 has already finished"), "taken_over"),
    (TrialTakenOver("checkpoint taken over by a retry"), "taken_over"),
])
def test_every_exception_has_one_kind(error, kind):
    assert classify(error) == kind


@pytest.mark.parametrize("error, kept", [
    (TrialPaused(3), True),  # its continuation goes on from it
    (KeyboardInterrupt(), True),  # its retry does
    (TrialInterrupted("interrupted after epoch 2"), True),
    (StorageError("the storage X unreachable for 600 s, giving up"), True),  # a resume retries it
    (optuna.exceptions.UpdateFinishedTrialError("Trial#0 has already finished"), True),  # its retry's now
    (TrialTakenOver("checkpoint taken over by a retry"), True),
    (ValueError("a bug in the model"), False),  # ended for good
    (SetupError("bad"), False),
    (optuna.TrialPruned(), False),  # pruned for good (a pause is TrialPaused)
])
def test_a_checkpoint_stays_exactly_when_a_trial_goes_on_from_it(error, kept):
    assert keeps_checkpoint(error) is kept
