"""One trial: parameters to a trained, scored model. :class:`TrialRunner` is the ``(trial) ->
value`` Optuna calls: it takes each trial through its phases (prepare, evaluate, finish) with
the :class:`StudyContext` its process built once, and the hooks of the features the study has
(:data:`HOOKS`, in their order). :func:`fit_and_score` is the one place that trains. Nothing
here knows about workers, budgets or the study loop.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.trial._checks import check_param_count, check_setup
    from hpo.trial._context import (
        EpochGrants,
        Scored,
        StudyContext,
        TrialRun,
        TrialValue,
        class_weight_for,
        fit_settings,
    )
    from hpo.trial._evaluations import fold_count
    from hpo.trial._hooks import HOOKS, TrialHook
    from hpo.trial._kept_model import drop_superseded_models
    from hpo.trial._population import retrain_lineage
    from hpo.trial._runner import TrialRunner
    from hpo.trial._training import FitResult, FitSettings, fit_and_score, fit_for_epochs

__all__ = [
    "EpochGrants", "FitResult", "FitSettings", "HOOKS", "Scored", "StudyContext", "TrialHook", "TrialRun",
    "TrialRunner", "TrialValue", "check_param_count", "check_setup", "class_weight_for",
    "drop_superseded_models", "fit_and_score", "fit_for_epochs", "fit_settings", "fold_count",
    "retrain_lineage",
]

_EXPORTS = {
    "hpo.trial._checks": ("check_param_count", "check_setup"),
    "hpo.trial._context": (
        "EpochGrants", "Scored", "StudyContext", "TrialRun", "TrialValue", "class_weight_for",
        "fit_settings",
    ),
    "hpo.trial._evaluations": ("fold_count",),
    "hpo.trial._hooks": ("HOOKS", "TrialHook"),
    "hpo.trial._kept_model": ("drop_superseded_models",),
    "hpo.trial._population": ("retrain_lineage",),
    "hpo.trial._runner": ("TrialRunner",),
    "hpo.trial._training": ("FitResult", "FitSettings", "fit_and_score", "fit_for_epochs"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
