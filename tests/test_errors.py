"""The error taxonomy and its exit codes."""

import pytest

from hpo import errors


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
