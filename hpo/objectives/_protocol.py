"""Objective modules: one per model family, and the protocol they follow.

An objective module is any Python module (built-in here, a dotted module path, or a ``.py``
file beside the study script) that follows :class:`ObjectiveModule`, or that defines
KerasTuner's ``build_model(hp)`` instead (:mod:`hpo.objectives._keras_tuner_port` adapts it). The trial
runner (:mod:`hpo.trial._runner`) calls it; the module never sees the driver or the storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, cast, runtime_checkable

from hpo._plugins import load_module
from hpo.errors import SetupError
from hpo.objectives._objective import Objective

if TYPE_CHECKING:
    import keras
    import optuna


BUILTIN = ("mlp", "cnn")


@runtime_checkable
class ObjectiveModule(Protocol):
    """What an objective module defines.

    Required:

    * ``suggest(trial) -> dict``: the search space. Typed against ``optuna.trial.BaseTrial``
      so tests drive it with ``optuna.trial.FixedTrial``; returns every parameter ``build``
      and ``fit`` need (a ``batch_size`` entry is the batch size ``fit`` uses, default 64;
      ``lr_schedule``/``lr_decay`` from :func:`hpo.objectives._schedules.suggest_schedule` set the
      learning-rate schedule).
    * ``build(params, info) -> keras.Model``: a compiled model. ``info``
      (:class:`hpo.data.ModelInfo`) has ``input_shape``, ``output_shape``, ``n_classes`` (None
      for regression), ``task`` and ``sample(n)`` (up to n training inputs, for
      ``keras.layers.Normalization.adapt``); with several inputs or outputs, the shapes, class
      counts and tasks are dicts keyed by the input's or output's name.
      ``build(params, input_shape, n_classes)`` works too (told apart by its signature). It never
      sees Optuna, so the same function rebuilds the best model (``hpo best``).

    Optional (read once, by :class:`hpo.objectives._objective.Objective`):

    * ``DEFAULT_PARAMS: dict``: a known-good configuration, enqueued as a new study's first
      trial, and the values a grid leaves out.
    * ``param_count(params, info)`` or ``param_count(params, input_shape, n_classes) -> int``:
      the parameter count by formula; a trial whose model disagrees fails (a bug in the module).
    * ``callbacks(params) -> list[keras.callbacks.Callback]``: the module's own callbacks for a
      trial; they run before hpo's pruning, early stopping
      and checkpoint callbacks.
    * ``fit(model, params, data, *, epochs, initial_epoch, callbacks)``: the module's own
      training loop, called instead of Keras' ``fit`` on hpo's
      pipelines. ``data`` is the split data: a :class:`hpo.data.Dataset` (``x_train``,
      ``y_train``, ``x_val``, ``y_val``) or a :class:`hpo.data.StreamedDataset` (``train``,
      ``validation``); ``data.pipelines(batch_size, shuffle=, seed=, repeat=False)`` gives both
      as Keras' ``fit`` takes them. It must pass ``callbacks`` on to ``model.fit`` (pruning, early stopping,
      checkpoints and the learning curve are in them), validate every epoch, and train from
      ``initial_epoch`` (a retry continues there). ``fit_options`` do not apply to it.
    """

    def suggest(self, trial: "optuna.trial.BaseTrial") -> dict[str, Any]: ...

    @property
    def build(self) -> Callable[..., "keras.Model"]:
        """``build(params, info)`` or ``build(params, input_shape, n_classes)``."""


def load_objective(name: str, *, base_dir: Path | None = None) -> Objective:
    """A built-in objective by name, a dotted module path, or a ``.py`` file path (relative
    to ``base_dir`` or the working directory; study scripts store it absolute), as the
    :class:`Objective` every caller uses (a KerasTuner ``build_model(hp)`` module adapted)."""
    target = f"hpo.objectives.{name}" if name in BUILTIN else name
    try:
        module = load_module(target, what="objective", base_dir=base_dir)
    except SetupError as error:
        if str(error).startswith("unknown objective"):
            raise SetupError(f"{error}; built-in: {', '.join(BUILTIN)}") from error
        raise
    missing = [attr for attr in ("suggest", "build") if not callable(getattr(module, attr, None))]
    if missing == ["suggest", "build"] and callable(getattr(module, "build_model", None)):
        from hpo.objectives._keras_tuner_port import KerasTunerObjective

        return Objective(KerasTunerObjective(module))  # a KerasTuner model-building function
    if missing:
        raise SetupError(f"objective {name!r} does not define {' and '.join(missing)}() "
                         "(or KerasTuner's build_model(hp))")
    return Objective(cast(ObjectiveModule, module))


