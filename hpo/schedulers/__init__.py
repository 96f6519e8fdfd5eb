"""Schedulers: trials that pause at a rung and continue later from their checkpoints.

Optuna's pruners can only stop a trial. A scheduler (``scheduler="asha"`` or
``"hyperband"``, options in ``scheduler_options``) pauses one instead: the trial ends PRUNED
with ``paused_at_epoch`` and keeps its epoch checkpoint, and a free worker later *promotes* it,
when it ranks well enough, into a new trial with the same parameters that continues its
curve from the checkpoint (weights and optimizer state, from any host through the artifact
store). How that reads in storage is in :mod:`hpo.records`; the rule that picks what to
promote is :mod:`hpo.schedulers.promotion`'s, and :mod:`hpo.schedulers.chains` groups a
configuration's trials into one chain.

A scheduler replaces the pruner: a study with both is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from hpo.errors import SetupError

if TYPE_CHECKING:
    from hpo.schedulers.promotion import PromotionScheduler

SCHEDULER_NAMES = ("none", "asha", "hyperband")
# The options each scheduler takes, with their defaults.
SCHEDULER_OPTIONS: dict[str, dict[str, int]] = {
    "none": {},
    "asha": {"reduction_factor": 3, "min_epochs": 1},
    "hyperband": {"reduction_factor": 3, "min_epochs": 1},
}


def check_scheduler(name: str, options: Mapping[str, Any], *, pruner: str, max_epochs: int) -> dict[str, int]:
    """The scheduler's options with their defaults filled in; a one-line :class:`SetupError`
    for an unknown name or option, a bad value, or a pruner beside the scheduler."""
    if name not in SCHEDULER_NAMES:
        raise SetupError(f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULER_NAMES)}")
    known = SCHEDULER_OPTIONS[name]
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(known) or "none"
        raise SetupError(f"scheduler {name!r} takes no option {', '.join(map(repr, unknown))} (it takes: {takes})")
    if name == "none":
        return {}
    if pruner != "none":
        raise SetupError(f"scheduler {name!r} decides which trials go on, so it needs pruner='none' "
                         f"(got pruner {pruner!r}): pass --pruner none")
    values = {**known, **options}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SetupError(f"scheduler_options: {key} must be a positive integer, got {value!r}")
    if values["reduction_factor"] < 2:
        raise SetupError(f"scheduler_options: reduction_factor must be at least 2, got {values['reduction_factor']}")
    if values["min_epochs"] >= max_epochs:
        raise SetupError(f"scheduler_options: min_epochs ({values['min_epochs']}) must be below max_epochs "
                         f"({max_epochs}), or no trial would ever pause")
    return values


def make_scheduler(name: str, options: Mapping[str, Any], *, max_epochs: int,
                   direction: str) -> "PromotionScheduler | None":
    """The scheduler a study names (options already checked by :func:`check_scheduler`), or
    None for ``"none"``."""
    if name == "none":
        return None
    from hpo.schedulers.promotion import PromotionScheduler

    values = {**SCHEDULER_OPTIONS[name], **options}
    return PromotionScheduler(reduction_factor=values["reduction_factor"], min_epochs=values["min_epochs"],
                              max_epochs=max_epochs, direction=direction, hyperband=name == "hyperband")


__all__ = ["SCHEDULER_NAMES", "SCHEDULER_OPTIONS", "check_scheduler", "make_scheduler"]
