"""What every scheduler answers the driver and the trial runner: :class:`Scheduler`."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

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


class Scheduler(abc.ABC):
    """Pause-and-continue rules over a study's trials, as the driver and the trial runner ask them.

    A scheduler is pure: it reads trials (``FrozenTrial``s, or anything with ``number``,
    ``state``, ``params``, ``distributions``, ``user_attrs`` and ``intermediate_values``) and
    answers; the driver writes what it decides (under the budget's lock, so two hosts never act
    on one answer) and the trial runner pauses where it says. Subclass it for a scheduler of
    your own and name it in the study (``scheduler="package.module:Name"`` or
    ``"file.py:Name"``): hpo calls it with ``scheduler_options`` as keyword arguments, and with
    ``max_epochs=``, ``direction=``, ``n_trials=`` and ``seed=`` when it takes them.
    ``pause_epochs`` and ``next_trial`` are required; the rest have defaults.
    """

    # What the study's n_trials counts, in hpo show and at the end of a run.
    counts: ClassVar[str] = "configurations"

    def first_attrs(self, trial_number: int) -> dict[str, int]:
        """User attributes of a new configuration's first trial (its bracket, its member)."""
        return {}

    @abc.abstractmethod
    def pause_epochs(self, attrs: "Attrs") -> frozenset[int]:
        """The epochs a trial with these user attributes pauses after (the first it reaches):
        it ends PRUNED with ``paused_at_epoch`` and keeps its checkpoint."""

    @abc.abstractmethod
    def next_trial(self, trials: Sequence[Any], *, can_resume: Callable[[int], bool]) -> NextTrial | None:
        """The trial a free worker should queue now, or None: sample a new configuration.
        ``can_resume(number)`` says whether trial ``number``'s checkpoint is within reach."""

    def releasable(self, trials: Sequence[Any]) -> list[int]:
        """Paused trials whose checkpoints no later trial can need any more (removed at once;
        the others are removed when the study ends)."""
        return []

    def progress_budget(self, n_trials: int) -> tuple[int, str]:
        """How many trials the progress line counts towards, and what it calls them."""
        return n_trials, "done"
