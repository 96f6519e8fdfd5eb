"""Schedulers: trials that pause at a rung and continue later from their checkpoints.

Optuna's pruners can only stop a trial. A scheduler (``scheduler="asha"``, ``"hyperband"`` or
``"pbt"``, options in ``scheduler_options``) pauses one instead: the trial ends PRUNED with
``paused_at_epoch`` and keeps its epoch checkpoint, and a free worker later queues a trial
that goes on from that checkpoint (weights and optimizer state, from any host through the
artifact store). How that reads in storage is in :mod:`hpo.records`.

* ``asha`` and ``hyperband`` (:mod:`hpo.schedulers._promotion`) *promote* a paused trial that
  ranks well enough into a continuation with the same parameters; :mod:`hpo.schedulers._chains`
  groups a configuration's trials into one chain.
* ``pbt`` (:mod:`hpo.schedulers._population`) trains a population in segments; at each
  segment's end a member in the bottom fraction copies a top member's checkpoint and
  perturbs its ``mutable`` parameters.

A scheduler replaces the pruner: a study with both is refused. Both kinds answer the driver
through the :class:`hpo.schedulers._base.Scheduler` protocol.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from hpo.errors import SetupError
from hpo.schedulers._base import Scheduler

SCHEDULER_NAMES: tuple[str, ...] = ("none", "asha", "hyperband", "pbt")
# The options each scheduler takes, with their defaults (pbt's population: the study's n_trials).
SCHEDULER_OPTIONS: dict[str, dict[str, Any]] = {
    "none": {},
    "asha": {"reduction_factor": 3, "min_epochs": 1},
    "hyperband": {"reduction_factor": 3, "min_epochs": 1},
    # Ray Tune's PopulationBasedTraining defaults for quantile and resampling (0.25 each).
    "pbt": {"population": None, "interval": 2, "mutable": ("learning_rate",), "quantile": 0.25,
            "resample_probability": 0.25},
}


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SetupError(f"scheduler_options: {key} must be a positive integer, got {value!r}")
    return value


def _fraction(key: str, value: Any, low: float, high: float, *, low_open: bool) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value > high or value < low or (low_open and value == low):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise SetupError(f"scheduler_options: {key} must be a number in {bounds}, got {value!r}")
    return float(value)


def _check_pbt(values: dict[str, Any], *, max_epochs: int, n_trials: int) -> dict[str, Any]:
    population = values["population"]
    if population is None:
        population = n_trials
    population = _positive_int("population", population)
    if population != n_trials:
        raise SetupError(f"scheduler_options: population ({population}) differs from n_trials ({n_trials}): with "
                         f"scheduler 'pbt', n_trials counts the population's members; set n_trials={population}")
    if population < 2:
        raise SetupError("scheduler 'pbt' needs a population of at least 2 members (n_trials)")
    interval = _positive_int("interval", values["interval"])
    if interval >= max_epochs:
        raise SetupError(f"scheduler_options: interval ({interval}) must be below max_epochs ({max_epochs}), "
                         "or no member would ever copy another")
    mutable = values["mutable"]
    if isinstance(mutable, str):
        mutable = (mutable,)
    if not isinstance(mutable, (list, tuple)) or not mutable or not all(isinstance(m, str) and m for m in mutable):
        raise SetupError(f"scheduler_options: mutable must be a list of parameter names, got {mutable!r}")
    return {"population": population, "interval": interval, "mutable": list(dict.fromkeys(mutable)),
            "quantile": _fraction("quantile", values["quantile"], 0.0, 0.5, low_open=True),
            "resample_probability": _fraction("resample_probability", values["resample_probability"], 0.0, 1.0,
                                                  low_open=False)}


def check_scheduler(name: str, options: Mapping[str, Any], *, pruner: str, max_epochs: int,
                    n_trials: int = 0) -> dict[str, Any]:
    """The scheduler's options with their defaults filled in; a one-line :class:`SetupError`
    for an unknown name or option, a bad value, or a pruner beside the scheduler."""
    if name not in SCHEDULER_NAMES:
        raise SetupError(f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULER_NAMES)}")
    known = SCHEDULER_OPTIONS[name]
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(known) or "none"
        raise SetupError(f"scheduler {name!r} takes no option {', '.join(map(repr, unknown))} (it takes: {takes})")
    if name == "none":
        return {}
    if pruner != "none":
        raise SetupError(f"scheduler {name!r} decides which trials go on, so it needs pruner='none' "
                         f"(got pruner {pruner!r}): pass --pruner none")
    values = {**known, **options}
    if name == "pbt":
        return _check_pbt(values, max_epochs=max_epochs, n_trials=n_trials)
    for key, value in values.items():
        _positive_int(key, value)
    if values["reduction_factor"] < 2:
        raise SetupError(f"scheduler_options: reduction_factor must be at least 2, got {values['reduction_factor']}")
    if values["min_epochs"] >= max_epochs:
        raise SetupError(f"scheduler_options: min_epochs ({values['min_epochs']}) must be below max_epochs "
                         f"({max_epochs}), or no trial would ever pause")
    return values


def make_scheduler(name: str, options: Mapping[str, Any], *, max_epochs: int, direction: str,
                   n_trials: int = 0, seed: int = 0) -> Scheduler | None:
    """The scheduler a study names (options already checked by :func:`check_scheduler`), or
    None for ``"none"``."""
    if name == "none":
        return None
    if name == "pbt":
        from hpo.schedulers._population import PopulationScheduler

        values = check_scheduler(name, options, pruner="none", max_epochs=max_epochs, n_trials=n_trials)
        return PopulationScheduler(population=values["population"], interval=values["interval"],
                                   mutable=tuple(values["mutable"]), quantile=values["quantile"],
                                   resample_probability=values["resample_probability"],
                                   max_epochs=max_epochs, direction=direction, seed=seed)
    from hpo.schedulers._promotion import PromotionScheduler

    values = {**SCHEDULER_OPTIONS[name], **options}
    return PromotionScheduler(reduction_factor=values["reduction_factor"], min_epochs=values["min_epochs"],
                              max_epochs=max_epochs, direction=direction, hyperband=name == "hyperband")


