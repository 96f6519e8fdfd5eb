"""The final model: rebuild the best configuration, train it, score it once on the test set.

In a PBT study the best trial is a segment of a member whose parameters changed along the
way: the retraining follows its lineage, each segment's parameters from its first epoch.

This is the only code that touches the test split; the search saw validation scores only
(seed 003 validates on the test set, which leaks it into the choice of hyperparameters).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hpo.records as records
from hpo._selection import chosen_in_study, pareto_front
from hpo.driver._scheduling import scheduler_of
from hpo.driver._study_setup import load_hpo_study, load_objective_and_data
from hpo.errors import SetupError
from hpo.schedulers import PopulationScheduler, lineage
from hpo.storage import runtime_dir

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.data import Data, TrainingData
    from hpo.trial import StudyContext


@dataclass(frozen=True)
class BestModelResult:
    study_name: str
    trial_number: int
    validation_value: float  # as stored by the search
    retrained_validation_value: float
    test_metrics: dict[str, float]
    model_path: Path
    params: dict[str, Any]
    # A PBT study's pick: ``(first epoch, parameters)`` of each segment of its lineage
    schedule: tuple[tuple[int, dict[str, Any]], ...] = ()
    # A cross-validated pick: trained on training + validation data for this many epochs
    # (its folds' mean best epoch); retrained_validation_value is then NaN
    pooled_epochs: int | None = None


def train_best(name: str, *, storage_url: str | None = None, model_path: Path | None = None,
               in_memory: "Data | None" = None, backend: str | None = None) -> BestModelResult:
    """Retrain the study's chosen trial on its data (``in_memory``: the ``hpo.Data`` a study run
    from Python was given), score the test split once, save the model. On the study's Keras
    backend unless ``backend`` names another."""
    from hpo._keras_runtime import prepare_keras, select_backend

    study, spec = load_hpo_study(name, storage_url=storage_url)
    select_backend(backend or spec.backend)
    prepare_keras()
    from hpo.trial import StudyContext, check_param_count, fit_and_score

    best = chosen_in_study(study, spec.pick_within)
    if best is None:
        if spec.pick_within is not None and pareto_front(study.get_trials(deepcopy=False), study.directions):
            raise SetupError(f"no trial on the Pareto front of study {name!r} has {spec.also_minimize} "
                             f"within pick_within={spec.pick_within:g}")
        raise SetupError(f"study {name!r} has no complete trial yet; run it first")

    objective, data = load_objective_and_data(spec, in_memory)
    context = StudyContext(spec, objective, data)  # its class weights, computed once
    params = dict(best.params)
    # The seed the trial trained with, so the retrained model repeats the search's.
    seed = records.trial_seed(spec.seed, best.number, best.user_attrs)
    scheduler = scheduler_of(spec)
    schedule: tuple[tuple[int, dict[str, Any]], ...] = ()
    if isinstance(scheduler, PopulationScheduler):  # the winning member's parameters, segment by segment
        from hpo.trial import retrain_lineage

        segments = lineage(study.get_trials(deepcopy=False), best.number)
        schedule = tuple((scheduler.segment_start(records.pbt_generation(s.user_attrs)) + 1, dict(s.params))
                         for s in segments)
        result = retrain_lineage(objective, data, scheduler, segments,
                                 lambda params, pause_at: context.fit_settings(params, seed, pause_at))
    elif spec.cv > 1 or records.fold_values(best.user_attrs):
        return _train_pooled(name, study, context, best, seed, model_path)
    else:
        settings = context.fit_settings(params, seed)
        result = fit_and_score(None, lambda: objective.build(params, data.info()), data, settings,
                               extra_callbacks=objective.callbacks(params), fit=objective.fit(params, data))
    check_param_count(objective, params, data, result.n_params)
    return _scored(name, study, best, result.model, result.value, data, model_path, params, schedule)


def _train_pooled(name: str, study: "optuna.Study", context: "StudyContext", best: "optuna.trial.FrozenTrial",
                  seed: int, model_path: Path | None) -> BestModelResult:
    """A cross-validated (or re-checked) pick, trained on training and validation data
    together for its folds' mean best epoch (``best_epoch``); no validation value is left."""
    from hpo.data import Dataset
    from hpo.trial import check_param_count, fit_for_epochs

    spec, objective, data = context.spec, context.objective, context.data
    params = dict(best.params)
    epochs = records.best_epoch(best.user_attrs) or spec.max_epochs
    pooled = data.pooled() if isinstance(data, Dataset) else data
    settings = context.fit_settings(params, seed)
    model = fit_for_epochs(lambda: objective.build(params, pooled.info()), pooled, settings, epochs,
                           extra_callbacks=objective.callbacks(params), fit=objective.fit(params, pooled))
    check_param_count(objective, params, data, int(model.count_params()))
    return _scored(name, study, best, model, math.nan, data, model_path, params, (), epochs=epochs)


def _scored(name: str, study: "optuna.Study", best: "optuna.trial.FrozenTrial", model: "keras.Model",
            retrained_value: float, data: "TrainingData", model_path: Path | None, params: dict[str, Any],
            schedule: tuple[tuple[int, dict[str, Any]], ...], *, epochs: int | None = None) -> BestModelResult:
    """Score the retrained ``model`` on the test split once, save it, record the score."""
    test_metrics: dict[str, float] = {}
    test_set = data.test_set()
    if test_set is not None:  # data without a test split (hpo.Data(test=None)) has nothing to score
        scores = model.evaluate(test_set, verbose=0, return_dict=True)
        test_metrics = {f"test_{key}": float(value) for key, value in scores.items()}

    path = model_path or (runtime_dir() / "models" / name / "best.keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    if test_metrics:
        study.set_user_attr(records.TEST_EVALUATION, {
            "trial": best.number,
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **test_metrics,
        })
    assert best.values is not None
    return BestModelResult(
        study_name=name,
        trial_number=best.number,
        validation_value=float(best.values[0]),
        retrained_validation_value=retrained_value,
        test_metrics=test_metrics,
        model_path=path,
        params=params,
        schedule=schedule,
        pooled_epochs=epochs,
    )
