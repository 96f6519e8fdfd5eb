"""Objective modules: one per model family, and the protocol they follow.

An objective module is any Python module (a built-in one, :mod:`hpo.objectives.mlp` and
:mod:`hpo.objectives.cnn`, a dotted module path, or a ``.py`` file beside the study script)
that follows :class:`ObjectiveModule`, or that defines KerasTuner's ``build_model(hp)``
instead. hpo reads it once into an :class:`Objective`; the trial runner calls that, and the
module never sees the driver or the storage. :func:`suggest_schedule`, :func:`make_optimizer`
and :func:`output_head` are the built-in objectives' parts, for a module of one's own.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.objectives._objective import Objective
    from hpo.objectives._optimizers import OPTIMIZERS, make_optimizer
    from hpo.objectives._output import output_head, single_input
    from hpo.objectives._protocol import BUILTIN, ObjectiveModule, load_objective
    from hpo.objectives._schedules import epoch_schedule, suggest_schedule

__all__ = [
    "BUILTIN", "OPTIMIZERS", "Objective", "ObjectiveModule", "epoch_schedule", "load_objective",
    "make_optimizer", "output_head", "single_input", "suggest_schedule",
]

_EXPORTS = {
    "hpo.objectives._objective": ("Objective",),
    "hpo.objectives._optimizers": ("OPTIMIZERS", "make_optimizer"),
    "hpo.objectives._output": ("output_head", "single_input"),
    "hpo.objectives._protocol": ("BUILTIN", "ObjectiveModule", "load_objective"),
    "hpo.objectives._schedules": ("epoch_schedule", "suggest_schedule"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
