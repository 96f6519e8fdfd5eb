"""The run loop with trivial objectives: no Keras, milliseconds per trial."""

import math
import os

import optuna
import pytest

from hpo.driver import _optimize as driver
from hpo.driver._study_setup import stored_spec
from hpo.errors import SetupError, TooManyFailuresError, TrialInterrupted
from hpo.study._spec import StudySpec
from tests.conftest import quadratic, quick_spec, run_quick


def _spec(**settings):
    return quick_spec(**settings)


def _run(spec, url, objective=quadratic):
    return run_quick(spec, url, objective)


def _states(url, name="q"):
    study = optuna.load_study(study_name=name, storage=url)
    return [t.state.name for t in study.trials]


def test_budget_is_a_total_and_rerunning_a_finished_study_adds_nothing(sqlite_url):
    outcome, lines = _run(_spec(), sqlite_url)
    assert outcome.n_finished == 5 and outcome.trials_run == 5
    assert sum(line.startswith("[trial") for line in lines) == 5
    outcome, lines = _run(_spec(), sqlite_url)
    assert outcome.trials_run == 0 and "already has 5/5 finished trials" in lines[0]
    outcome, _ = _run(_spec(n_trials=8), sqlite_url)
    assert outcome.n_finished == 8 and outcome.trials_run == 3
    assert _states(sqlite_url) == ["COMPLETE"] * 8


def test_progress_lines_show_state_value_best_and_eta(sqlite_url):
    _, lines = _run(_spec(n_trials=2), sqlite_url)
    trial_line = lines[-1]
    for part in ("[trial    1]", "COMPLETE", "value=", "best=", "2/2 done", "elapsed", "ETA"):
        assert part in trial_line


def test_failed_trials_keep_their_reason_do_not_count_and_the_study_goes_on(sqlite_url):
    calls = []

    def sometimes_failing(trial):
        calls.append(trial.number)
        if trial.number in (1, 3):
            raise RuntimeError(f"boom {trial.number}")
        if trial.number == 4:
            return math.nan  # a NaN objective value fails the trial too
        return quadratic(trial)

    outcome, lines = _run(_spec(n_trials=4), sqlite_url, sometimes_failing)
    assert outcome.n_finished == 4
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert [t.number for t in failed] == [1, 3, 4]
    assert failed[0].user_attrs["fail_reason"] == "RuntimeError: boom 1"
    assert "Traceback" in failed[0].user_attrs["fail_traceback"]
    assert any("FAIL" in line and "RuntimeError: boom 3" in line for line in lines)


def test_several_failures_in_a_row_stop_the_study(sqlite_url):
    def always_failing(trial):
        raise ValueError("bad config")

    with pytest.raises(TooManyFailuresError, match="3 trials failed in a row.*last reason: ValueError: bad config"):
        _run(_spec(max_consecutive_failures=3), sqlite_url, always_failing)
    assert _states(sqlite_url) == ["FAIL"] * 3


def test_setup_errors_inside_a_trial_stop_at_once(sqlite_url):
    def misconfigured(trial):
        raise SetupError("metric 'val_auc' is not in Keras' logs")

    with pytest.raises(SetupError, match="val_auc"):
        _run(_spec(), sqlite_url, misconfigured)
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    assert [t.state.name for t in study.trials] == ["FAIL"]
    assert "val_auc" in study.trials[0].user_attrs["fail_reason"]


def test_a_resumed_sampler_does_not_repeat_its_first_proposals(sqlite_url):
    _run(_spec(n_trials=3), sqlite_url)
    _run(_spec(n_trials=6), sqlite_url)
    xs = [t.params["x"] for t in optuna.load_study(study_name="q", storage=sqlite_url).trials]
    assert len(set(xs)) == 6


