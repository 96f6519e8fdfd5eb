"""A multi-layer perceptron with the hyperparameter catalogue of the seed articles.

Seed 000's MNIST model is the special case ``n_layers=1, units_0=128, activation=relu,
dropout=0.2, optimizer=adam, learning_rate=1e-3, batch_size=64`` (:data:`DEFAULT_PARAMS`);
seed 002 gives the ranges (lr 1e-4..1e-1, batch 32/64/128, 1-5 hidden layers, Xavier/He
initialisation, SGD/Adam/RMSprop, L1/L2); seed 001 the momentum and the decaying learning
rate (constant, exponential or cosine schedule over the epochs, :mod:`hpo.objectives._schedules`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras
    import optuna

from hpo.objectives._optimizers import OPTIMIZERS, make_optimizer
from hpo.objectives._output import output_head, single_input
from hpo.objectives._schedules import suggest_schedule

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu")
INITIALIZERS = ("glorot_uniform", "he_normal")  # Xavier/Glorot and He
REGULARIZERS = ("none", "l1", "l2")
BATCH_SIZES = (32, 64, 128)
MAX_LAYERS = 5

DEFAULT_PARAMS: dict[str, Any] = {
    "n_layers": 1,
    "units_0": 128,
    "activation": "relu",
    "initializer": "glorot_uniform",
    "dropout": 0.2,
    "regularizer": "none",
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "lr_schedule": "constant",
    "batch_size": 64,
}


def suggest(trial: "optuna.trial.BaseTrial") -> dict[str, Any]:
    """Sample one configuration. Conditional parameters exist only where they matter."""
    n_layers = trial.suggest_int("n_layers", 1, MAX_LAYERS)
    params: dict[str, Any] = {"n_layers": n_layers}
    for layer in range(n_layers):
        params[f"units_{layer}"] = trial.suggest_int(f"units_{layer}", 16, 512, log=True)
    params["activation"] = trial.suggest_categorical("activation", ACTIVATIONS)
    params["initializer"] = trial.suggest_categorical("initializer", INITIALIZERS)
    params["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
    params["regularizer"] = trial.suggest_categorical("regularizer", REGULARIZERS)
    if params["regularizer"] != "none":
        params["reg_strength"] = trial.suggest_float("reg_strength", 1e-6, 1e-2, log=True)
    params["optimizer"] = trial.suggest_categorical("optimizer", OPTIMIZERS)
    if params["optimizer"] == "sgd":
        params["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
    params["learning_rate"] = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    params.update(suggest_schedule(trial))
    params["batch_size"] = trial.suggest_categorical("batch_size", BATCH_SIZES)
    return params


def hidden_units(params: dict[str, Any]) -> list[int]:
    return [int(params[f"units_{layer}"]) for layer in range(int(params["n_layers"]))]


def param_count(params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int | None) -> int:
    """Seed 001's formula: ``(M+1)·H1 + (H1+1)·H2 + … + (Hn+1)·N`` for M inputs, N outputs
    (one output for regression, ``n_classes`` None)."""
    widths = [math.prod(single_input(input_shape)), *hidden_units(params), output_head(n_classes).units]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))


def build(params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int | None) -> "keras.Model":
    """A compiled Keras model for ``params`` (a regression model for ``n_classes`` None).
    Knows nothing of Optuna."""
    import keras

    regularizer = None
    if params.get("regularizer", "none") == "l1":
        regularizer = keras.regularizers.L1(float(params["reg_strength"]))
    elif params.get("regularizer", "none") == "l2":
        regularizer = keras.regularizers.L2(float(params["reg_strength"]))
    layers: list[keras.layers.Layer] = [keras.Input(shape=single_input(input_shape)), keras.layers.Flatten()]
    for units in hidden_units(params):
        layers.append(
            keras.layers.Dense(
                units,
                activation=params["activation"],
                kernel_initializer=params["initializer"],
                kernel_regularizer=regularizer,
            )
        )
        if params["dropout"] > 0:
            layers.append(keras.layers.Dropout(params["dropout"]))
    head = output_head(n_classes)
    layers.append(keras.layers.Dense(head.units, activation=head.activation))
    model = keras.Sequential(layers)
    model.compile(optimizer=make_optimizer(params), loss=head.loss, metrics=list(head.metrics))
    return model
