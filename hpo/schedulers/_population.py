"""Population-based training (PBT; Jaderberg et al., "Population Based Training of Neural
Networks", 2017), asynchronous, on Optuna trials.

``population`` members (the study's ``n_trials`` configurations, drawn by its sampler) train in
segments of ``interval`` epochs, each segment one trial: it starts from a checkpoint, trains
to the segment's end and pauses there (PRUNED with ``paused_at_epoch``); the last segment,
ending at ``max_epochs``, completes with the member's value. Its user attributes say where it
belongs: ``pbt_member`` (the member's first trial's number), ``pbt_generation`` and
``pbt_parent`` (the trial whose checkpoint it started from).

When a member's segment has ended at epoch ``e``, a free worker decides its next one (under
the slot lock, as promotions are). The members that have reached ``e`` are ranked by their
value at ``e``; the top and bottom ``ceil(quantile * n)`` (at most half each) are the top and
bottom fractions. A member in the bottom one *exploits*: its next segment starts from the
checkpoint a random top member saved at ``e`` (weights, optimizer state, early stopping's
state) with that member's parameters, and *explores*: each ``mutable`` parameter is resampled
from its distribution with probability ``resample_probability``, else multiplied by 0.8 or
1.2 (a categorical one moves to a neighbouring choice), kept within its distribution. Any
other member goes on from its own checkpoint with its parameters unchanged. This is Ray
Tune's PopulationBasedTraining rule (truncation selection, perturbation factors 0.8/1.2,
resampling 0.25) applied at the same epoch, so every ranked value is at equal training.

Asynchronous: a member does not wait for the others at a segment's end; it is ranked among the
members that have reached that epoch, and the worker takes the member that is furthest
behind first (so with one worker the population moves in step). New members are drawn before
any segment is decided, so the first ranking sees the whole population.

Checkpoints at ``e`` are kept while a member may still decide at ``e`` or a queued segment
still has to copy one (:meth:`PopulationScheduler.releasable`): about one per member at a time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

import hpo.records as records
from hpo.errors import SetupError
from hpo.schedulers._base import NextTrial, Scheduler

PERTURBATION_FACTORS = (0.8, 1.2)
_ACTIVE = ("RUNNING", "WAITING")


def members(trials: Sequence[Any]) -> dict[int, list[Any]]:
    """Member -> its trials (segments and their retries), in number order."""
    found: dict[int, list[Any]] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        member = records.pbt_member(trial.user_attrs)
        if member is not None:
            found.setdefault(member, []).append(trial)
    return found


def lineage(trials: Sequence[Any], number: int) -> list[Any]:
    """The segments that made trial ``number``'s model, oldest first (across exploits: the
    parent of a member's segment may be another member's)."""
    by_number = {t.number: t for t in trials}
    chain: list[Any] = []
    current = by_number.get(number)
    while current is not None and current not in chain:
        chain.append(current)
        parent = records.pbt_parent(current.user_attrs)
        current = by_number.get(parent) if parent is not None else None
    return chain[::-1]


@dataclass(frozen=True)
class PopulationScheduler(Scheduler):
    population: int
    interval: int
    mutable: tuple[str, ...]
    quantile: float
    resample_probability: float
    max_epochs: int
    direction: str  # "maximize" | "minimize"
    seed: int = 0
    # The user's explore function (scheduler_options["explore"], by its reference) and its name
    explore_with: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    explore_name: str | None = None

    counts: ClassVar[str] = "members"

    def progress_budget(self, n_trials: int) -> tuple[int, str]:
        """A PBT study counts segments (one trial each): its members times the segments of
        ``max_epochs`` (a member that stops early has fewer)."""
        return n_trials * math.ceil(self.max_epochs / self.interval), "segments done"

    def segment_end(self, generation: int) -> int:
        """The epoch segment ``generation`` (0-based) trains to."""
        return min((generation + 1) * self.interval, self.max_epochs)

    def segment_start(self, generation: int) -> int:
        """The epochs a segment of ``generation`` starts with (from its parent's checkpoint)."""
        return min(generation * self.interval, self.max_epochs)

    def first_attrs(self, trial_number: int) -> dict[str, int]:
        return {records.PBT_MEMBER: trial_number, records.PBT_GENERATION: 0}

    def pause_epochs(self, attrs: records.Attrs) -> frozenset[int]:
        end = self.segment_end(records.pbt_generation(attrs))
        return frozenset({end}) if end < self.max_epochs else frozenset()

    def _fraction(self, n: int) -> int:
        return min(math.ceil(self.quantile * n), n // 2)

    def _ranked(self, found: dict[int, list[Any]], epoch: int) -> list[tuple[int, Any]]:
        """``(member, its trial that reported epoch)`` of the members that reached ``epoch``,
        best first."""
        reached = []
        for member, segments in found.items():
            # The segment that trained epoch itself: a later one reports it again, and after
            # an exploit that is the other member's value.
            at = [t for t in segments if math.isfinite(t.intermediate_values.get(epoch, math.nan))
                  and self.segment_start(records.pbt_generation(t.user_attrs)) < epoch]
            if at:
                reached.append((member, at[-1]))
        sign = -1.0 if self.direction == "maximize" else 1.0
        return sorted(reached, key=lambda pair: (sign * pair[1].intermediate_values[epoch], pair[0]))

    def next_trial(self, trials: Sequence[Any], *, can_resume: Callable[[int], bool] = lambda number: True,
                   ) -> NextTrial | None:
        """The next segment of the member furthest behind whose segment has ended; None when
        no member waits (sample a new member, or wait for the running ones)."""
        found = members(trials)
        if len(found) < self.population:
            return None
        ready = []
        for member, segments in found.items():
            head = segments[-1]
            paused = records.paused_at_epoch(head.user_attrs)
            if head.state.name == "PRUNED" and paused is not None and can_resume(head.number):
                ready.append((paused, member, head))
        if not ready:
            return None
        epoch, member, head = min(ready, key=lambda item: (item[0], item[1]))
        generation = records.pbt_generation(head.user_attrs) + 1
        source, params = head, dict(head.params)
        ranked = self._ranked(found, epoch)
        k = self._fraction(len(ranked))
        rng = random.Random(f"pbt-{self.seed}-{head.number}")
        if k and member in [m for m, _ in ranked[-k:]]:
            donors = [t for _, t in ranked[:k] if records.paused_at_epoch(t.user_attrs) == epoch
                      and t.state.name == "PRUNED" and can_resume(t.number)]
            if donors:
                source = rng.choice(donors)
                params = self.explore(dict(source.params), source.distributions, rng)
        attrs = {records.PBT_MEMBER: member, records.PBT_GENERATION: generation, records.PBT_PARENT: source.number}
        return NextTrial(source=source, params=params, attrs=attrs, promoted=False)

    def explore(self, params: dict[str, Any], distributions: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """``params`` with each ``mutable`` one perturbed (see the module's docstring), then
        handed to the study's own explore function, if it has one (``scheduler_options``'
        ``explore``, called as ``explore(params) -> params``, as Ray Tune's
        ``custom_explore_fn``): what it returns must stay within the search space."""
        for name in self.mutable:
            if name in params and name in distributions:
                params[name] = perturb(params[name], distributions[name], rng, self.resample_probability)
        if self.explore_with is None:
            return params
        name = self.explore_name or "explore"
        try:
            explored = self.explore_with(dict(params))
        except Exception as error:  # noqa: BLE001 - the user's function: one line naming it
            raise SetupError(f"scheduler_options: explore {name!r} failed: {type(error).__name__}: {error}") from None
        return checked_exploration(explored, params, distributions, name)

    def releasable(self, trials: Sequence[Any]) -> list[int]:
        """Paused segments whose checkpoints no member can copy any more: no queued or running
        trial starts from them, and no member may still decide at their epoch (paused at or
        before it, or training a segment that ends there or before)."""
        found = members(trials)
        needed_from = {records.pbt_parent(t.user_attrs) for t in trials if t.state.name in _ACTIVE}
        undecided = []
        for segments in found.values():
            head = segments[-1]
            paused = records.paused_at_epoch(head.user_attrs)
            if head.state.name == "PRUNED" and paused is not None:
                undecided.append(paused)
            elif head.state.name in _ACTIVE:
                undecided.append(self.segment_end(records.pbt_generation(head.user_attrs)))
        lowest = min(undecided, default=math.inf)
        return [t.number for segments in found.values() for t in segments
                if t.state.name == "PRUNED" and (paused := records.paused_at_epoch(t.user_attrs)) is not None
                and paused < lowest and t.number not in needed_from]


def checked_exploration(explored: Any, params: dict[str, Any], distributions: dict[str, Any],
                        name: str) -> dict[str, Any]:
    """What a user's explore function returned, as a segment's parameters: the same names, each
    value within its distribution (a one-line :class:`SetupError` otherwise: the population
    cannot go on with parameters its search space does not hold)."""
    if not isinstance(explored, dict) or set(explored) != set(params):
        raise SetupError(f"scheduler_options: explore {name!r} must return the parameters it was given "
                         f"({', '.join(sorted(params))}), got {explored!r}")
    for key, value in explored.items():
        distribution = distributions.get(key)
        if distribution is not None and not _within(value, distribution):
            raise SetupError(f"scheduler_options: explore {name!r} returned {key}={value!r}, outside its "
                             f"search space ({distribution})")
    return explored


def _within(value: Any, distribution: Any) -> bool:
    """Whether ``value`` is one an Optuna ``distribution`` could have suggested."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    if not isinstance(distribution, (FloatDistribution, IntDistribution)):
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if not distribution.low <= value <= distribution.high:
        return False
    if isinstance(distribution, IntDistribution) and value != int(value):
        return False
    if distribution.step is None:
        return True
    steps = (value - distribution.low) / distribution.step
    return abs(steps - round(steps)) < 1e-8


def perturb(value: Any, distribution: Any, rng: random.Random, resample_probability: float) -> Any:
    """One PBT explore step of ``value`` within its Optuna ``distribution``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    resample = rng.random() < resample_probability
    if isinstance(distribution, CategoricalDistribution):
        choices = list(distribution.choices)
        if resample or value not in choices:
            return rng.choice(choices)
        index = choices.index(value) + rng.choice((-1, 1))
        return choices[min(max(index, 0), len(choices) - 1)]
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        low, high = distribution.low, distribution.high
        if resample:
            if distribution.log:
                new = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                new = rng.uniform(low, high)
        else:
            new = value * rng.choice(PERTURBATION_FACTORS)
        step = distribution.step
        if step is not None:
            new = low + round((new - low) / step) * step
        new = min(max(new, low), high)
        return int(round(new)) if isinstance(distribution, IntDistribution) else float(new)
    return value
