"""KerasTuner's ``build_model(hp)`` on Optuna: an objective module written for KerasTuner runs
unchanged.

KerasTuner mixes the search space and the model in one function; hpo keeps them apart
(``suggest`` sees the trial, ``build`` never does), so :class:`KerasTunerObjective` calls
``build_model`` twice per trial: once with an ``hp`` that suggests each value through the
trial (the model built then is dropped), once with an ``hp`` that replays the chosen values,
after the trial's seed is set, so the trained model is seeded like any other. A small MLP
builds in about 0.05 s, so the first call costs little next to an epoch.

The ``hp`` methods map onto Optuna's:

* ``hp.Int(name, min_value, max_value, step=None, sampling="linear"|"log", default=None)`` ->
  ``suggest_int`` (``log=True`` for ``"log"``);
* ``hp.Float(name, min_value, max_value, step=None, sampling="linear"|"log", default=None)`` ->
  ``suggest_float``;
* ``hp.Choice(name, values, ordered=None, default=None)`` and ``hp.Boolean(name, default=False)``
  -> ``suggest_categorical``;
* ``hp.Fixed(name, value)``: the value, not a search parameter;
* ``hp.get(name)``, ``hp.values``, ``hp.conditional_scope(parent_name, parent_values)`` and the
  ``parent_name``/``parent_values`` arguments: a value defined under a condition its parent does
  not meet is not suggested, and is ``None`` (as in KerasTuner).

A ``batch_size`` defined through ``hp`` is the batch size ``fit`` uses. What Optuna cannot
express (``sampling="reverse_log"``, a ``step`` with log sampling) stops the run at the start
with one line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hpo.errors import SetupError

if TYPE_CHECKING:
    import keras
    import optuna


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, (list, tuple, set, frozenset)) else [values]


class OptunaHyperParameters:
    """The ``hp`` a KerasTuner ``build_model(hp)`` receives: suggesting through ``trial``, or,
    without a trial, replaying ``values`` (parameters a trial chose)."""

    def __init__(self, trial: "optuna.trial.BaseTrial | None" = None,
                 values: Mapping[str, Any] | None = None) -> None:
        self._trial = trial
        self._given = dict(values or {})
        self.values: dict[str, Any] = {}  # the active values defined so far, as in KerasTuner
        self._conditions: list[tuple[str, list[Any]]] = []

    # Conditions --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Values defined in the block are active only while ``parent_name`` is one of ``parent_values``."""
        self._conditions.append((parent_name, _as_list(parent_values)))
        try:
            yield
        finally:
            self._conditions.pop()

    def _active(self, parent_name: str | None, parent_values: Any) -> bool:
        conditions = list(self._conditions)
        if parent_name is not None:
            conditions.append((parent_name, _as_list(parent_values)))
        return all(name in self.values and self.values[name] in values for name, values in conditions)

    def _value(self, name: str, suggest: Callable[["optuna.trial.BaseTrial"], Any], default: Any) -> Any:
        if name in self.values:  # KerasTuner: a name defined twice keeps its first value
            return self.values[name]
        if self._trial is not None:
            value = suggest(self._trial)
        else:
            value = self._given.get(name, default)
        self.values[name] = value
        return value

    # The hyperparameter types --------------------------------------------------------------------
    def Int(self, name: str, min_value: int, max_value: int, step: int | None = None,  # noqa: N802 - KerasTuner's name
            sampling: str = "linear", default: int | None = None,
            parent_name: str | None = None, parent_values: Any = None) -> int | None:
        log = _sampling(f"hp.Int({name!r})", sampling, step, allow_step=True)
        if not self._active(parent_name, parent_values):
            return None
        int_step = step or 1
        return self._value(name, lambda trial: trial.suggest_int(name, min_value, max_value, step=int_step, log=log),
                           min_value if default is None else default)

    def Float(self, name: str, min_value: float, max_value: float, step: float | None = None,  # noqa: N802
              sampling: str = "linear", default: float | None = None,
              parent_name: str | None = None, parent_values: Any = None) -> float | None:
        log = _sampling(f"hp.Float({name!r})", sampling, step, allow_step=True)
        if not self._active(parent_name, parent_values):
            return None
        return self._value(name, lambda trial: trial.suggest_float(name, min_value, max_value, step=step, log=log),
                           min_value if default is None else default)

    def Choice(self, name: str, values: Sequence[Any], ordered: bool | None = None,  # noqa: N802
               default: Any = None, parent_name: str | None = None, parent_values: Any = None) -> Any:
        choices = list(values)
        if not choices:
            raise SetupError(f"hp.Choice({name!r}) has no values")
        if not self._active(parent_name, parent_values):
            return None
        return self._value(name, lambda trial: trial.suggest_categorical(name, choices),
                           choices[0] if default is None else default)

    def Boolean(self, name: str, default: bool = False,  # noqa: N802
                parent_name: str | None = None, parent_values: Any = None) -> bool | None:
        if not self._active(parent_name, parent_values):
            return None
        return self._value(name, lambda trial: trial.suggest_categorical(name, [False, True]), default)

    def Fixed(self, name: str, value: Any,  # noqa: N802
              parent_name: str | None = None, parent_values: Any = None) -> Any:
        if not self._active(parent_name, parent_values):
            return None
        self.values.setdefault(name, value)
        return self.values[name]

    def get(self, name: str) -> Any:
        """The value of ``name``, defined earlier in the same build."""
        if name not in self.values:
            raise ValueError(f"hyperparameter {name!r} is not defined (or not active) yet")
        return self.values[name]


def _sampling(what: str, sampling: str, step: float | None, *, allow_step: bool) -> bool:
    """True for log sampling; one line for what Optuna cannot express."""
    sampling = (sampling or "linear").lower()
    if sampling not in ("linear", "log"):
        raise SetupError(f"{what}: sampling {sampling!r} has no Optuna equivalent; use 'linear' or 'log'")
    if sampling == "log" and step not in (None, 1):
        raise SetupError(f"{what}: a step with log sampling has no Optuna equivalent; drop the step "
                         "or sample linearly")
    return sampling == "log"


class KerasTunerObjective:
    """An objective module (:class:`hpo.objectives.ObjectiveModule`) made of a module that
    defines KerasTuner's ``build_model(hp)``."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.__name__ = module.__name__
        self._build_model: Callable[[OptunaHyperParameters], "keras.Model"] = module.build_model

    def suggest(self, trial: "optuna.trial.BaseTrial") -> dict[str, Any]:
        hp = OptunaHyperParameters(trial=trial)
        self._build_model(hp)  # run for its hp calls; the model is built again, seeded, by build
        return {name: value for name, value in hp.values.items() if value is not None}

    def build(self, params: dict[str, Any], info: Any) -> "keras.Model":
        return self._build_model(OptunaHyperParameters(values=params))
