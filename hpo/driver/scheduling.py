"""The driver's side of a scheduler (:mod:`hpo.schedulers`): a promotion written to storage,
and the paused trials' checkpoints kept while they may still be continued.

A promotion is a continuation queued with ``enqueue_trial`` (the paused trial's parameters,
seed and bracket, and ``continues``), written under the slot lock by the worker that will run
it (:func:`hpo.driver.budget.claim_slot`). The paused trial gets ``promoted_to``: Optuna
refuses to change a finished trial, so that one attribute is written into its table directly
(:func:`hpo.storage.optuna_private.set_finished_trial_user_attr`); nothing hpo decides reads
it (the continuation's ``continues`` is the link hpo follows), it is there for the user's tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import hpo.records as records
from hpo.schedulers import make_scheduler
from hpo.schedulers.chains import chains
from hpo.storage.optuna_private import set_finished_trial_user_attr, study_id, study_storage, trial_id

if TYPE_CHECKING:
    import optuna

    from hpo.schedulers.chains import Chain
    from hpo.schedulers.promotion import PromotionScheduler
    from hpo.storage.study_files import StudyFiles
    from hpo.study.spec import StudySpec


def scheduler_of(spec: "StudySpec") -> "PromotionScheduler | None":
    """The study's scheduler, None without one."""
    return make_scheduler(spec.scheduler, spec.scheduler_options, max_epochs=spec.max_epochs,
                          direction=spec.direction)


def promote(study: "optuna.Study", spec: "StudySpec", chain: "Chain") -> int:
    """Queue the continuation of ``chain``'s paused trial; returns the continuation's number."""
    from optuna.trial import TrialState

    paused = chain.head
    study.enqueue_trial(dict(paused.params), user_attrs=records.continuation_attrs(
        continues=paused.number, seed=records.trial_seed(spec.seed, paused.number, paused.user_attrs),
        bracket=chain.bracket))
    storage = study_storage(study)
    waiting = storage.get_all_trials(study_id(study), deepcopy=False, states=(TrialState.WAITING,))
    number = max(t.number for t in waiting if records.continues(t.user_attrs) == paused.number)
    set_finished_trial_user_attr(storage, trial_id(paused), records.PROMOTED_TO, number)
    return number


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
