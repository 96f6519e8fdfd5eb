"""hpo: resumable, pruned Optuna studies of Keras models with persistent storage."""

from hpo.spec import StudySpec

__all__ = ["StudySpec", "__version__"]
__version__ = "0.1.0"
