"""Objective modules: one per model family.

An objective module is any Python module that defines

* ``suggest(trial) -> dict``: the search space, typed against ``optuna.trial.BaseTrial`` so
  tests can drive it with ``optuna.trial.FixedTrial``;
* ``build(params, input_shape, n_classes) -> keras.Model``: a compiled model; never sees Optuna;

and optionally

* ``DEFAULT_PARAMS``: a known-good configuration, enqueued as a new study's first trial;
* ``param_count(params, input_shape, n_classes) -> int``: the parameter count by formula,
  checked against ``model.count_params()``.

A ``batch_size`` parameter, when suggested, is the batch size used by ``fit``.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from hpo.errors import SetupError, TrialFailure

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.data import Dataset
    from hpo.spec import StudySpec
    from hpo.study_files import StudyFiles
    from hpo.training import FitResult

BUILTIN = ("mlp", "cnn")


def load_objective(name: str, *, base_dir: Path | None = None) -> ModuleType:
    """A built-in objective by name, a dotted module path, or a ``.py`` file path (relative
    to ``base_dir`` or the working directory; study scripts store it absolute)."""
    try:
        if name in BUILTIN:
            module = importlib.import_module(f"hpo.objectives.{name}")
        elif name.endswith(".py"):
            path = Path(name) if base_dir is None else (base_dir / name)
            if not path.is_file():
                raise SetupError(f"objective file {path} does not exist")
            spec = importlib.util.spec_from_file_location(f"hpo_user_objective_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(name)
    except SetupError:
        raise
    except ModuleNotFoundError as error:
        raise SetupError(
            f"unknown objective {name!r} ({error}); built-in: {', '.join(BUILTIN)}"
        ) from error
    except Exception as error:
        raise SetupError(f"objective {name!r} failed to import: {type(error).__name__}: {error}") from error
    missing = [attr for attr in ("suggest", "build") if not callable(getattr(module, attr, None))]
    if missing:
        raise SetupError(f"objective {name!r} does not define {' and '.join(missing)}()")
    return module


def make_objective(
    module: ModuleType, data: "Dataset", spec: "StudySpec", files: "StudyFiles | None" = None,
    *, warn: Callable[[str], None] = print,
) -> Callable[["optuna.trial.BaseTrial"], float | tuple[float, float]]:
    """The ``(trial) -> value`` Optuna calls: suggest, build, fit and score one trial (with
    ``spec.also_minimize``, the pair of the metric and the second objective).

    With ``files``, each trial keeps an epoch checkpoint while it trains (removed when it
    ends, kept when it is interrupted), a retry continues from the checkpoint of the trial it
    retries, and the best trial's best-epoch model is saved as a ``.keras`` file.
    """
    from hpo.retries import RETRY_OF_ATTR, trial_seed
    from hpo.schedules import epoch_schedule
    from hpo.training import FitSettings, fit_and_score

    def objective(trial: "optuna.trial.BaseTrial") -> float:
        params = module.suggest(trial)
        user_attrs = trial.user_attrs
        settings = FitSettings(
            monitor=spec.metric,
            direction=spec.direction,
            max_epochs=spec.max_epochs,
            patience=spec.patience,
            batch_size=int(params.get("batch_size", 64)),
            seed=trial_seed(spec.seed, trial.number, user_attrs),
            learning_rate_schedule=epoch_schedule(params, spec.max_epochs),
        )
        retry_of = user_attrs.get(RETRY_OF_ATTR)
        checkpoint = files.checkpoint(trial.number) if files is not None else None
        if checkpoint is not None and retry_of is not None:
            files.checkpoint(int(retry_of)).move_to(checkpoint)
        try:
            result = fit_and_score(
                trial, lambda: module.build(params, data.input_shape, data.n_classes), data,
                settings, checkpoint=checkpoint, resuming=retry_of is not None, warn=warn,
            )
            check_param_count(module, params, data, result.n_params)
            if files is not None:
                _keep_if_best(trial, result, files)
        except KeyboardInterrupt:
            raise  # the checkpoint stays: the retry continues from it
        except BaseException:
            if checkpoint is not None:
                checkpoint.remove()
            raise
        if checkpoint is not None:
            checkpoint.remove()
        if spec.also_minimize == "n_params":
            return result.value, float(result.n_params)
        if spec.also_minimize == "inference_ms":
            milliseconds = inference_ms(result.model, data.x_val)
            trial.set_user_attr("inference_ms", milliseconds)
            return result.value, milliseconds
        return result.value

    return objective


def inference_ms(model: "keras.Model", images: Any, *, repeats: int = 3, batch: int = 256) -> float:
    """Milliseconds per sample to predict a batch of validation images (best of ``repeats``,
    after one untimed call that traces the model)."""
    import time

    sample = images[:batch]
    model(sample, training=False)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        model(sample, training=False)
        best = min(best, time.perf_counter() - started)
    return 1000.0 * best / len(sample)


def _keep_if_best(trial: "optuna.trial.BaseTrial", result: "FitResult", files: "StudyFiles") -> None:
    """Save the trial's best-epoch model when it beats every finished trial so far, and
    store its weight histograms with the trial for the report.

    Files of trials that stop being the best are removed by the driver after each trial, so
    the models directory holds the best trial's model (the Pareto front's, with several
    objectives), not one per trial.
    """
    import os

    from hpo.weight_histograms import WEIGHT_HISTOGRAMS_ATTR, weight_histograms

    study = trial.study
    if len(study.directions) == 1:
        try:
            best = study.best_value
        except ValueError:
            best = None
        maximize = study.direction.name == "MAXIMIZE"
        if best is not None and not (result.value > best if maximize else result.value < best):
            return
    path = files.model_path(trial.number)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"partial-{path.name}")  # Keras wants the .keras suffix
    result.model.save(temporary)
    os.replace(temporary, path)
    trial.set_user_attr(WEIGHT_HISTOGRAMS_ATTR, weight_histograms(result.model))


def check_param_count(module: ModuleType, params: dict[str, Any], data: "Dataset", n_params: int) -> None:
    """The formula and Keras must agree; a mismatch is a bug in the objective module."""
    formula = getattr(module, "param_count", None)
    if formula is None:
        return
    expected = int(formula(params, data.input_shape, data.n_classes))
    if expected != n_params:
        raise TrialFailure(
            f"parameter count formula gives {expected} but Keras counts {n_params} "
            f"(a bug in objective {module.__name__})"
        )
