"""Promotion-type asynchronous successive halving (ASHA) and Hyperband as brackets of it.

The rule (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020, Algorithm 2;
Syne Tune's and Ray Tune's promotion schedulers follow it): rungs lie at
``min_epochs * reduction_factor**k`` epochs, below ``max_epochs``. A trial that finishes a
rung's epoch pauses there. When a worker is free it looks at the rungs from the top down;
in each, the chains that reached the rung (paused there or gone on past it) are ranked by
their value at the rung's epoch, and the best *paused* chain among the top
``floor(n / reduction_factor)`` is promoted: it continues to the next rung (or to
``max_epochs`` from the top rung). Only when no rung has a chain to promote does the worker
sample a new configuration. Unlike Optuna's SuccessiveHalvingPruner, which decides once, at
the rung, and stops for good, a paused trial may be promoted later, once enough others have
reached its rung for it to rank in the top fraction.

Hyperband runs ``s_max + 1`` such ladders (brackets) side by side, bracket ``s`` starting at
``min_epochs * reduction_factor**s``: bracket 0 is ASHA itself, the last one trains every
configuration to the top rung before it can pause. A new configuration's bracket is its
trial number modulo the number of brackets (round the brackets, as asynchronous Hyperband in
the ASHA paper, section 3.2; Syne Tune draws it at random with weights instead; continuations
take numbers too, so the brackets are filled about evenly, not exactly). Promotions stay
within a bracket.

Caveat: a trial killed in the milliseconds between its rung's checkpoint and its pause is
retried from that checkpoint and goes on past the rung, as if promoted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import hpo.records as records
from hpo.schedulers._base import NextTrial, Scheduler
from hpo.schedulers._chains import Chain, chains


@dataclass(frozen=True)
class PromotionScheduler(Scheduler):
    reduction_factor: int
    min_epochs: int
    max_epochs: int
    direction: str  # "maximize" | "minimize"
    hyperband: bool = False

    @property
    def brackets(self) -> int:
        if not self.hyperband:
            return 1
        return len(self._ladder(0))

    def _ladder(self, bracket: int) -> tuple[int, ...]:
        rungs = []
        epoch = self.min_epochs * self.reduction_factor ** bracket
        while epoch < self.max_epochs:
            rungs.append(epoch)
            epoch *= self.reduction_factor
        return tuple(rungs)

    def rungs(self, bracket: int = 0) -> tuple[int, ...]:
        """The epochs a trial of ``bracket`` pauses after, lowest first."""
        return self._ladder(min(bracket, self.brackets - 1))

    def bracket_for(self, trial_number: int) -> int:
        """The bracket of a new configuration whose first trial has this number."""
        return trial_number % self.brackets

    def first_attrs(self, trial_number: int) -> dict[str, int]:
        return {records.BRACKET: self.bracket_for(trial_number)}

    def pause_epochs(self, attrs: records.Attrs) -> frozenset[int]:
        return frozenset(self.rungs(records.bracket(attrs)))

    def next_trial(self, trials: Sequence[Any], *, can_resume: Callable[[int], bool] = lambda number: True,
                   ) -> NextTrial | None:
        """The continuation of :meth:`promotion`'s chain: same parameters, ``continues``."""
        chain = self.promotion(trials, can_resume=can_resume)
        if chain is None:
            return None
        paused = chain.head
        return NextTrial(source=paused, params=dict(paused.params),
                         attrs={records.CONTINUES: paused.number, records.BRACKET: chain.bracket}, promoted=True)

    def releasable(self, trials: Sequence[Any]) -> list[int]:
        """None before the study's end: a paused trial may rank in its rung's top fraction later."""
        return []

    def promotion(self, trials: Sequence[Any], *, can_resume: Callable[[int], bool] = lambda number: True,
                  ) -> Chain | None:
        """The paused chain a free worker should continue now, or None: sample a new one.
        ``can_resume(number)`` says whether paused trial ``number``'s checkpoint is within this
        worker's reach (a host without an artifact store sees its own checkpoints only)."""
        found = chains(trials)
        best: tuple[int, Chain] | None = None
        for bracket in range(self.brackets):
            members = [c for c in found if c.bracket == bracket]
            for rung in reversed(self.rungs(bracket)):
                chosen = self._promotable(members, rung, can_resume)
                if chosen is not None:
                    if best is None or rung > best[0]:
                        best = (rung, chosen)
                    break
        return best[1] if best is not None else None

    def _promotable(self, members: Sequence[Chain], rung: int, can_resume: Callable[[int], bool]) -> Chain | None:
        reached = [(c.curve[rung], c) for c in members if rung in c.curve and math.isfinite(c.curve[rung])]
        top = len(reached) // self.reduction_factor
        if top == 0:
            return None
        reached.sort(key=lambda pair: (-pair[0] if self.direction == "maximize" else pair[0], pair[1].root))
        for _, chain in reached[:top]:
            if chain.paused_at == rung and not chain.active and can_resume(chain.head.number):
                return chain
        return None
