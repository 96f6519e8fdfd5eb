"""The chosen trial's ``.keras`` model: saved when a trial becomes the one the study's rule
(:mod:`hpo._selection`) would choose, dropped once another one is."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import hpo.records as records
from hpo._keras_runtime import tensorflow_left_unimported
from hpo._selection import chosen_trial

if TYPE_CHECKING:
    import optuna

    from hpo.storage import StudyFiles
    from hpo.trial._training import FitResult


def keep_if_best(trial: "optuna.trial.BaseTrial", values: tuple[float, ...], result: "FitResult",
                 files: "StudyFiles", pick_within: float | None = None) -> bool:
    """Save the trial's best-epoch model when the study's rule (:mod:`hpo._selection`) would
    choose it among the finished trials and this one, and store its weight histograms with the
    trial for the report. Returns whether it was kept.

    Files of trials that stop being the chosen one are removed by the driver after each trial,
    so the models directory holds the chosen trial's model, not one per trial.
    """
    import os

    from optuna.trial import TrialState

    from hpo.trial._histograms import weight_histograms

    study = getattr(trial, "study", None)
    if study is not None:
        candidate = SimpleNamespace(number=trial.number, state=TrialState.COMPLETE, values=list(values),
                                    user_attrs=trial.user_attrs)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        chosen = chosen_trial([*finished, candidate], study.directions, pick_within)
        if chosen is not candidate:
            return False
    path = files.model_path(trial.number)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"partial-{path.name}")  # Keras wants the .keras suffix
    with tensorflow_left_unimported():
        result.model.save(temporary)
    os.replace(temporary, path)
    if files.mirror is not None:
        files.mirror.upload_model(trial.number, path)
    trial.set_user_attr(records.WEIGHT_HISTOGRAMS, weight_histograms(result.model))
    return True


def drop_superseded_models(study: "optuna.Study", files: "StudyFiles", pick_within: float | None = None) -> None:
    """Keep the saved models of the chosen trial and of running trials only (after each trial)."""
    kept = files.kept_models()
    if len(kept) <= 1:
        return
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    chosen = chosen_trial(trials, study.directions, pick_within)
    keep = {t.number for t in trials if t.state == TrialState.RUNNING}
    if chosen is not None:
        keep.add(chosen.number)
    files.drop_models(number for number in kept if number not in keep)
