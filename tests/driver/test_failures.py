"""Classifying and recording a trial's exception; the consecutive-failure guard."""

import os
import signal
import time

import optuna
import pytest

from hpo import _interrupts as interrupts
from hpo.driver import _failures as failures
from hpo.errors import MonitorMissingError, SetupError, TrialFailure, TrialInterrupted


def test_tensorflow_resource_exhaustion_reads_as_out_of_memory():
    class ResourceExhaustedError(Exception):  # the name TensorFlow's OOM error carries
        pass

    assert failures.describe_failure(ResourceExhaustedError("OOM when allocating tensor")).startswith("out of memory: ")


def test_reasons_are_one_line_and_bounded():
    assert failures.describe_failure(ValueError("first line\nsecond")) == "ValueError: first line"
    assert failures.describe_failure(RuntimeError()) == "RuntimeError"
    assert len(failures.describe_failure(ValueError("x" * 2000))) == failures.MAX_REASON_CHARS
    assert failures.describe_failure(TrialInterrupted("interrupted after epoch 3")) == \
        "interrupted after epoch 3 (Ctrl-C or SIGTERM)"


def _study_trial():
    study = optuna.create_study()
    return study, study.ask()


def test_a_failed_trial_stores_reason_and_traceback_and_becomes_a_trial_failure():
    study, trial = _study_trial()

    def broken(trial):
        raise ValueError("bad config")

    with pytest.raises(TrialFailure, match="ValueError: bad config"):
        failures.recording_failures(broken, on_interrupt=lambda t: "unused")(trial)
    attrs = study.trials[0].user_attrs
    assert attrs["fail_reason"] == "ValueError: bad config"
    assert "Traceback" in attrs["fail_traceback"]


def test_an_interrupt_queues_its_retry_and_propagates():
    study, trial = _study_trial()
    queued = []

    def stopped(trial):
        raise TrialInterrupted("interrupted after epoch 2")

    with pytest.raises(TrialInterrupted):
        failures.recording_failures(stopped, on_interrupt=lambda t: queued.append(t.number) or "retry queued")(trial)
    assert queued == [0]
    assert study.trials[0].user_attrs["fail_reason"] == "interrupted after epoch 2 (Ctrl-C or SIGTERM); retry queued"
    assert "fail_traceback" not in study.trials[0].user_attrs


def test_a_second_signal_while_the_retry_is_queued_waits_until_it_is_recorded():
    # CI saw this: the second Ctrl-C, 0.1 s after the first, landed while the retry was being
    # queued and left the trial failed without one.
    study, trial = _study_trial()

    def stopped(trial):
        raise TrialInterrupted("interrupted after epoch 2")

    def queue_while_signalled(trial):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, at a bytecode boundary
        return "retry queued"

    with interrupts.graceful_stop():
        interrupts.request_stop()  # the first signal
        with pytest.raises(TrialInterrupted):  # the trial's own, for Optuna to store its FAIL state
            failures.recording_failures(stopped, on_interrupt=queue_while_signalled)(trial)
        assert study.trials[0].user_attrs["fail_reason"] == "interrupted after epoch 2 (Ctrl-C or SIGTERM); retry queued"
        with pytest.raises(KeyboardInterrupt):  # the second signal, once the caller has stored that too
            interrupts.end_deferral()
        interrupts.end_deferral()  # nothing is left held


def test_setup_errors_propagate_with_their_reason_and_pruning_is_left_alone():
    study, trial = _study_trial()

    def misconfigured(trial):
        raise MonitorMissingError("metric 'val_auc' is not in Keras' logs")

    with pytest.raises(MonitorMissingError):
        failures.recording_failures(misconfigured, on_interrupt=lambda t: "")(trial)
    assert "val_auc" in study.trials[0].user_attrs["fail_reason"]

    _, pruned = _study_trial()

    def pruning(trial):
        raise optuna.TrialPruned()

    with pytest.raises(optuna.TrialPruned):
        failures.recording_failures(pruning, on_interrupt=lambda t: "")(pruned)
    assert "fail_reason" not in pruned.user_attrs


def test_the_guard_trips_after_the_limit_of_failures_in_a_row():
    outcomes = iter([ValueError("x"), 1.0, ValueError("y"), ValueError("z"), 2.0])
    guard = failures.ConsecutiveFailureGuard(2)

    def objective(trial):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            trial.set_user_attr("fail_reason", f"ValueError: {outcome}")
            raise outcome
        return outcome

    study = optuna.create_study()
    study.optimize(objective, n_trials=5, catch=(ValueError,), callbacks=[guard])
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "FAIL", "FAIL"]  # stopped
    assert guard.tripped and guard.in_a_row == 2 and guard.last_reason == "ValueError: z"


def test_user_code_fails_a_trial_on_purpose_with_hpo_trial_failure_and_the_study_goes_on(sqlite_url):
    import hpo
    from tests.conftest import quick_spec, run_quick

    assert hpo.TrialFailure is TrialFailure and hpo.SetupError is SetupError

    def objective(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        if trial.number == 1:
            raise hpo.TrialFailure("units too wide for this input")
        return x * x

    outcome, _ = run_quick(quick_spec(n_trials=3, max_consecutive_failures=2), sqlite_url, objective=objective)
    trials = optuna.load_study(study_name="q", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials[1].user_attrs["fail_reason"] == "TrialFailure: units too wide for this input"
    assert "fail_traceback" not in trials[1].user_attrs and outcome.n_finished == 3


def test_a_trial_finished_elsewhere_is_not_recorded_again_even_when_keras_wraps_the_error():
    study, trial = _study_trial()

    def objective(trial):
        try:
            raise optuna.exceptions.UpdateFinishedTrialError("Trial#0 has already finished")
        except RuntimeError as error:
            raise ValueError("an exception in a callback") from error

    recorded = failures.recording_failures(objective, lambda t: "retry queued")
    with pytest.raises(ValueError):
        recorded(trial)
    assert "fail_reason" not in study.trials[0].user_attrs
