"""Learning-rate schedules over epochs (seed 001's decaying learning rate).

A schedule is a hyperparameter like any other: ``suggest_schedule`` adds it to a search
space, and ``fit`` applies it at each epoch boundary. Per epoch rather than per optimizer step
so that it does not depend on the batch size, and so that a trial resumed from an epoch
checkpoint continues with the rate of its next epoch. The curves are Keras' own schedules,
evaluated at the epoch number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

SCHEDULES = ("constant", "exponential", "cosine")
COSINE_FINAL_FRACTION = 0.01  # cosine decay ends at 1% of the initial rate, not at zero


def suggest_schedule(trial: "optuna.trial.BaseTrial") -> dict[str, Any]:
    """``lr_schedule`` and, for exponential decay, its per-epoch factor ``lr_decay``."""
    params: dict[str, Any] = {"lr_schedule": trial.suggest_categorical("lr_schedule", SCHEDULES)}
    if params["lr_schedule"] == "exponential":
        params["lr_decay"] = trial.suggest_float("lr_decay", 0.8, 0.99)
    return params


def epoch_schedule(params: Mapping[str, Any], max_epochs: int) -> Callable[[int], float] | None:
    """``epoch (0-based) -> learning rate`` for the schedule ``params`` name; None when constant."""
    name = params.get("lr_schedule", "constant")
    if name == "constant":
        return None
    import keras

    initial = float(params["learning_rate"])
    if name == "exponential":
        curve = keras.optimizers.schedules.ExponentialDecay(
            initial, decay_steps=1, decay_rate=float(params["lr_decay"]))
    elif name == "cosine":
        curve = keras.optimizers.schedules.CosineDecay(
            initial, decay_steps=max(max_epochs - 1, 1), alpha=COSINE_FINAL_FRACTION)
    else:
        raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {SCHEDULES}")
    return lambda epoch: float(curve(epoch))
