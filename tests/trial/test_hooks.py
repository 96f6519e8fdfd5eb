"""Each feature's hook alone, and their one order."""

import types

import keras
import numpy as np
import optuna
import pytest

from hpo.errors import TrialPaused
from hpo.objectives import Objective, mlp
from hpo.study._spec import StudySpec
from hpo.trial._context import StudyContext, TrialRun, fit_settings
from hpo.trial._hooks import (
    HOOKS,
    EpochBudget,
    Evaluations,
    PopulationRestore,
    SchedulerPause,
    Tracking,
    TrialHook,
    hooks_for,
)
from hpo.trial._training import FitResult


def _run(attrs=None, params=None, number=0, spec=None):
    trial = optuna.trial.FixedTrial(params or {}, number=number)
    for key, value in (attrs or {}).items():
        trial.set_user_attr(key, value)
    return TrialRun(trial, dict(params or {}), dict(attrs or {}), fit_settings(spec or StudySpec(name="s"), {}, seed=0),
                    confirms=(attrs or {}).get("confirms"))


def _result(value):
    return FitResult(value=value, best_epoch=2, epochs_trained=3, n_params=1, model=None)


class _Scheduler:
    def first_attrs(self, number):
        return {"bracket": number % 2}

    def pause_epochs(self, attrs):
        return frozenset({1, 3}) if attrs["bracket"] == 1 else frozenset({9})


def test_a_scheduled_trial_gets_its_first_attributes_once_and_pauses_at_its_rungs():
    run = _run(number=1)
    SchedulerPause(_Scheduler()).prepare(run)
    assert run.trial.user_attrs["bracket"] == 1 and run.settings.pause_at == {1, 3}
    continuation = _run({"bracket": 0, "continues": 4}, number=5)  # a continuation keeps its configuration's
    SchedulerPause(_Scheduler()).prepare(continuation)
    assert continuation.trial.user_attrs["bracket"] == 0 and continuation.settings.pause_at == {9}


def test_a_pause_is_read_back_as_pruned_with_its_epoch_and_other_errors_pass():
    hook, run = SchedulerPause(_Scheduler()), _run()
    meant = hook.stopped(run, TrialPaused(3))
    assert isinstance(meant, optuna.TrialPruned) and str(meant) == "paused after epoch 3"
    assert run.trial.user_attrs["paused_at_epoch"] == 3
    error = ValueError("boom")
    assert hook.stopped(run, error) is error


def test_the_epoch_budget_grants_a_search_trial_and_no_recheck():
    granted = []
    ledger = types.SimpleNamespace(grants=lambda trial: granted.append(trial.number) or (lambda: True))
    run, recheck = _run(number=2), _run({"confirms": 1}, number=3)
    EpochBudget(ledger).prepare(run)
    EpochBudget(ledger).prepare(recheck)
    assert run.grant is not None and run.grant() and recheck.grant is None and granted == [2]


def test_a_population_segment_applies_its_own_parameters_over_the_copied_state():
    applied = []
    hook = PopulationRestore(lambda model, params: applied.append((model, params)))
    own = _run(params={"learning_rate": 0.1})
    hook.prepare(own)
    assert own.after_restore is None  # nothing copied: the model was built from its parameters
    segment = _run({"pbt_parent": 4}, params={"learning_rate": 0.2})
    hook.prepare(segment)
    segment.after_restore("model")
    assert applied == [("model", {"learning_rate": 0.2})]


def test_evaluations_leave_a_single_split_study_to_the_runner():
    spec = StudySpec(name="s")
    context = types.SimpleNamespace(spec=spec)
    assert Evaluations(context).evaluate(_run(spec=spec), fit_one=None) is None


def test_evaluations_train_each_fold_report_the_first_and_score_the_mean():
    spec = StudySpec(name="s", cv=3)
    calls = []

    def fit_one(evaluation, reports, grant):
        calls.append((evaluation.fold, reports))
        return _result(0.5 + evaluation.fold / 10)

    run = _run(spec=spec)
    scored = Evaluations(types.SimpleNamespace(spec=spec)).evaluate(run, fit_one)
    assert calls == [(0, True), (1, False), (2, False)]
    assert scored.values == (pytest.approx(0.6),) and scored.result.value == pytest.approx(0.7)
    assert run.trial.user_attrs["fold_values"] == pytest.approx([0.5, 0.6, 0.7])


def test_tracking_hears_the_start_each_epoch_of_the_reporting_evaluation_and_the_kept_model():
    heard = []
    trackers = types.SimpleNamespace(trial_started=lambda trial, params: heard.append(("started", params)),
                                     epoch_ended=lambda number, epoch, logs: heard.append(("epoch", number, epoch)),
                                     model_kept=lambda number, model: heard.append(("kept", number, model)))
    run = _run(params={"units": 3}, number=6)
    hook = Tracking(trackers)
    hook.prepare(run)
    (callback,) = run.reporting_callbacks
    callback.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    callback.on_epoch_end(0, {"loss": 1.0})
    hook.kept(run, "model")
    assert heard == [("started", {"units": 3}), ("epoch", 6, 1), ("kept", 6, "model")]


def test_a_hook_does_nothing_unless_it_says_so():
    hook, run = TrialHook(), _run()
    hook.prepare(run)
    hook.kept(run, None)
    error = RuntimeError("x")
    assert hook.evaluate(run, fit_one=None) is None and hook.stopped(run, error) is error


def test_a_context_gets_the_hooks_of_its_features_in_the_written_order():
    data = types.SimpleNamespace(n_classes=10)
    plain = StudyContext(StudySpec(name="s"), Objective(mlp), data)
    assert [type(hook) for hook in hooks_for(plain)] == [PopulationRestore, Evaluations]
    everything = StudyContext(StudySpec(name="s"), Objective(mlp), data, scheduler=_Scheduler(),
                              epoch_ledger=types.SimpleNamespace(grants=lambda trial: None),
                              trackers=types.SimpleNamespace())
    assert [type(hook) for hook in hooks_for(everything)] == [kind for kind, _ in HOOKS]
    assert [kind for kind, _ in HOOKS] == [SchedulerPause, EpochBudget, PopulationRestore, Evaluations, Tracking]
    assert np.all([isinstance(hook, TrialHook) for hook in hooks_for(everything)])
