"""A trial's evaluations (folds x seeds): the plan, the loop and its records, without training."""

from types import SimpleNamespace

import optuna
import pytest

import hpo.records as records
from hpo.errors import SetupError
from hpo.study._spec import StudySpec
from hpo.trial import _evaluations as evaluations
from hpo.trial._evaluations import Evaluation, mean_and_se, plan, run_evaluations


def test_the_plan_runs_every_fold_of_a_seed_before_the_next_seed():
    assert plan(StudySpec("s")) == [Evaluation(None, 0)]
    assert plan(StudySpec("s", cv=3, repeats=2)) == [Evaluation(f, r) for r in (0, 1) for f in (0, 1, 2)]
    assert plan(StudySpec("s", repeats=2)) == [Evaluation(None, 0), Evaluation(None, 1)]
    # a re-check runs at least 5 folds of another assignment
    assert len(plan(StudySpec("s", confirm_top=2), confirming=True)) == 5
    assert len(plan(StudySpec("s", cv=8, confirm_top=2), confirming=True)) == 8
    assert evaluations.fold_seed(StudySpec("s", seed=4)) == 4
    assert evaluations.fold_seed(StudySpec("s", seed=4), confirming=True) != 4
    assert Evaluation(0, 2).seed(10) == 10 + 2 * evaluations.SEED_STRIDE


def test_mean_and_standard_error():
    assert mean_and_se([2.0]) == (2.0, None)
    mean, se = mean_and_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(1.0 / 3 ** 0.5)


class _Checkpoint:
    def __init__(self, trial):
        self.trial, self.removed_with = trial, []

    def remove(self):  # records how many evaluations were counted when it was removed
        self.removed_with.append(len(records.fold_values(self.trial.user_attrs)))


def _fits(values, calls):
    def fit_one(evaluation, reports, grant):
        calls.append((evaluation, reports))
        value = values[len(calls) - 1]
        return SimpleNamespace(value=value, best_epoch=len(calls), epochs_trained=len(calls) + 2, model=None)
    return fit_one


def test_each_evaluation_is_recorded_after_its_checkpoint_is_gone_and_only_the_first_reports():
    trial = optuna.create_study().ask()
    calls, checkpoint = [], _Checkpoint(trial)
    evaluated = run_evaluations(trial, plan(StudySpec("s", cv=3)), _fits([0.5, 0.7, 0.9], calls),
                                checkpoint=checkpoint, grant_epoch=None, reports=True)
    assert [reports for _, reports in calls] == [True, False, False]
    assert [e.fold for e, _ in calls] == [0, 1, 2]
    assert evaluated.value == pytest.approx(0.7) and evaluated.se == pytest.approx(0.2 / 3 ** 0.5)
    assert checkpoint.removed_with == [0, 1, 2]  # removed before the evaluation was counted
    attrs = trial.user_attrs
    assert records.fold_values(attrs) == [0.5, 0.7, 0.9] and records.fold_best_epochs(attrs) == [1, 2, 3]
    assert records.fold_epochs(attrs) == [3, 4, 5] and attrs[records.EPOCHS_TRAINED] == 12
    assert attrs[records.BEST_EPOCH] == 2 and records.value_se(attrs) == pytest.approx(evaluated.se)


def test_a_retry_carries_the_finished_evaluations_and_goes_on_with_the_next():
    carried = records.retry_attrs(retry_of=0, attempt=1, seed=7, carried={
        records.FOLD_VALUES: [0.5], records.FOLD_BEST_EPOCHS: [3], records.FOLD_EPOCHS: [4], "other": [1.0]})
    assert carried[records.FOLD_VALUES] == [0.5] and "other" not in carried
    study = optuna.create_study()
    study.enqueue_trial({}, user_attrs=carried)
    trial = study.ask()
    calls = []
    evaluated = run_evaluations(trial, plan(StudySpec("s", cv=3)), _fits([0.7, 0.9], calls),
                                checkpoint=None, grant_epoch=None, reports=True)
    assert [e.fold for e, _ in calls] == [1, 2] and not any(reports for _, reports in calls)
    assert evaluated.value == pytest.approx(0.7) and records.fold_best_epochs(trial.user_attrs) == [3, 1, 2]


def test_a_refused_epoch_budget_ends_the_trial_with_the_evaluations_it_has():
    trial = optuna.create_study().ask()
    asked = []

    def grant():
        asked.append(True)
        return len(asked) <= 2  # the trial's start, the second evaluation's start; then no more

    calls = []

    def fit_one(evaluation, reports, grant_epoch):
        calls.append(evaluation)
        assert grant_epoch() is True  # the evaluation's first call: its start, granted already
        return SimpleNamespace(value=1.0, best_epoch=1, epochs_trained=1, model=None)

    evaluated = run_evaluations(trial, plan(StudySpec("s", cv=3)), fit_one, checkpoint=None,
                                grant_epoch=grant, reports=True)
    assert len(calls) == 2 and evaluated.value == 1.0 and len(records.fold_values(trial.user_attrs)) == 2


def test_a_recheck_is_scored_with_the_rechecked_trials_evaluations():
    study = optuna.create_study(direction="maximize")
    first = study.ask()
    first.set_user_attr(records.FOLD_VALUES, [0.9, 0.8])
    study.tell(first, 0.85)
    plain = study.ask()
    study.tell(plain, 0.99)
    recheck = study.ask()
    assert evaluations.earlier_values(recheck, 0) == [0.9, 0.8]
    assert evaluations.earlier_values(recheck, 1) == [0.99]  # a single split's value
    calls = []
    evaluated = run_evaluations(recheck, plan(StudySpec("s", confirm_top=1), confirming=True),
                                _fits([0.6] * 5, calls), checkpoint=None, grant_epoch=None, reports=False,
                                earlier=[0.9, 0.8])
    assert len(calls) == 5 and evaluated.value == pytest.approx((0.9 + 0.8 + 5 * 0.6) / 7)
    assert records.fold_values(recheck.user_attrs)[:2] == [0.9, 0.8]
    with pytest.raises(SetupError, match="trial 2, which trial 2 re-checks, has no value"):
        evaluations.earlier_values(recheck, 2)


def test_folds_of_streamed_data_is_a_setup_error():
    with pytest.raises(SetupError, match="cv needs in-memory data"):
        evaluations.folds_of(SimpleNamespace(name="stream"), 3, 0)
