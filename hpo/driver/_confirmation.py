"""Re-checking the leaders (``confirm_top=k``), after SMAC's intensification: once the search's
budget is met, each of the ``k`` best configurations is trained again on a fresh assignment of
the examples to ``max(cv, 5)`` folds (× ``repeats`` seeds) by a trial with ``confirms`` (the
re-checked trial's number); the re-check is scored by the mean of both trials' evaluations
(:mod:`hpo.trial._evaluations`), and the pick is among the re-checks (:mod:`hpo._selection`).

A re-check is one more trial, queued under the budget's slot lock (so two hosts never queue
the same), run by any worker like the search's trials, retried like them when its worker
dies. It is not counted in ``n_trials`` and its epochs are not charged to ``epoch_budget``: the
search's budgets stay what they were, and the re-checks' cost is printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import hpo.records as records

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from hpo.study import StudySpec


def is_recheck(attrs: records.Attrs) -> bool:
    return records.confirms(attrs) is not None


def leaders_to_recheck(trials: Sequence["FrozenTrial"], spec: "StudySpec") -> list["FrozenTrial"]:
    """The ``confirm_top`` best complete search trials that no trial re-checks yet (in any
    state: a failed re-check is retried by recovery, or stays failed), best first."""
    from optuna.trial import TrialState

    checked = {records.confirms(t.user_attrs) for t in trials}
    search = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
              and not is_recheck(t.user_attrs)]
    sign = -1.0 if spec.direction == "maximize" else 1.0
    leaders = sorted(search, key=lambda t: (sign * float(t.value), t.number))[:spec.confirm_top]  # type: ignore[arg-type]
    return [t for t in leaders if t.number not in checked]


def queue_recheck(study: "optuna.Study", spec: "StudySpec", trial: "FrozenTrial") -> None:
    """Queue the re-check of ``trial`` (same parameters and seed)."""
    study.enqueue_trial(dict(trial.params), user_attrs={
        records.CONFIRMS: trial.number, records.SEED: records.trial_seed(spec.seed, trial.number, trial.user_attrs)})
