"""Samplers and pruners by name.

A study script names its search strategy as a string so that it can be stored with the study
and overridden on the command line (``--sampler random``). Optuna is imported lazily: naming
and validating a strategy must not cost an import.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any, Callable

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
}

SAMPLER_NAMES = tuple(_SAMPLER_REQUIREMENTS)
PRUNER_NAMES = (
    "median",
    "percentile",
    "successive-halving",
    "hyperband",
    "patient",
    "wilcoxon",
    "none",
)


def check_sampler_name(name: str) -> None:
    if name not in _SAMPLER_REQUIREMENTS:
        raise SetupError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLER_NAMES)}")


def check_pruner_name(name: str) -> None:
    if name not in PRUNER_NAMES:
        raise SetupError(f"unknown pruner {name!r}; choose one of: {', '.join(PRUNER_NAMES)}")


def check_sampler_available(name: str) -> None:
    """Fail at start, with the install command, rather than in the middle of a run."""
    check_sampler_name(name)
    requirement = _SAMPLER_REQUIREMENTS[name]
    if requirement is not None and importlib.util.find_spec(requirement[0]) is None:
        module, command = requirement
        raise SetupError(f"sampler {name!r} needs the package {module!r}: run `{command}`")


def make_sampler(name: str, *, seed: int | None) -> "optuna.samplers.BaseSampler":
    check_sampler_available(name)
    import warnings

    import optuna

    factories: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        # constant_liar keeps parallel workers from proposing the same point; multivariate and
        # group model the conditional MLP space (units_i only exists when n_layers > i).
        "tpe": lambda: optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True
        ),
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


def make_pruner(name: str, *, max_epochs: int) -> "optuna.pruners.BasePruner":
    check_pruner_name(name)
    import warnings

    import optuna

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
        "none": lambda: optuna.pruners.NopPruner(),
    }
    with warnings.catch_warnings():
        # PatientPruner and WilcoxonPruner are flagged experimental; both are stable in use.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factories[name]()
