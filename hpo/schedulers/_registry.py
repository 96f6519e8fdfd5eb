"""The schedulers a study can name, and how one is checked and made.

:data:`SCHEDULERS` registers the built-in ones by name (``asha``, ``hyperband``, ``pbt``), each
with its options' defaults, their check and its constructor; a study may also name its own,
``scheduler="package.module:Name"`` or ``"file.py:Name"`` (a :class:`hpo.schedulers.Scheduler`
subclass, or a function returning one), as it names its own sampler. Names and options are
checked when the study's spec is made, without importing anything (:func:`check_scheduler`);
:func:`make_scheduler` builds the one scheduler of a process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import hpo._plugins as plugins
from hpo.errors import SetupError
from hpo.schedulers._base import Scheduler


@dataclass(frozen=True)
class SchedulerKind:
    """A built-in scheduler: its options with their defaults, ``check(values, *, max_epochs,
    n_trials)`` (the values with their defaults filled in, or a one-line :class:`SetupError`)
    and ``make(values, *, max_epochs, direction, seed)``."""

    options: Mapping[str, Any]
    check: Callable[..., dict[str, Any]]
    make: Callable[..., Scheduler]


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
    mutable, explore = values["mutable"], values["explore"]
    if isinstance(mutable, str):
        mutable = (mutable,)
    if not isinstance(mutable, (list, tuple)) or not (mutable or explore) \
            or not all(isinstance(m, str) and m for m in mutable):
        raise SetupError(f"scheduler_options: mutable must be a list of parameter names, got {mutable!r}")
    if explore is not None and (not isinstance(explore, str) or not plugins.is_reference(explore)):
        raise SetupError(f"scheduler_options: explore must name a function as 'package.module:name' or "
                         f"'file.py:name', got {explore!r}")
    return {"population": population, "interval": interval, "mutable": list(dict.fromkeys(mutable)),
            **({"explore": explore} if explore is not None else {}),
            "quantile": _fraction("quantile", values["quantile"], 0.0, 0.5, low_open=True),
            "resample_probability": _fraction("resample_probability", values["resample_probability"], 0.0, 1.0,
                                                  low_open=False)}


def _check_promotion(values: dict[str, Any], *, max_epochs: int, n_trials: int) -> dict[str, Any]:
    for key, value in values.items():
        _positive_int(key, value)
    if values["reduction_factor"] < 2:
        raise SetupError(f"scheduler_options: reduction_factor must be at least 2, got {values['reduction_factor']}")
    if values["min_epochs"] >= max_epochs:
        raise SetupError(f"scheduler_options: min_epochs ({values['min_epochs']}) must be below max_epochs "
                         f"({max_epochs}), or no trial would ever pause")
    return values


def _promotion(values: dict[str, Any], *, max_epochs: int, direction: str, seed: int, hyperband: bool) -> Scheduler:
    from hpo.schedulers._promotion import PromotionScheduler

    return PromotionScheduler(reduction_factor=values["reduction_factor"], min_epochs=values["min_epochs"],
                              max_epochs=max_epochs, direction=direction, hyperband=hyperband)


def _population(values: dict[str, Any], *, max_epochs: int, direction: str, seed: int) -> Scheduler:
    from hpo.schedulers._population import PopulationScheduler

    explore = values.get("explore")
    return PopulationScheduler(population=values["population"], interval=values["interval"],
                               mutable=tuple(values["mutable"]), quantile=values["quantile"],
                               resample_probability=values["resample_probability"],
                               max_epochs=max_epochs, direction=direction, seed=seed,
                               explore_with=plugins.load_factory(explore, what="explore function") if explore else None,
                               explore_name=explore)


_PROMOTION_OPTIONS = {"reduction_factor": 3, "min_epochs": 1}
SCHEDULERS: dict[str, SchedulerKind] = {
    "asha": SchedulerKind(_PROMOTION_OPTIONS, _check_promotion, functools.partial(_promotion, hyperband=False)),
    "hyperband": SchedulerKind(_PROMOTION_OPTIONS, _check_promotion, functools.partial(_promotion, hyperband=True)),
    # pbt's population is the study's n_trials; Ray Tune's PopulationBasedTraining defaults for
    # quantile and resampling (0.25 each); explore: the user's function after hpo's perturbation.
    "pbt": SchedulerKind({"population": None, "interval": 2, "mutable": ("learning_rate",), "quantile": 0.25,
                          "resample_probability": 0.25, "explore": None}, _check_pbt, _population),
}
SCHEDULER_NAMES: tuple[str, ...] = ("none", *SCHEDULERS)
# The options each built-in scheduler takes, with their defaults.
SCHEDULER_OPTIONS: dict[str, dict[str, Any]] = {"none": {}, **{name: dict(kind.options) for name, kind in SCHEDULERS.items()}}


def check_scheduler(name: str, options: Mapping[str, Any], *, pruner: str, max_epochs: int,
                    n_trials: int = 0) -> dict[str, Any]:
    """The scheduler's options with their defaults filled in; a one-line :class:`SetupError`
    for an unknown name or option, a bad value, or a pruner beside the scheduler. A scheduler
    of the user's own (an import path) is not imported here: its options are its own."""
    own = plugins.is_reference(name)
    if name not in SCHEDULER_NAMES and not own:
        raise SetupError(f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULER_NAMES)}, "
                         "or your own as 'package.module:Name'")
    known = {} if own else SCHEDULER_OPTIONS[name]
    unknown = [] if own else sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(known) or "none"
        raise SetupError(f"scheduler {name!r} takes no option {', '.join(map(repr, unknown))} (it takes: {takes})")
    if name == "none":
        return {}
    if pruner != "none":
        raise SetupError(f"scheduler {name!r} decides which trials go on, so it needs pruner='none' "
                         f"(got pruner {pruner!r}): pass --pruner none")
    if own:
        import json

        try:
            json.dumps(dict(options))
        except (TypeError, ValueError):
            raise SetupError(f"scheduler {name!r}: scheduler_options must be numbers, strings, booleans and "
                             f"lists of them (they are stored with the study), got {dict(options)!r}") from None
        return dict(options)
    return SCHEDULERS[name].check({**known, **options}, max_epochs=max_epochs, n_trials=n_trials)


def make_scheduler(name: str, options: Mapping[str, Any], *, max_epochs: int, direction: str,
                   n_trials: int = 0, seed: int = 0) -> Scheduler | None:
    """The scheduler a study names, or None for ``"none"``; a scheduler of the user's own is
    imported and called here (one line when it fails, or makes something else)."""
    if name == "none":
        return None
    values = check_scheduler(name, options, pruner="none", max_epochs=max_epochs, n_trials=n_trials)
    if plugins.is_reference(name):
        made: Scheduler = plugins.make_from(
            name, what="scheduler", base=Scheduler, base_name="an hpo.schedulers.Scheduler", options=values,
            context={"max_epochs": max_epochs, "direction": direction, "n_trials": n_trials, "seed": seed})
        return made
    return SCHEDULERS[name].make(values, max_epochs=max_epochs, direction=direction, seed=seed)