def test_the_same_seed_on_a_new_study_proposes_the_same_points(tmp_path):
    first = tmp_path / "a.db"
    second = tmp_path / "b.db"
    _run(_spec(n_trials=4, sampler="tpe"), f"sqlite:///{first}")
    _run(_spec(n_trials=4, sampler="tpe"), f"sqlite:///{second}")
    params = lambda path: [t.params for t in optuna.load_study(study_name="q", storage=f"sqlite:///{path}").trials]  # noqa: E731
    assert params(first) == params(second)


def test_enqueued_parameters_run_first(sqlite_url):
    _run(_spec(n_trials=2, enqueue=[{"x": 0.25}]), sqlite_url)
    assert optuna.load_study(study_name="q", storage=sqlite_url).trials[0].params == {"x": 0.25}


def test_settings_are_stored_and_changes_are_reported(sqlite_url):
    _run(_spec(n_trials=2), sqlite_url)
    assert stored_spec("q", storage_url=sqlite_url) == _spec(n_trials=2)
    _, lines = _run(_spec(n_trials=3, max_epochs=7), sqlite_url)
    assert any("continues with changed settings: n_trials 2 -> 3, max_epochs 30 -> 7" in line for line in lines)
    assert stored_spec("q", storage_url=sqlite_url).max_epochs == 7


def test_changing_what_is_optimised_is_refused(sqlite_url):
    _run(_spec(n_trials=1), sqlite_url)
    with pytest.raises(SetupError, match="exists with different metric 'loss' -> 'val_loss'.*new --study-name"):
        _run(_spec(metric="val_loss"), sqlite_url)
    with pytest.raises(SetupError, match="direction minimize, not maximize"):
        _run(_spec(metric="score", direction="maximize"), sqlite_url)


def test_resume_of_an_unknown_study_is_a_clear_error(sqlite_url):
    _run(_spec(n_trials=1), sqlite_url)
    with pytest.raises(SetupError, match="no study named 'other'"):
        driver.resume("other", storage_url=sqlite_url)


def test_an_interrupted_trial_is_recorded_and_its_retry_runs_first_on_resume(sqlite_url):
    def stopped_at_third_trial(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        if trial.number == 2:
            raise TrialInterrupted("interrupted after epoch 4")
        return x * x

    with pytest.raises(KeyboardInterrupt):
        _run(_spec(), sqlite_url, objective=stopped_at_third_trial)
    trials = optuna.load_study(study_name="q", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "FAIL", "WAITING"]
    assert trials[2].user_attrs["fail_reason"].startswith("interrupted after epoch 4 (Ctrl-C or SIGTERM); retry queued")
    assert trials[3].user_attrs["retry_of"] == 2 and trials[3].system_attrs["fixed_params"] == trials[2].params

    outcome, _ = _run(_spec(), sqlite_url)
    trials = optuna.load_study(study_name="q", storage=sqlite_url).trials
    assert trials[3].state.name == "COMPLETE" and trials[3].params == trials[2].params
    assert outcome.n_finished == 5 and len(trials) == 6


def test_out_of_memory_fails_only_that_trial_with_a_clear_reason(sqlite_url):
    def memory_hungry(trial):
        if trial.number == 0:
            raise MemoryError("Unable to allocate 40.0 GiB for an array")
        return quadratic(trial)

    outcome, _ = _run(_spec(n_trials=2), sqlite_url, memory_hungry)
    first = optuna.load_study(study_name="q", storage=sqlite_url).trials[0]
    assert first.state.name == "FAIL" and outcome.n_finished == 2
    assert first.user_attrs["fail_reason"] == "out of memory: MemoryError: Unable to allocate 40.0 GiB for an array"




def test_a_metric_keras_does_not_log_stops_the_run_before_anything_is_stored(sqlite_url):
    from hpo.errors import MonitorMissingError

    with pytest.raises(MonitorMissingError, match="'val_acc' is not in Keras' logs"):
        driver.run(StudySpec(name="typo", metric="val_acc", direction="maximize", recycle_after=0),
                   storage_url=sqlite_url, out=lambda line: None)
    assert not os.path.exists(sqlite_url.removeprefix("sqlite:///"))
