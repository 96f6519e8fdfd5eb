"""hpo: resumable, pruned Optuna studies of Keras models with persistent storage.

The public API (:mod:`hpo.api`). User code fails one trial on purpose with
``raise hpo.TrialFailure("reason")`` (stored as the trial's ``fail_reason``; the study goes on)
and stops the study with ``raise hpo.SetupError("what is wrong")`` (one line, exit 2).
Everything but :class:`StudySpec` and the two errors is imported on first use (as
``optuna/__init__.py`` does), so ``import hpo`` in a study script and ``hpo --help`` stay
instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hpo.errors import SetupError, TrialFailure
from hpo.study.spec import StudySpec

if TYPE_CHECKING:
    from hpo.api import load_study, resume, run
    from hpo.data.datasets import Data, Dataset, ModelInfo, StreamedDataset
    from hpo.driver.outcome import RunOutcome
    from hpo.objectives import ObjectiveModule

__all__ = ["Data", "Dataset", "ModelInfo", "ObjectiveModule", "RunOutcome", "SetupError", "StreamedDataset", "StudySpec",
           "TrialFailure", "load_study", "resume", "run", "__version__"]
__version__ = "0.1.0"

_LAZY = {
    "Data": "hpo.data",
    "Dataset": "hpo.data",
    "ModelInfo": "hpo.data",
    "ObjectiveModule": "hpo.objectives",
    "RunOutcome": "hpo.driver.outcome",
    "StreamedDataset": "hpo.data",
    "load_study": "hpo.api",
    "resume": "hpo.api",
    "run": "hpo.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hpo' has no attribute {name!r}")
