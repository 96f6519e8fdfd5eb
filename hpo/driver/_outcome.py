"""What a run returns (``hpo.run``) and the CLI prints when it ends: the study's counts, its
best trial (by :mod:`hpo._selection`'s rule) and, for studies that have them, the epochs charged
to the epoch budget, the checkpoints' peak size and what the budget counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import hpo.records as records
from hpo.driver._budget import count_configurations
from hpo.report import summarize_study
from hpo.storage import epochs_charged

if TYPE_CHECKING:
    import optuna

    from hpo.schedulers import Scheduler
    from hpo.study import StudySpec


@dataclass(frozen=True)
class RunOutcome:
    study_name: str
    metric: str
    storage: str  # masked
    n_finished: int
    budget: int
    best_value: float | None  # the metric of the best (or, multi-objective, the picked) trial
    pareto_size: int | None
    best_params: dict[str, Any] | None
    best_number: int | None
    trials_run: int  # by this call
    epochs: tuple[int, int] | None = None  # (epochs trained, epoch_budget) of a study with one
    checkpoint_peak: int | None = None  # bytes, with a scheduler (hpo.driver._scheduling)
    configurations: int | None = None  # what n_trials counts, when not every trial (budget.count_configurations)
    counted: str = "trials"  # its name: configurations (a scheduler), members (PBT), search trials (re-checks)


def outcome_of(study: "optuna.Study", spec: "StudySpec", shown: str, *, trials_run: int,
               scheduler: "Scheduler | None" = None) -> RunOutcome:
    """The outcome of a run of ``spec`` that ran ``trials_run`` trials (``shown``: the masked
    storage URL), with the study's ``scheduler`` if it has one."""
    summary, scheduled = summarize_study(study), scheduler is not None
    best, counted = summary.best, scheduler.counts if scheduler is not None else "search trials"
    return RunOutcome(
        study_name=spec.name,
        metric=spec.metric,
        storage=shown,
        n_finished=summary.n_finished,
        budget=spec.n_trials,
        best_value=best.values[0] if best else None,
        pareto_size=len(summary.pareto_front) if summary.pareto_front is not None else None,
        best_params=dict(best.params) if best else None,
        best_number=best.number if best else None,
        trials_run=trials_run,
        epochs=(epochs_charged(study), spec.epoch_budget) if spec.epoch_budget is not None else None,
        checkpoint_peak=records.checkpoint_peak(study.user_attrs) if scheduled else None,
        configurations=count_configurations(study) if scheduled or spec.confirm_top else None, counted=counted,
    )
