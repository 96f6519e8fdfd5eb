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
    import optuna

    from hpo.data import Dataset
    from hpo.spec import StudySpec

BUILTIN = ("mlp",)


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
    module: ModuleType, data: "Dataset", spec: "StudySpec"
) -> Callable[["optuna.trial.BaseTrial"], float]:
    """The ``(trial) -> float`` Optuna calls: suggest, build, fit and score one trial."""
    from hpo.training import FitSettings, fit_and_score

    def objective(trial: "optuna.trial.BaseTrial") -> float:
        params = module.suggest(trial)
        settings = FitSettings(
            monitor=spec.metric,
            direction=spec.direction,
            max_epochs=spec.max_epochs,
            patience=spec.patience,
            batch_size=int(params.get("batch_size", 64)),
            seed=spec.seed + trial.number,
        )
        result = fit_and_score(
            trial, lambda: module.build(params, data.input_shape, data.n_classes), data, settings
        )
        check_param_count(module, params, data, result.n_params)
        return result.value

    return objective


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
