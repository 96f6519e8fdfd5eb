"""What every scheduler answers the driver and the trial runner (:mod:`hpo.schedulers`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

if TYPE_CHECKING:
    from hpo.records import Attrs


@dataclass(frozen=True)
class NextTrial:
    """A trial a scheduler wants queued: ``params`` (fixed), ``attrs`` (user attributes besides
    the seed), starting from trial ``source``'s checkpoint and taking its seed; ``promoted``
    says whether ``source`` gets ``promoted_to`` (a paused configuration continued)."""

    source: Any  # a FrozenTrial
    params: dict[str, Any]
    attrs: dict[str, int]
    promoted: bool


class Scheduler(Protocol):
    """What the driver and the trial runner ask of a scheduler."""

    def first_attrs(self, trial_number: int) -> dict[str, int]:
        """User attributes of a new configuration's first trial."""

    def pause_epochs(self, attrs: "Attrs") -> frozenset[int]:
        """The epochs a trial with these user attributes pauses after (the first it reaches)."""

    def next_trial(self, trials: Sequence[Any], *, can_resume: Callable[[int], bool]) -> NextTrial | None:
        """The trial a free worker should queue now, or None: sample a new configuration.
        ``can_resume(number)`` says whether trial ``number``'s checkpoint is within reach."""

    def releasable(self, trials: Sequence[Any]) -> list[int]:
        """Paused trials whose checkpoints no later trial can need any more."""
