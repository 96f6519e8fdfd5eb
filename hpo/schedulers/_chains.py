"""A configuration's trials as one chain: the trial that started it, its retries, the
continuations of its pauses and their retries.

Storage holds one Optuna trial per segment of a configuration's training (a scheduler pauses
trials, a dead worker's trial is retried), linked by the user attributes ``continues`` and
``retry_of`` (:mod:`hpo.records`). Every trial of a chain reports the whole curve so far (a
continuation reports its checkpoint's epochs again, as retries do), so the chain's curve is its
longest trial's, and its *head*, the trial with the highest number, says where it stands.
Works on anything with a FrozenTrial's ``number``, ``state``, ``intermediate_values``,
``user_attrs`` and ``params``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import hpo.records as records


@dataclass(frozen=True)
class Chain:
    root: int  # the number of the trial that started the configuration
    trials: tuple[Any, ...]  # in number order

    @property
    def head(self) -> Any:
        return self.trials[-1]

    @property
    def curve(self) -> Mapping[int, float]:
        """Step (1-based epoch) -> reported value: the longest curve among the chain's trials."""
        return max((t.intermediate_values for t in self.trials), key=len)

    @property
    def bracket(self) -> int:
        return records.bracket(self.trials[0].user_attrs)

    @property
    def active(self) -> bool:
        """Whether a trial of the chain runs or is queued."""
        return self.head.state.name in ("RUNNING", "WAITING")

    @property
    def paused_at(self) -> int | None:
        """The epoch the chain is paused after, None when it is not paused (running, queued,
        finished, or its last trial failed)."""
        head = self.head
        return records.paused_at_epoch(head.user_attrs) if head.state.name == "PRUNED" else None


def _parent(trial: Any) -> int | None:
    attrs = trial.user_attrs
    parent = records.continues(attrs)
    return parent if parent is not None else records.retry_of(attrs)


def chains(trials: Iterable[Any]) -> list[Chain]:
    """The study's trials grouped by configuration, in the order of their roots."""
    by_number = {t.number: t for t in trials}
    roots: dict[int, int] = {}

    def root(number: int) -> int:
        seen = []
        while number not in roots:
            parent = _parent(by_number[number]) if number in by_number else None
            if parent is None or parent not in by_number or parent in seen:
                roots[number] = number
                break
            seen.append(number)
            number = parent
        found = roots[number]
        for visited in seen:
            roots[visited] = found
        return found

    groups: dict[int, list[Any]] = {}
    for number in sorted(by_number):
        groups.setdefault(root(number), []).append(by_number[number])
    return [Chain(key, tuple(group)) for key, group in sorted(groups.items())]


def superseded(trials: Sequence[Any]) -> set[int]:
    """Numbers of the paused trials a live (not failed) continuation carries on: a sampler
    shown the study should see each configuration once, at its furthest trial."""
    return {parent for t in trials if t.state.name != "FAIL" and (parent := records.continues(t.user_attrs)) is not None}


def epochs_charged(trials: Iterable[Any]) -> int:
    """Epochs charged to the study's ``epoch_budget``: what each trial trained itself
    (``epochs_run``), a running trial at least the one epoch it has been granted by starting."""
    total = 0
    for trial in trials:
        run = records.epochs_run(trial.user_attrs)
        total += max(run, 1) if trial.state.name == "RUNNING" else run
    return total
