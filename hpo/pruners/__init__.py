"""Pruners hpo adds to Optuna's."""

from hpo.pruners.learning_curve import LearningCurvePruner

__all__ = ["LearningCurvePruner"]
