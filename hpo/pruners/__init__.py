"""Pruners hpo adds to Optuna's: :class:`LearningCurvePruner`, the default.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.pruners._learning_curve import LearningCurvePruner

__all__ = [
    "LearningCurvePruner",
]

_EXPORTS = {
    "hpo.pruners._learning_curve": ("LearningCurvePruner",),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
