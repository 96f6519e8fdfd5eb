"""The built-in MLP objective (seed 001's search space, seed 000's model)."""

import optuna
import pytest

from hpo.objectives import mlp


def test_defaults_are_the_seed_recommendations():
    assert mlp.DEFAULT_PARAMS["learning_rate"] == 1e-3 and mlp.DEFAULT_PARAMS["units_0"] == 128
    assert mlp.DEFAULT_PARAMS["dropout"] == 0.2 and mlp.DEFAULT_PARAMS["batch_size"] == 64


def test_suggest_reads_a_fixed_trial_and_only_asks_conditional_parameters_when_they_matter():
    params = mlp.suggest(optuna.trial.FixedTrial(dict(mlp.DEFAULT_PARAMS)))
    assert params == mlp.DEFAULT_PARAMS
    sgd = dict(mlp.DEFAULT_PARAMS, optimizer="sgd", momentum=0.9, regularizer="l2", reg_strength=1e-4,
               n_layers=2, units_1=32)
    params = mlp.suggest(optuna.trial.FixedTrial(sgd))
    assert params["momentum"] == 0.9 and params["reg_strength"] == 1e-4 and params["units_1"] == 32


def test_search_space_covers_the_catalogue():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"optimizer": set(), "activation": set(), "initializer": set(), "n_layers": set()}
    for _ in range(200):
        trial = study.ask()
        params = mlp.suggest(trial)
        study.tell(trial, 0.0)
        for key in seen:
            seen[key].add(params[key])
        assert 1e-4 <= params["learning_rate"] <= 1e-1 and params["batch_size"] in (32, 64, 128)
    assert seen["optimizer"] == {"sgd", "adam", "rmsprop"}
    assert seen["activation"] == {"relu", "tanh", "sigmoid", "elu"}
    assert seen["initializer"] == {"glorot_uniform", "he_normal"}
    assert seen["n_layers"] == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"n_layers": 3, "units_1": 17, "units_2": 300, "regularizer": "l1", "reg_strength": 1e-3},
        {"n_layers": 5, "units_1": 16, "units_2": 512, "units_3": 40, "units_4": 99, "optimizer": "sgd", "momentum": 0.5},
        {"optimizer": "rmsprop", "dropout": 0.0, "activation": "elu", "initializer": "he_normal"},
    ],
)
def test_seed_formula_matches_keras_parameter_count(overrides):
    params = dict(mlp.DEFAULT_PARAMS, **overrides)
    model = mlp.build(params, (28, 28, 1), 10)
    assert mlp.param_count(params, (28, 28, 1), 10) == model.count_params()
    assert model.optimizer.__class__.__name__.lower() == params["optimizer"]


def test_seed_000_reference_model_size():
    # Input(784) -> Dense(128) -> Dropout -> Dense(10): (784+1)*128 + (128+1)*10
    assert mlp.param_count(dict(mlp.DEFAULT_PARAMS), (784,), 10) == 101_770


def test_regression_gets_one_linear_output_and_the_formula_follows():
    params = dict(mlp.DEFAULT_PARAMS)
    model = mlp.build(params, (10,), None)
    assert model.output_shape == (None, 1) and model.layers[-1].activation.__name__ == "linear"
    assert mlp.param_count(params, (10,), None) == model.count_params() == (10 + 1) * 128 + (128 + 1) * 1
