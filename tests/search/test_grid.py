"""Grid search over the listed parameters, the objective's defaults elsewhere (no training)."""

import optuna
import pytest

from hpo.errors import SetupError
from hpo.search._grid import GridWithDefaults, check_grid


def suggest(trial):
    params = {"n_layers": trial.suggest_int("n_layers", 1, 2), "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True)}
    if params["n_layers"] == 2:
        params["units_1"] = trial.suggest_int("units_1", 8, 64)
    return params


def test_each_grid_point_runs_once_with_defaults_for_the_rest():
    sampler = GridWithDefaults({"n_layers": [1, 2]}, {"lr": 0.01, "units_1": 16}, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda trial: sum(v for v in suggest(trial).values()), n_trials=2)
    assert sorted(t.params["n_layers"] for t in study.trials) == [1, 2]
    assert all(t.params["lr"] == 0.01 for t in study.trials)
    assert [t.params.get("units_1") for t in study.trials if t.params["n_layers"] == 2] == [16]


def test_a_parameter_neither_in_the_grid_nor_defaulted_is_named():
    study = optuna.create_study(sampler=GridWithDefaults({"n_layers": [1]}, {}, seed=0))
    with pytest.raises(ValueError, match="'lr' is neither in the grid nor in the objective's DEFAULT_PARAMS"):
        study.optimize(suggest, n_trials=1)


def test_gaps_and_unused_grid_parameters_are_found_before_training():
    check_grid({"n_layers": [1, 2]}, {"lr": 0.01, "units_1": 16}, suggest)
    with pytest.raises(SetupError, match=r"grid point \{'n_layers': 2\} has no value for 'units_1'"):
        check_grid({"n_layers": [1, 2]}, {"lr": 0.01}, suggest)
    with pytest.raises(SetupError, match="never suggests: colour"):
        check_grid({"n_layers": [1], "colour": ["red"]}, {"lr": 0.01}, suggest)
