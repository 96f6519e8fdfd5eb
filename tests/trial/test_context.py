"""The study context: what a process's trials share, computed once; and one trial's run."""

import numpy as np
import optuna
import pytest

from hpo.data import Data
from hpo.errors import SetupError
from hpo.objectives import Objective, mlp
from hpo.study._spec import StudySpec
from hpo.trial._context import StudyContext, TrialRun, fit_settings


def test_fit_settings_follow_the_spec_and_the_params():
    spec = StudySpec(name="s", metric="val_loss", max_epochs=7, patience=2)
    settings = fit_settings(spec, {"batch_size": 32, "learning_rate": 0.01, "lr_schedule": "cosine"}, seed=5)
    assert (settings.monitor, settings.mode, settings.max_epochs, settings.patience) == ("val_loss", "min", 7, 2)
    assert settings.batch_size == 32 and settings.seed == 5
    assert settings.learning_rate_schedule is not None and settings.learning_rate_schedule(0) == pytest.approx(0.01)
    assert fit_settings(spec, {}, seed=0).batch_size == 64


def _data(n=60):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, 4)).astype("float32"), np.arange(n) % 3
    return Data((x, y), validation=0.25).split(0)


def test_the_class_weights_and_the_folds_are_computed_once_per_process(monkeypatch):
    import hpo.trial._context as context_module
    import hpo.trial._evaluations as evaluations

    weighed = []
    real_weights = context_module.class_weight_for
    monkeypatch.setattr(context_module, "class_weight_for", lambda *a: weighed.append(1) or real_weights(*a))
    spec = StudySpec(name="s", cv=3, fit_options={"class_weight": "balanced"})
    context = StudyContext(spec, Objective(mlp), _data())
    assert set(context.class_weight) == {0, 1, 2}
    settings = context.fit_settings({"batch_size": 16}, seed=3, pause_at=frozenset({2}))
    assert settings.class_weight is context.class_weight and settings.pause_at == {2} and settings.seed == 3
    folded = []
    real_folds = evaluations.folds_of
    monkeypatch.setattr(evaluations, "folds_of", lambda data, k, seed: folded.append(k) or real_folds(data, k, seed))
    first = context.folds(False)
    assert context.folds(False) is first and len(first) == 3
    assert len(context.folds(True)) == 5  # a re-check's folds: at least 5, a fresh assignment
    assert weighed == [1] and folded == [3, 5]


def test_a_bad_class_weight_setting_stops_when_the_context_is_built():
    x, y = np.zeros((20, 2), "float32"), np.linspace(0, 1, 20).astype("float32")
    regression = Data((x, y), validation=0.25).split(0)
    with pytest.raises(SetupError, match="class_weight is for classification"):
        StudyContext(StudySpec(name="s", metric="val_mae", fit_options={"class_weight": "balanced"}),
                     Objective(mlp), regression)


def test_a_trial_run_changes_its_settings_in_place():
    settings = fit_settings(StudySpec(name="s"), {}, seed=0)
    run = TrialRun(optuna.trial.FixedTrial({}), {}, {}, settings)
    run.with_settings(pause_at=frozenset({3}))
    assert run.settings.pause_at == {3} and run.settings.seed == 0 and run.reporting_callbacks == []
