"""The final model: rebuild the best configuration, train it, score it once on the test set.

This is the only code that touches the test split; the search saw validation scores only
(seed 003 validates on the test set, which leaks it into the choice of hyperparameters).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.errors import SetupError
from hpo.storage import runtime_dir


@dataclass(frozen=True)
class BestModelResult:
    study_name: str
    trial_number: int
    validation_value: float  # as stored by the search
    retrained_validation_value: float
    test_metrics: dict[str, float]
    model_path: Path
    params: dict[str, Any]


def train_best(name: str, *, storage_url: str | None = None, model_path: Path | None = None) -> BestModelResult:
    from hpo.keras_runtime import prepare_keras

    prepare_keras()
    from hpo.data import load_dataset
    from hpo.driver import load_hpo_study
    from hpo.objectives import check_param_count, load_objective
    from hpo.retries import trial_seed
    from hpo.schedules import epoch_schedule
    from hpo.selection import chosen_for, pareto_front
    from hpo.training import FitSettings, fit_and_score

    study, spec = load_hpo_study(name, storage_url=storage_url)
    best = chosen_for(study, spec)
    if best is None:
        if spec.pick_within is not None and pareto_front(study):
            raise SetupError(f"no trial of study {name!r}'s Pareto front has {spec.also_minimize} "
                             f"within pick_within={spec.pick_within:g}")
        raise SetupError(f"study {name!r} has no complete trial yet; run it first")

    module = load_objective(spec.objective)
    data = load_dataset(spec.dataset, seed=spec.seed)
    params = dict(best.params)
    settings = FitSettings(
        monitor=spec.metric,
        direction=spec.direction,
        max_epochs=spec.max_epochs,
        patience=spec.patience,
        batch_size=int(params.get("batch_size", 64)),
        seed=trial_seed(spec.seed, best.number, best.user_attrs),  # the seed the trial trained with
        learning_rate_schedule=epoch_schedule(params, spec.max_epochs),
    )
    result = fit_and_score(None, lambda: module.build(params, data.input_shape, data.n_classes), data, settings)
    check_param_count(module, params, data, result.n_params)
    scores = result.model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
    test_metrics = {f"test_{key}": float(value) for key, value in scores.items()}

    path = model_path or (runtime_dir() / "models" / name / "best.keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    result.model.save(path)
    study.set_user_attr("hpo_test_evaluation", {
        "trial": best.number,
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **test_metrics,
    })
    return BestModelResult(
        study_name=name,
        trial_number=best.number,
        validation_value=float(best.values[0]),
        retrained_validation_value=result.value,
        test_metrics=test_metrics,
        model_path=path,
        params=params,
    )
