"""fit_and_score trains for real, on a slice of the digits data."""

import dataclasses

import optuna
import pytest

from hpo.data import load_dataset
from hpo.errors import MonitorMissingError, NonFiniteLossError
from hpo.objectives import mlp
from hpo.training import FitSettings, fit_and_score

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def small_digits():
    data = load_dataset("digits")
    return dataclasses.replace(data, x_train=data.x_train[:300], y_train=data.y_train[:300])


def _model(**overrides):
    params = dict(mlp.DEFAULT_PARAMS, units_0=32, **overrides)
    return lambda: mlp.build(params, (8, 8, 1), 10)


def test_value_is_the_best_epoch_and_early_stopping_watches_the_same_metric(small_digits):
    study = optuna.create_study(direction="minimize")
    trial = study.ask()
    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=200, patience=1)
    result = fit_and_score(trial, _model(learning_rate=0.05), small_digits, settings)
    curve = [value for _, value in sorted(trial.storage.get_trial(trial._trial_id).intermediate_values.items())]
    assert result.epochs_trained < 200, "early stopping on val_loss with patience 1 should stop"
    assert result.epochs_trained == result.best_epoch + 1  # stopped `patience` epochs after the best
    assert result.value == pytest.approx(min(curve)) and result.value <= curve[-1]
    restored = result.model.evaluate(small_digits.x_val, small_digits.y_val, verbose=0, return_dict=True)
    assert restored["loss"] == pytest.approx(result.value, rel=1e-4)  # best weights restored
    attrs = trial.storage.get_trial(trial._trial_id).user_attrs
    assert attrs["best_epoch"] == result.best_epoch and attrs["n_params"] == (64 + 1) * 32 + (32 + 1) * 10


def test_a_diverging_loss_fails_the_trial_with_the_epoch(small_digits):
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=3, patience=2)
    diverging = _model(optimizer="sgd", momentum=0.9, learning_rate=1e30, dropout=0.0)
    with pytest.raises(NonFiniteLossError, match="loss became nan at epoch 1"):
        fit_and_score(optuna.trial.FixedTrial({}), diverging, small_digits, settings)


def test_a_monitor_that_keras_does_not_log_is_an_error(small_digits):
    settings = FitSettings(monitor="val_auc", direction="maximize", max_epochs=2, patience=2)
    with pytest.raises(MonitorMissingError, match="val_auc"):
        fit_and_score(optuna.trial.FixedTrial({}), _model(), small_digits, settings)
