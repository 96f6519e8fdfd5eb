"""Schedulers: trials that pause at a rung and continue later from their checkpoints.

Optuna's pruners can only stop a trial. A scheduler (``scheduler="asha"``, ``"hyperband"`` or
``"pbt"``, options in ``scheduler_options``) pauses one instead: the trial ends PRUNED with
``paused_at_epoch`` and keeps its epoch checkpoint, and a free worker later queues a trial
that goes on from that checkpoint (weights and optimizer state, from any host through the
artifact store). How that reads in storage is in :mod:`hpo.records`.

* ``asha`` and ``hyperband`` (:class:`PromotionScheduler`) *promote* a paused trial that ranks
  well enough into a continuation with the same parameters; :func:`chains` groups a
  configuration's trials into one chain.
* ``pbt`` (:class:`PopulationScheduler`) trains a population in segments; at each segment's
  end a member in the bottom fraction copies a top member's checkpoint and perturbs its
  ``mutable`` parameters.

A scheduler replaces the pruner: a study with both is refused. Every scheduler answers the
driver through the :class:`Scheduler` protocol; these are pure rules over trials.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.schedulers._base import NextTrial, Scheduler
    from hpo.schedulers._chains import Chain, chains, epochs_charged, superseded
    from hpo.schedulers._population import PopulationScheduler, checked_exploration, lineage, members, perturb
    from hpo.schedulers._promotion import PromotionScheduler
    from hpo.schedulers._registry import (
        SCHEDULER_NAMES,
        SCHEDULER_OPTIONS,
        SCHEDULERS,
        SchedulerKind,
        check_scheduler,
        make_scheduler,
    )

__all__ = [
    "Chain", "NextTrial", "PopulationScheduler", "PromotionScheduler", "SCHEDULERS", "SCHEDULER_NAMES",
    "SCHEDULER_OPTIONS", "Scheduler", "SchedulerKind", "chains", "check_scheduler", "checked_exploration",
    "epochs_charged", "lineage", "make_scheduler", "members", "perturb", "superseded",
]

_EXPORTS = {
    "hpo.schedulers._base": ("NextTrial", "Scheduler"),
    "hpo.schedulers._chains": ("Chain", "chains", "epochs_charged", "superseded"),
    "hpo.schedulers._population": (
        "PopulationScheduler", "checked_exploration", "lineage", "members", "perturb",
    ),
    "hpo.schedulers._promotion": ("PromotionScheduler",),
    "hpo.schedulers._registry": (
        "SCHEDULERS", "SCHEDULER_NAMES", "SCHEDULER_OPTIONS", "SchedulerKind", "check_scheduler",
        "make_scheduler",
    ),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
