"""Learning-rate schedules over epochs."""

import numpy as np
import optuna
import pytest

from hpo.objectives._schedules import SCHEDULES, epoch_schedule, suggest_schedule


def test_constant_means_no_schedule():
    assert epoch_schedule({"learning_rate": 0.1}, 10) is None
    assert epoch_schedule({"learning_rate": 0.1, "lr_schedule": "constant"}, 10) is None


def test_exponential_decays_by_its_factor_per_epoch():
    schedule = epoch_schedule({"learning_rate": 0.1, "lr_schedule": "exponential", "lr_decay": 0.5}, 10)
    assert [schedule(epoch) for epoch in range(4)] == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_cosine_goes_from_the_initial_rate_to_one_percent_of_it_at_the_last_epoch():
    schedule = epoch_schedule({"learning_rate": 0.1, "lr_schedule": "cosine"}, 11)
    rates = [schedule(epoch) for epoch in range(11)]
    assert rates[0] == pytest.approx(0.1) and rates[-1] == pytest.approx(0.001)
    assert rates[5] == pytest.approx(0.1 * (0.01 + 0.99 * 0.5))
    assert all(np.diff(rates) < 0)


def test_suggest_asks_the_decay_only_for_exponential():
    assert suggest_schedule(optuna.trial.FixedTrial({"lr_schedule": "cosine"})) == {"lr_schedule": "cosine"}
    params = suggest_schedule(optuna.trial.FixedTrial({"lr_schedule": "exponential", "lr_decay": 0.9}))
    assert params == {"lr_schedule": "exponential", "lr_decay": 0.9}
    assert set(SCHEDULES) == {"constant", "exponential", "cosine"}


def test_fit_applies_the_schedule_at_each_epoch():
    from hpo.data._sources import load_dataset
    from hpo.objectives import mlp
    from hpo.trial._training import FitSettings, fit_and_score

    data = load_dataset("digits")
    params = dict(mlp.DEFAULT_PARAMS, units_0=16, lr_schedule="exponential", lr_decay=0.5)
    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=3, patience=3,
                           learning_rate_schedule=epoch_schedule(params, 3))
    result = fit_and_score(None, lambda: mlp.build(params, data.input_shape, data.n_classes), data, settings)
    assert float(result.model.optimizer.learning_rate) == pytest.approx(1e-3 * 0.25)
