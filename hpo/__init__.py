"""hpo: resumable, pruned Optuna studies of Keras models with persistent storage.

The public API (:mod:`hpo._api`). User code fails one trial on purpose with
``raise hpo.TrialFailure("reason")`` (stored as the trial's ``fail_reason``; the study goes on)
and stops the study with ``raise hpo.SetupError("what is wrong")`` (one line, exit 2).
Everything but :class:`StudySpec` and the two errors is imported on first use (as
``optuna/__init__.py`` does), so ``import hpo`` in a study script and ``hpo --help`` stay
instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports
from hpo.errors import SetupError, TrialFailure
from hpo.study import StudySpec

if TYPE_CHECKING:
    from hpo._api import load_study, resume, run
    from hpo.data import Data, Dataset, ModelInfo, StreamedDataset
    from hpo.driver import RunOutcome
    from hpo.objectives import ObjectiveModule

__all__ = ["Data", "Dataset", "ModelInfo", "ObjectiveModule", "RunOutcome", "SetupError", "StreamedDataset", "StudySpec",
           "TrialFailure", "load_study", "resume", "run", "__version__"]
__version__ = "0.1.0"

_EXPORTS = {
    "hpo._api": ("load_study", "resume", "run"),
    "hpo.data": ("Data", "Dataset", "ModelInfo", "StreamedDataset"),
    "hpo.driver": ("RunOutcome",),
    "hpo.objectives": ("ObjectiveModule",),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
