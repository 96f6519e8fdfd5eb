"""Samplers and pruners by name, or the user's own by import path.

A study script names its search strategy as a string so that it can be stored with the study
and overridden on the command line (``--sampler random``). Besides the built-in names, a
string ``"package.module:Name"`` or ``"file.py:Name"`` (:mod:`hpo._plugins`) names the user's
own: a ``BaseSampler``/``BasePruner`` subclass or a function returning one. A sampler is
called with ``seed=`` when it takes one (so resumed studies and workers explore new points);
a pruner with the study's ``pruner_options`` as keyword arguments. Optuna is imported lazily:
naming and validating a strategy must not cost an import.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

import hpo._plugins as plugins
from hpo.errors import SetupError

if TYPE_CHECKING:
    import optuna

# name -> (optional module the strategy needs, the exact command that installs it)
_SAMPLER_REQUIREMENTS: dict[str, tuple[str, str] | None] = {
    "tpe": None,
    "random": None,
    "qmc": ("scipy", "pip install scipy"),
    "cmaes": ("cmaes", "pip install cmaes"),
    "gp": ("torch", "pip install torch"),
    "nsga2": None,
    "grid": None,
}

SAMPLER_NAMES: tuple[str, ...] = tuple(_SAMPLER_REQUIREMENTS)
PRUNER_NAMES: tuple[str, ...] = (
    "median",
    "percentile",
    "successive-halving",
    "hyperband",
    "patient",
    "wilcoxon",
    "threshold",
    "learning-curve",
    "none",
)


OWN = "or your own as 'package.module:Name'"


def check_sampler_name(name: str) -> None:
    """A built-in sampler name or an import path (checked without importing anything)."""
    if name not in _SAMPLER_REQUIREMENTS and not plugins.is_reference(name):
        raise SetupError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLER_NAMES)}, {OWN}")


def check_pruner_name(name: str) -> None:
    """A built-in pruner name or an import path (checked without importing anything)."""
    if name not in PRUNER_NAMES and not plugins.is_reference(name):
        raise SetupError(f"unknown pruner {name!r}; choose one of: {', '.join(PRUNER_NAMES)}, {OWN}")


def check_sampler_available(name: str) -> None:
    """Fail at start, with the install command (or the import error), rather than in the
    middle of a run."""
    check_sampler_name(name)
    if plugins.is_reference(name):
        plugins.load_factory(name, what="sampler")
        return
    requirement = _SAMPLER_REQUIREMENTS[name]
    if requirement is not None and importlib.util.find_spec(requirement[0]) is None:
        module, command = requirement
        raise SetupError(f"sampler {name!r} needs the package {module!r}: run `{command}`")


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    return math.prod(len(values) for values in grid.values()) if grid else 0


def require_grid(grid: Mapping[str, Sequence[Any]] | None) -> None:
    if not grid:
        raise SetupError("sampler 'grid' needs a grid in the study script: "
                         "grid={'learning_rate': [1e-3, 1e-2], ...}")


# hpo's TPE: constant_liar keeps parallel workers from proposing the same point; multivariate
# and group model the conditional MLP space (units_i only exists when n_layers > i).
TPE_OPTIONS: dict[str, Any] = {"multivariate": True, "group": True, "constant_liar": True}


def make_sampler(
    name: str, *, seed: int | None, grid: Mapping[str, Sequence[Any]] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> "optuna.samplers.BaseSampler":
    """The sampler ``name``; ``grid`` (and the objective's ``defaults`` for parameters the grid
    leaves out) only for ``grid``."""
    check_sampler_available(name)
    import warnings

    import optuna

    if plugins.is_reference(name):
        made: optuna.samplers.BaseSampler = plugins.make_from(
            name, what="sampler", base=optuna.samplers.BaseSampler, base_name="an optuna BaseSampler",
            context={"seed": seed})
        return made
    if name == "grid":
        require_grid(grid)
        assert grid is not None
        from hpo.search._grid import GridWithDefaults

        return GridWithDefaults(grid, defaults or {}, seed=seed)

    factories: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, **TPE_OPTIONS),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }
    with warnings.catch_warnings():
        # TPE's `group` is flagged experimental; it is what a conditional space needs.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factories[name]()


def make_pruner(
    name: str, *, max_epochs: int, metric: str = "", direction: str = "maximize",
    n_classes: object = None, options: Mapping[str, Any] | None = None,
) -> "optuna.pruners.BasePruner":
    """The pruner ``name``; ``options`` are keyword arguments of its class (e.g. ``lower``
    for ``threshold``, ``threshold`` and ``min_epochs`` for ``learning-curve``)."""
    check_pruner_name(name)
    import warnings

    import optuna

    options = dict(options or {})
    if plugins.is_reference(name):
        pruner: optuna.pruners.BasePruner = plugins.make_from(
            name, what="pruner", base=optuna.pruners.BasePruner, base_name="an optuna BasePruner", options=options)
        return pruner

    # Epoch 1 is reported as step 1; the first epochs of any network are noisy, so the pruners
    # that compare against other trials never prune before epoch 3 (Optuna's warm-up skips
    # steps below n_warmup_steps).
    warmup = min(3, max(0, max_epochs - 1))
    factories: dict[str, Callable[[], Any]] = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup),
        "percentile": lambda: optuna.pruners.PercentilePruner(
            25.0, n_startup_trials=5, n_warmup_steps=warmup
        ),
        "successive-halving": lambda: optuna.pruners.SuccessiveHalvingPruner(),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs),
        "patient": lambda: optuna.pruners.PatientPruner(
            optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup), patience=2
        ),
        "wilcoxon": lambda: optuna.pruners.WilcoxonPruner(p_threshold=0.1),
        "threshold": lambda: optuna.pruners.ThresholdPruner(
            **{"n_warmup_steps": warmup, **_chance_level_bound(metric, direction, n_classes, options),
               **options}),
        "learning-curve": lambda: _learning_curve(max_epochs, options),
        "none": lambda: optuna.pruners.NopPruner(),
    }
    if options and name not in ("threshold", "learning-curve"):
        raise SetupError(f"pruner {name!r} takes no pruner_options (given: {', '.join(options)})")
    with warnings.catch_warnings():
        # PatientPruner and WilcoxonPruner are flagged experimental; both are stable in use.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return factories[name]()
        except TypeError as error:  # an option the pruner's class does not take
            raise SetupError(f"pruner {name!r}: bad pruner_options: {error}") from None


def _chance_level_bound(metric: str, direction: str, n_classes: object,
                        options: Mapping[str, Any]) -> dict[str, float]:
    """The threshold pruner's default bound: prune a trial that, after the warm-up epochs, is
    no better than guessing (accuracy under 1.5 / classes, cross-entropy above ln classes)."""
    if "lower" in options or "upper" in options:
        return {}
    lowered = metric.lower()
    if isinstance(n_classes, int) and n_classes > 1:
        if "acc" in lowered and direction == "maximize":
            return {"lower": 1.5 / n_classes}
        if "loss" in lowered and direction == "minimize":
            return {"upper": math.log(n_classes)}
    raise SetupError(
        f"pruner 'threshold' has no default bound for metric {metric!r}; state one in the study "
        "script: pruner_options={'lower': 0.5} (or {'upper': ...} for a minimised metric)"
    )


def _learning_curve(max_epochs: int, options: Mapping[str, Any]) -> "optuna.pruners.BasePruner":
    from hpo.pruners import LearningCurvePruner

    try:
        return LearningCurvePruner(max_epochs, **options)
    except ValueError as error:
        raise SetupError(f"pruner 'learning-curve': {error}") from None
