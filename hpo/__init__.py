"""hpo: resumable, pruned Optuna studies of Keras models with persistent storage.

The public API. Everything but :class:`StudySpec` is imported on first use (as
``optuna/__init__.py`` does), so ``import hpo`` in a study script and ``hpo --help`` stay
instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hpo.spec import StudySpec

if TYPE_CHECKING:
    from hpo.data import Dataset
    from hpo.driver import RunOutcome, resume, run
    from hpo.objectives import ObjectiveModule
    from hpo.study_setup import load_hpo_study

__all__ = ["Dataset", "ObjectiveModule", "RunOutcome", "StudySpec", "load_hpo_study", "resume", "run",
           "__version__"]
__version__ = "0.1.0"

_LAZY = {
    "Dataset": "hpo.data",
    "ObjectiveModule": "hpo.objectives",
    "RunOutcome": "hpo.driver",
    "resume": "hpo.driver",
    "run": "hpo.driver",
    "load_hpo_study": "hpo.study_setup",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hpo' has no attribute {name!r}")
