"""The driver's side of a scheduler (:mod:`hpo.schedulers`): a promotion or a population's next
segment written to storage, and the paused trials' checkpoints kept while they may still be
continued or copied.

A promotion is a continuation queued with ``enqueue_trial`` (the paused trial's parameters,
seed and bracket, and ``continues``), written under the slot lock by the worker that will run
it (:func:`hpo.driver._budget.claim_slot`); a PBT segment likewise, with the parameters and
``pbt_*`` attributes the scheduler chose. A promoted trial gets ``promoted_to``: Optuna
refuses to change a finished trial, so that one attribute is written into its table directly
(:func:`hpo.storage._optuna_private.set_finished_trial_user_attr`); nothing hpo decides reads
it (the continuation's ``continues`` is the link hpo follows), it is there for the user's tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import hpo.records as records
from hpo.schedulers import chains, make_scheduler
from hpo.storage import set_finished_trial_user_attr, study_id, study_storage, trial_id

if TYPE_CHECKING:
    import optuna

    from hpo.schedulers import NextTrial, Scheduler
    from hpo.storage import StudyFiles
    from hpo.study import StudySpec


def scheduler_of(spec: "StudySpec") -> "Scheduler | None":
    """The study's scheduler, None without one."""
    return make_scheduler(spec.scheduler, spec.scheduler_options, max_epochs=spec.max_epochs,
                          direction=spec.direction, n_trials=spec.n_trials, seed=spec.seed)


def promote(study: "optuna.Study", spec: "StudySpec", chosen: "NextTrial") -> int:
    """Queue the trial a scheduler chose; returns its number."""
    from optuna.trial import TrialState

    source = chosen.source
    attrs = {**chosen.attrs, records.SEED: records.trial_seed(spec.seed, source.number, source.user_attrs)}
    study.enqueue_trial(dict(chosen.params), user_attrs=attrs)
    storage = study_storage(study)
    waiting = storage.get_all_trials(study_id(study), deepcopy=False, states=(TrialState.WAITING,))
    number = max(t.number for t in waiting if all(t.user_attrs.get(k) == v for k, v in attrs.items()))
    if chosen.promoted:
        set_finished_trial_user_attr(storage, trial_id(source), records.PROMOTED_TO, number)
    return number


def release_copied(study: "optuna.Study", scheduler: "Scheduler", files: "StudyFiles") -> None:
    """Remove the paused trials' checkpoints the scheduler says no trial can need any more
    (a population's older segments), here and in the artifact store."""
    for number in scheduler.releasable(study.get_trials(deepcopy=False)):
        checkpoint = files.checkpoint(number)
        if checkpoint.epochs_done() > 0:
            checkpoint.remove()


def resumable(files: "StudyFiles", number: int) -> bool:
    """Whether trial ``number``'s checkpoint is within this host's reach (its own directory, or
    the artifact store's uploads)."""
    return files.checkpoint(number).epochs_done() > 0


def paused_checkpoints(study: "optuna.Study") -> list[int]:
    """Numbers of the paused trials whose checkpoints a continuation may still need."""
    return [c.head.number for c in chains(study.get_trials(deepcopy=False)) if c.paused_at is not None]


def note_checkpoint_peak(study: "optuna.Study", files: "StudyFiles") -> None:
    """After a trial paused: raise the study's record of the most disk this host's checkpoints
    took (``hpo_checkpoint_peak_bytes``), which the run prints at its end. Read and written
    without a lock: two hosts pausing at once may each keep their own peak, not the larger."""
    used = files.checkpoint_bytes()
    if used > records.checkpoint_peak(study.user_attrs):
        study.set_user_attr(records.CHECKPOINT_PEAK, used)


def release_paused(study: "optuna.Study", files: "StudyFiles") -> int:
    """At the end of a study (nothing runs, the budget is met): remove the paused trials'
    checkpoints, here and in the artifact store, since no trial will continue them. Returns
    how many. A later run with a larger budget samples new configurations instead (a paused
    trial without its checkpoint is never promoted: :func:`resumable`)."""
    numbers = paused_checkpoints(study)
    for number in numbers:
        files.checkpoint(number).remove()
    return len(numbers)
