"""The one rule for which trial a study stands for: its best trial, or its Pareto front's pick.

A single-objective study's best trial is its complete trial with the best value. A study that
also minimises the parameter count (or the inference time) has a Pareto front; the spec's
``pick_within`` picks one of it: the best metric among the front's trials whose second
objective is within that budget (without a budget: the best metric). Ties go to the earlier
trial. Once leading configurations have been re-checked (``confirm_top``), the pick is among the
re-checks only, each scored by all of its configuration's evaluations: a configuration that
was not re-checked has fewer, and its value is the luckier for it. ``hpo show``, ``hpo best``,
the progress line, the report and the kept model all call :func:`chosen_trial`, so they never disagree.

The rule works on a list of trials (anything with ``number``, ``state`` and ``values``), so the
report applies it to its snapshot and the trial runner to the finished trials plus the one
that has just trained.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

import hpo.records as records

if TYPE_CHECKING:
    import optuna


class _Scored(Protocol):
    @property
    def number(self) -> int: ...

    @property
    def values(self) -> list[float] | None: ...


T = TypeVar("T", bound=_Scored)


def _maximize(direction: object) -> bool:
    """A direction as Optuna's enum or as hpo's string."""
    name = getattr(direction, "name", direction)
    return str(name).lower() == "maximize"


def _complete(trials: Iterable[T]) -> list[T]:
    return [t for t in trials if getattr(t.state, "name", None) == "COMPLETE" and t.values]  # type: ignore[attr-defined]


def _oriented(trial: _Scored, maximize: Sequence[bool]) -> tuple[float, ...]:
    """The trial's values turned so that smaller is better in every objective."""
    assert trial.values is not None
    return tuple(-v if up else v for v, up in zip(trial.values, maximize))


def pareto_front(trials: Iterable[T], directions: Sequence[object]) -> list[T]:
    """The complete trials no other complete trial dominates, by number.

    Sorted by the first objective, a trial can only be dominated by one before it, and only by
    one that is itself on the front, so each trial is compared with the front so far.
    """
    maximize = [_maximize(d) for d in directions]
    keyed = sorted(((_oriented(t, maximize), t.number, t) for t in _complete(trials)),
                   key=lambda item: (item[0], item[1]))
    front: list[tuple[tuple[float, ...], T]] = []
    for key, _, trial in keyed:
        dominated = any(all(a <= b for a, b in zip(other, key)) and other != key
                        for other, _ in front)
        if not dominated:
            front.append((key, trial))
    return sorted((trial for _, trial in front), key=lambda t: t.number)


def chosen_trial(trials: Iterable[T], directions: Sequence[object],
                 pick_within: float | None = None) -> T | None:
    """The best trial, or the Pareto front's pick; None when nothing qualifies yet."""
    maximize = _maximize(directions[0])
    if len(directions) == 1:
        candidates = _complete(trials)
        rechecks = [t for t in candidates if records.confirms(getattr(t, "user_attrs", None) or {}) is not None]
        candidates = rechecks or candidates
    else:
        candidates = pareto_front(trials, directions)
        if pick_within is not None:
            candidates = [t for t in candidates if t.values is not None and t.values[1] <= pick_within]
    if not candidates:
        return None
    # Best first objective; among equals, the earlier trial.
    return min(candidates, key=lambda t: ((-1 if maximize else 1) * t.values[0], t.number))  # type: ignore[index]


def chosen_in_study(study: "optuna.Study", pick_within: float | None = None) -> "optuna.trial.FrozenTrial | None":
    """:func:`chosen_trial` among a stored study's complete trials."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return chosen_trial(complete, study.directions, pick_within)
