"""Which trial a study stands for: its best trial, or one picked from its Pareto front.

A single-objective study has one best trial. A study that also minimises the parameter count
(or the inference time) has a Pareto front; the spec's ``pick_within`` states the rule that
picks one of it: the best metric among the front's trials whose second objective is within
that budget (without a budget: the best metric). ``hpo show``, ``hpo best``, the progress
lines and the kept model all use this one rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

    from hpo.spec import StudySpec


def pareto_front(study: "optuna.Study") -> list["optuna.trial.FrozenTrial"]:
    """The non-dominated complete trials, by number."""
    return sorted(study.best_trials, key=lambda t: t.number)


def chosen_trial(study: "optuna.Study", pick_within: float | None = None) -> "optuna.trial.FrozenTrial | None":
    """The best trial, or the Pareto front's pick; None when nothing qualifies yet."""
    if len(study.directions) == 1:
        try:
            return study.best_trial
        except ValueError:  # no complete trial
            return None
    front = pareto_front(study)
    if pick_within is not None:
        front = [t for t in front if t.values[1] <= pick_within]
    if not front:
        return None
    maximize = study.directions[0].name == "MAXIMIZE"
    return (max if maximize else min)(front, key=lambda t: t.values[0])


def chosen_for(study: "optuna.Study", spec: "StudySpec | None") -> "optuna.trial.FrozenTrial | None":
    return chosen_trial(study, spec.pick_within if spec is not None else None)
