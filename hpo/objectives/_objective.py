"""The one view hpo has of an objective module, made once when it is loaded.

A user's module may define ``build(params, info)`` or the older ``build(params, input_shape,
n_classes)``, a ``param_count`` of either shape, or KerasTuner's ``build_model(hp)`` instead
of both (:mod:`hpo.objectives._keras_tuner_port`); ``DEFAULT_PARAMS``, ``callbacks`` and ``fit``
are optional. :class:`Objective` reads all of that once (as KerasTuner's ``get_hypermodel``
wraps any callable in a ``HyperModel``), so the trial runner, the study set-up and ``hpo best``
call one interface and never probe the module again.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.data import ModelInfo, TrainingData

# ``fit(model, *, epochs, initial_epoch, callbacks)``: the module's training loop, bound to a
# trial's parameters and data.
BoundFit = Callable[..., object]


def _takes_info(function: Callable[..., Any]) -> bool:
    """``f(params, info)`` rather than ``f(params, input_shape, n_classes)``."""
    try:
        parameters = [p for p in inspect.signature(function).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(parameters) == 2


def _with_info(function: Callable[..., Any]) -> Callable[[dict[str, Any], "ModelInfo"], Any]:
    """``function`` as ``f(params, info)``, whichever of the two signatures it has."""
    if _takes_info(function):
        return function
    return lambda params, info: function(params, info.input_shape, info.n_classes)


class Objective:
    """An objective module, normalised: ``suggest``, ``build(params, info)``, ``fit``,
    ``callbacks``, ``defaults`` and ``param_count``, whatever the module spelled."""

    def __init__(self, module: Any) -> None:
        """``module`` follows :class:`hpo.objectives.ObjectiveModule` (checked by the loader)."""
        self.module = module
        self.name = str(getattr(module, "__name__", module))
        self._suggest = module.suggest
        self._build = _with_info(module.build)
        formula = getattr(module, "param_count", None)
        self._param_count = _with_info(formula) if callable(formula) else None
        make_callbacks = getattr(module, "callbacks", None)
        self._callbacks = make_callbacks if callable(make_callbacks) else None
        fit = getattr(module, "fit", None)
        self._fit = fit if callable(fit) else None
        apply = getattr(module, "apply", None)
        self._apply = apply if callable(apply) else None
        defaults = getattr(module, "DEFAULT_PARAMS", None)
        self._defaults = dict(defaults) if isinstance(defaults, dict) else {}

    def __repr__(self) -> str:
        return f"Objective({self.name})"

    @property
    def defaults(self) -> dict[str, Any]:
        """``DEFAULT_PARAMS`` (a copy), or an empty dict."""
        return dict(self._defaults)

    @property
    def has_param_count(self) -> bool:
        return self._param_count is not None

    def suggest(self, trial: "optuna.trial.BaseTrial") -> dict[str, Any]:
        return self._suggest(trial)

    def build(self, params: dict[str, Any], info: "ModelInfo") -> "keras.Model":
        return self._build(params, info)

    def param_count(self, params: dict[str, Any], info: "ModelInfo") -> int | None:
        """The parameter count by the module's formula; None when it has none."""
        return None if self._param_count is None else int(self._param_count(params, info))

    def callbacks(self, params: dict[str, Any]) -> list[Any]:
        """The module's own Keras callbacks for a trial (they run before hpo's), or none."""
        return list(self._callbacks(params)) if self._callbacks is not None else []

    @property
    def has_apply(self) -> bool:
        return self._apply is not None

    def apply(self, model: "keras.Model", params: dict[str, Any]) -> None:
        """Make a live model (built, its checkpoint's state loaded) train with ``params``: a
        PBT segment goes on from another segment's weights and optimizer state with perturbed
        parameters. What ``build`` reads is applied by building the model from ``params``;
        the optimizer's learning rate, which its state restored, is set here from
        ``params["learning_rate"]``; the module's ``apply(model, params)``, if it has one, runs
        after, for anything else that lives in the model's state."""
        rate = params.get("learning_rate")
        optimizer = getattr(model, "optimizer", None)
        if isinstance(rate, (int, float)) and optimizer is not None:
            optimizer.learning_rate = float(rate)
        if self._apply is not None:
            self._apply(model, params)

    def fit(self, params: dict[str, Any], data: "TrainingData") -> BoundFit | None:
        """The module's ``fit`` bound to a trial's ``params`` and the data; None when hpo trains."""
        fit = self._fit
        if fit is None:
            return None

        def bound(model: "keras.Model", *, epochs: int, initial_epoch: int, callbacks: list[Any]) -> object:
            return fit(model, params, data, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks)

        return bound
