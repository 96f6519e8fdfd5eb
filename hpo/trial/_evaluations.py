"""A trial's evaluations: ``cv`` folds × ``repeats`` training seeds of one configuration, run
one after another, and the value they add up to (their mean, with its standard error).

On small data one validation split decides the pick (the breast-cancer example reached
val_auc 1.0000 on 114 examples); scikit-learn's searches cross-validate by default, SMAC
re-runs its incumbents. Optuna has no notion of a trial made of several trainings, so:

* **Pruning.** Optuna's pruners compare trials at equal steps. A trial's steps are the epochs
  of its *first* evaluation (fold 0, seed 0), which is the same split for every trial of the
  study, so any pruner (median, learning-curve, Hyperband) compares like with like and stops a
  bad configuration within its first fold, at most 1/(cv·repeats) of its cost. A trial that
  passes trains its other evaluations to the end (with early stopping), unreported: their
  steps would mix folds on one axis. The learning-curve pruner compares with the best
  *reported* value of the finished trials, so a mean over folds never meets one fold's curve.
* **Kill -9.** Each finished evaluation is recorded on the trial (``fold_values``,
  ``fold_best_epochs``, ``fold_epochs``), and a retry carries them, so it goes on with the
  evaluation that was running, from its last epoch checkpoint (the trial's one checkpoint
  holds the running evaluation; it is removed *before* the finished one is recorded, so a
  checkpoint never holds an evaluation that is already counted: killed between the two, the
  retry trains that evaluation again).
* **Epoch budget.** Each later evaluation asks for its first epoch like any other; refused,
  the trial ends with the evaluations it has.
* **Re-checks** (``confirm_top``): a leader's re-check runs ``max(cv, 5)`` folds of a fresh
  fold assignment × ``repeats`` seeds, reports nothing (its folds are not the study's), and
  is scored by the mean of both trials' evaluations (:mod:`hpo.driver._confirmation`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import hpo.records as records
from hpo.errors import SetupError

if TYPE_CHECKING:
    import optuna

    from hpo.data import TrainingData
    from hpo.storage import TrialCheckpoint
    from hpo.study import StudySpec
    from hpo.trial._training import FitResult

# Repeat r trains with the trial's seed + r × this; a re-check's folds are drawn with the study's
# seed + this (another assignment of the examples to folds).
SEED_STRIDE = 1_000_003
CONFIRMATION_FOLDS = 5


@dataclass(frozen=True)
class Evaluation:
    """One training of a configuration: on ``fold`` (None: the study's validation split) with
    training seed offset ``repeat``."""

    fold: int | None
    repeat: int

    def seed(self, trial_seed: int) -> int:
        return trial_seed + self.repeat * SEED_STRIDE


def fold_count(spec: "StudySpec", *, confirming: bool = False) -> int:
    """How many folds a trial trains: ``cv``, or for a re-check at least :data:`CONFIRMATION_FOLDS`."""
    return max(spec.cv, CONFIRMATION_FOLDS) if confirming else spec.cv


def plan(spec: "StudySpec", *, confirming: bool = False) -> list[Evaluation]:
    """A trial's evaluations in the order they run: every fold of seed 0, then of seed 1, ..."""
    folds = fold_count(spec, confirming=confirming)
    each: list[int | None] = [None] if folds == 1 else list(range(folds))
    return [Evaluation(fold, repeat) for repeat in range(spec.repeats) for fold in each]


def fold_seed(spec: "StudySpec", *, confirming: bool = False) -> int:
    return spec.seed + SEED_STRIDE if confirming else spec.seed


def folds_of(data: "TrainingData", k: int, seed: int) -> list["TrainingData"]:
    """The ``k`` folds of in-memory data (:meth:`hpo.data._datasets.Dataset.folds`)."""
    from hpo.data import Dataset

    if not isinstance(data, Dataset):
        raise SetupError(f"cv needs in-memory data (arrays or DataFrames); {data.name} is streamed: "
                         "give it a validation set and use cv=1, or repeats=R")
    return list(data.folds(k, seed))


def mean_and_se(values: Sequence[float]) -> tuple[float, float | None]:
    """The mean and its standard error (sample standard deviation / √n; None for one value)."""
    mean = math.fsum(values) / len(values)
    return mean, (statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None)


# fit_one(evaluation, reporting, grant): the evaluation's training; ``reporting`` says whether it
# reports to Optuna (the first evaluation of a search trial), ``grant`` asks for its epochs.
FitOne = Callable[[Evaluation, bool, "Callable[[], bool] | None"], "FitResult"]


@dataclass(frozen=True)
class Evaluated:
    value: float
    se: float | None
    last: "FitResult | None"  # the last evaluation trained here (its model is the one kept); None
    # for a retry of a trial killed after its last evaluation was recorded


def run_evaluations(
    trial: "optuna.trial.BaseTrial", evaluations: Sequence[Evaluation], fit_one: FitOne, *,
    checkpoint: "TrialCheckpoint | None", grant_epoch: "Callable[[], bool] | None", reports: bool,
    earlier: Sequence[float] = (),
) -> Evaluated:
    """Train the evaluations this trial has not finished (a retry carries the finished ones),
    record each, and score the trial: the mean of ``earlier`` (a re-checked trial's values) and
    its own. Only the first evaluation reports to Optuna, and only when ``reports``."""
    attrs = trial.user_attrs
    values = records.fold_values(attrs) or list(earlier)
    best_epochs, epochs = records.fold_best_epochs(attrs), records.fold_epochs(attrs)
    done = len(values) - len(earlier)
    last: FitResult | None = None
    first_here = True
    for index, evaluation in enumerate(evaluations):
        if index < done:
            continue
        grant = grant_epoch
        if grant_epoch is not None and not first_here:
            if not grant_epoch():  # this evaluation's first epoch, from the study's epoch budget
                break
            grant = _first_granted(grant_epoch)
        first_here = False
        last = fit_one(evaluation, reports and index == 0, grant)
        if checkpoint is not None:
            checkpoint.remove()  # before the evaluation is counted: see the module's docstring
        values.append(last.value)
        best_epochs.append(last.best_epoch)
        epochs.append(last.epochs_trained)
        trial.set_user_attr(records.FOLD_VALUES, values)
        trial.set_user_attr(records.FOLD_BEST_EPOCHS, best_epochs)
        trial.set_user_attr(records.FOLD_EPOCHS, epochs)
    value, se = mean_and_se(values)
    if se is not None:
        trial.set_user_attr(records.VALUE_SE, se)
    if best_epochs:
        trial.set_user_attr(records.BEST_EPOCH, max(1, round(statistics.fmean(best_epochs))))
    trial.set_user_attr(records.EPOCHS_TRAINED, sum(epochs))
    return Evaluated(value, se, last)


def earlier_values(trial: "optuna.trial.BaseTrial", number: int) -> list[float]:
    """The evaluations of trial ``number``, which ``trial`` re-checks: its ``fold_values``, or its
    value when it had one evaluation."""
    study = getattr(trial, "study", None)
    confirmed = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None) if study else None
    if confirmed is None or confirmed.value is None:
        raise SetupError(f"trial {number}, which trial {trial.number} re-checks, has no value")
    return records.fold_values(confirmed.user_attrs) or [float(confirmed.value)]


def _first_granted(grant_epoch: Callable[[], bool]) -> Callable[[], bool]:
    """``grant_epoch`` whose first call answers yes without asking (it was asked already):
    :func:`hpo.trial._training.fit_and_score` takes its first call as the granted start."""
    asked = False

    def grant() -> bool:
        nonlocal asked
        if not asked:
            asked = True
            return True
        return grant_epoch()

    return grant
