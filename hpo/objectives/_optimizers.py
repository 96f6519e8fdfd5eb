"""The optimizers the seed articles name, built from a trial's parameters (shared by objectives).

``adam`` reads ``beta_1``, ``beta_2`` and ``epsilon`` when the space has them (the CNN's does),
``sgd`` always uses momentum (``momentum``, 0.9 by default), ``rmsprop`` plain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

OPTIMIZERS = ("adam", "sgd", "rmsprop")


def make_optimizer(params: dict[str, Any]) -> "keras.optimizers.Optimizer":
    import keras

    learning_rate = float(params["learning_rate"])
    name = params["optimizer"]
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=float(params.get("beta_1", 0.9)),
                                     beta_2=float(params.get("beta_2", 0.999)),
                                     epsilon=float(params.get("epsilon", 1e-7)))
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=float(params.get("momentum", 0.9)))
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")
