"""What a feature adds to a trial, as a hook the runner calls at its phases, in one written order.

A trial's phases (:class:`hpo.trial._runner.TrialRunner`): *prepare* (parameters, seed,
checkpoint, lineage), *evaluate* (plan the evaluations, fit each, score), *finish* (keep the
model, then keep or remove the checkpoint). Each feature a study may have is one hook with its
part in those phases, and nothing else:

1. :class:`SchedulerPause` - a scheduler's trial: a new configuration's first attributes, the
   pause at its next rung, and the pause read back as PRUNED with ``paused_at_epoch``;
2. :class:`EpochBudget` - each epoch granted by the study's ``epoch_budget`` before it trains;
3. :class:`PopulationRestore` - a PBT segment's parameters applied over the copied state;
4. :class:`Evaluations` - ``cv`` folds × ``repeats`` seeds, and re-checks of the leaders;
5. :class:`Tracking` - the trial's start, epochs and kept model told to the trackers.

The order is :data:`HOOKS`'; it matters where two hooks touch the same thing. The scheduler's
attributes come first, so that everything after sees a new configuration's bracket or member;
the epoch grant comes before the evaluations, which hand it to each fold; tracking comes last,
so the trackers are told of the trial as the other hooks left it. The runner asks
:func:`hooks_for` once per process for the hooks a study needs.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import hpo.records as records
from hpo.errors import TrialPaused

if TYPE_CHECKING:
    import keras

    from hpo.schedulers import Scheduler
    from hpo.tracking import Trackers
    from hpo.trial._context import EpochGrants, Scored, StudyContext, TrialRun
    from hpo.trial._evaluations import FitOne


class TrialHook:
    """One feature's part in a trial. The runner calls each method at its phase, for every hook
    in :data:`HOOKS` order; each does nothing here."""

    def prepare(self, run: "TrialRun") -> None:
        """Before training: change what the trial will do (its settings, grant, callbacks)."""

    def evaluate(self, run: "TrialRun", fit_one: "FitOne") -> "Scored | None":
        """Plan, fit and score the trial's evaluations, or None to leave it to the next hook
        (the runner's default: one training on the study's validation split)."""
        return None

    def kept(self, run: "TrialRun", model: "keras.Model") -> None:
        """The trial's best-epoch model became the study's kept model."""

    def stopped(self, run: "TrialRun", error: BaseException) -> BaseException:
        """What the error a trial ended with means: the error to raise in its place, or itself."""
        return error


class SchedulerPause(TrialHook):
    """A scheduler's trial (:mod:`hpo.schedulers`): a new configuration's first trial gets its
    bracket or member; the trial pauses after the first of its rungs it reaches
    (:class:`hpo.errors.TrialPaused`), and ends PRUNED with ``paused_at_epoch``. Its checkpoint
    stays (:func:`hpo.errors.keeps_checkpoint`): a continuation goes on from it."""

    def __init__(self, scheduler: "Scheduler") -> None:
        self.scheduler = scheduler

    def prepare(self, run: "TrialRun") -> None:
        for key, value in self.scheduler.first_attrs(run.trial.number).items():
            if key not in run.attrs:  # a new configuration's first trial
                run.trial.set_user_attr(key, value)
        run.with_settings(pause_at=self.scheduler.pause_epochs(run.trial.user_attrs))

    def stopped(self, run: "TrialRun", error: BaseException) -> BaseException:
        if not isinstance(error, TrialPaused):
            return error
        import optuna

        run.trial.set_user_attr(records.PAUSED_AT_EPOCH, error.epoch)
        return optuna.TrialPruned(str(error))


class EpochBudget(TrialHook):
    """The study's ``epoch_budget``: the trial asks for each epoch before it trains it, and ends
    with its best epoch so far when refused. A re-check of a leader counts in no budget."""

    def __init__(self, ledger: "EpochGrants") -> None:
        self.ledger = ledger

    def prepare(self, run: "TrialRun") -> None:
        if run.confirms is None:
            run.grant = self.ledger.grants(run.trial)


class PopulationRestore(TrialHook):
    """A trial that starts from another trial's checkpoint (a PBT segment, ``pbt_parent``) is
    built from its own parameters; once the copied weights and optimizer state are loaded, the
    parameters that state overrode are applied again (:meth:`hpo.objectives.Objective.apply`)."""

    def __init__(self, apply: Callable[["keras.Model", dict], None]) -> None:
        self.apply = apply

    def prepare(self, run: "TrialRun") -> None:
        if records.pbt_parent(run.attrs) is not None:
            run.after_restore = functools.partial(self._apply, run.params)

    def _apply(self, params: dict, model: "keras.Model") -> None:
        self.apply(model, params)


class Evaluations(TrialHook):
    """``cv`` folds × ``repeats`` seeds of a configuration, and the re-check of a leader on
    fresh folds (:mod:`hpo.trial._evaluations`): the trial's value is their mean."""

    def __init__(self, context: "StudyContext") -> None:
        self.spec = context.spec

    def evaluate(self, run: "TrialRun", fit_one: "FitOne") -> "Scored | None":
        from hpo.trial._context import Scored
        from hpo.trial._evaluations import earlier_values, plan, run_evaluations

        confirming = run.confirms is not None
        if not (self.spec.evaluated_more_than_once or confirming):
            return None
        evaluated = run_evaluations(
            run.trial, plan(self.spec, confirming=confirming), fit_one, checkpoint=run.checkpoint,
            grant_epoch=run.grant, reports=not confirming,
            earlier=earlier_values(run.trial, run.confirms) if run.confirms is not None else ())
        return Scored((evaluated.value,), evaluated.last)


class Tracking(TrialHook):
    """The study's trackers (:mod:`hpo.tracking`) hear of the trial's start, of each epoch of
    its reporting evaluation, and of its kept model."""

    def __init__(self, trackers: "Trackers") -> None:
        self.trackers = trackers

    def prepare(self, run: "TrialRun") -> None:
        from hpo.trial._callbacks import TrackEpochs

        self.trackers.trial_started(run.trial, run.params)
        run.reporting_callbacks.append(TrackEpochs(functools.partial(self.trackers.epoch_ended, run.trial.number)))

    def kept(self, run: "TrialRun", model: "keras.Model") -> None:
        self.trackers.model_kept(run.trial.number, model)


# Each hook, in its order, and whether a study needs it (and then how it is made).
HOOKS: tuple[tuple[type[TrialHook], Callable[["StudyContext"], TrialHook | None]], ...] = (
    (SchedulerPause, lambda context: SchedulerPause(context.scheduler) if context.scheduler is not None else None),
    (EpochBudget, lambda context: EpochBudget(context.epoch_ledger) if context.epoch_ledger is not None else None),
    (PopulationRestore, lambda context: PopulationRestore(context.objective.apply)),
    (Evaluations, Evaluations),  # a re-check may be queued whatever the study's settings are now
    (Tracking, lambda context: Tracking(context.trackers) if context.trackers is not None else None),
)


def hooks_for(context: "StudyContext") -> tuple[TrialHook, ...]:
    """The hooks the trials of this context need, in :data:`HOOKS` order."""
    made = (make(context) for _, make in HOOKS)
    return tuple(hook for hook in made if hook is not None)
