"""One trial: parameters to a trained, scored model. :func:`make_trial_runner` is the
``(trial) -> value`` Optuna calls; :func:`fit_and_score` is the one place that trains. Nothing
here knows about workers, budgets or the study loop.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.trial._evaluations import fold_count
    from hpo.trial._population import retrain_lineage
    from hpo.trial._runner import (
        TrialValue,
        check_param_count,
        check_setup,
        class_weight_for,
        drop_superseded_models,
        fit_settings,
        make_trial_runner,
    )
    from hpo.trial._training import FitResult, FitSettings, fit_and_score, fit_for_epochs

__all__ = [
    "FitResult", "FitSettings", "TrialValue", "check_param_count", "check_setup", "class_weight_for",
    "drop_superseded_models", "fit_and_score", "fit_for_epochs", "fit_settings", "fold_count",
    "make_trial_runner", "retrain_lineage",
]

_EXPORTS = {
    "hpo.trial._evaluations": ("fold_count",),
    "hpo.trial._population": ("retrain_lineage",),
    "hpo.trial._runner": (
        "TrialValue", "check_param_count", "check_setup", "class_weight_for", "drop_superseded_models",
        "fit_settings", "make_trial_runner",
    ),
    "hpo.trial._training": ("FitResult", "FitSettings", "fit_and_score", "fit_for_epochs"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
