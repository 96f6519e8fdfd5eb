"""Trials left RUNNING by a dead process: failed with a reason, then retried from their checkpoint.

A retry is a new trial with the dead trial's parameters, queued with ``enqueue_trial``. It
takes over the dead trial's epoch checkpoint and seed, so it continues the same learning
curve. The link is stored on the retry as user attributes (:mod:`hpo.records`; Optuna's
``RetryHeartbeatStaleTrialCallback`` keeps it in system attributes, which views do not show).

A worker of this host whose process is gone is provably dead, so its trial is recovered at
once; a trial of another host is recovered once Optuna's heartbeat says it is stale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

import hpo.records as records
from hpo.driver._scheduling import paused_checkpoints
from hpo.storage import StudyFiles, process_is_dead, stale_trial_ids, storage_lock_for, study_id, study_storage, trial_id

if TYPE_CHECKING:
    import optuna

    from hpo.study import StudySpec

Printer = Callable[[str], None]


def queue_retry(
    study: "optuna.Study",
    *,
    number: int,
    params: Mapping[str, Any],
    user_attrs: Mapping[str, Any],
    study_seed: int,
    max_retries: int,
    files: StudyFiles,
) -> str:
    """Queue a retry of trial ``number``, unless it has been retried ``max_retries`` times.

    Returns what happened, for the log line.
    """
    attempt = records.retry_attempt(user_attrs) + 1
    if attempt > max_retries:
        files.checkpoint(number).remove()
        return f"not retried: its trial was already retried {max_retries} times"
    study.enqueue_trial(
        dict(params),
        user_attrs=records.retry_attrs(
            retry_of=number, attempt=attempt, seed=records.trial_seed(study_seed, number, user_attrs),
            carried=user_attrs),
    )
    epochs = files.checkpoint(number).epochs_done()
    where = f"from epoch {epochs + 1}" if epochs else "from epoch 1 (no checkpoint)"
    return f"retry queued {where}"


def retry_trial(study: "optuna.Study", spec: "StudySpec", files: StudyFiles,
                trial: "optuna.trial.FrozenTrial | optuna.trial.Trial") -> str:
    """:func:`queue_retry` of ``trial`` with the spec's seed and retry limit."""
    return queue_retry(study, number=trial.number, params=trial.params, user_attrs=trial.user_attrs,
                       study_seed=spec.seed, max_retries=spec.max_retries, files=files)


def recover_dead_trials(study: "optuna.Study", spec: "StudySpec", files: StudyFiles, out: Printer,
                        *, lock: bool = True) -> None:
    """Fail RUNNING trials whose worker is gone, with the reason stored, and queue retries.

    Under the storage's lock, so that one process recovers a trial; ``lock=False`` when the
    caller holds it already (the lock is not re-entrant). Optuna's heartbeat also fails stale
    trials, but only after its grace period and without a reason (a finished trial's
    attributes can no longer be written).
    """
    if lock:
        with storage_lock_for(study):
            _recover(study, spec, files, out)
    else:
        _recover(study, spec, files, out)


def _recover(study: "optuna.Study", spec: "StudySpec", files: StudyFiles, out: Printer) -> None:
    from optuna.trial import TrialState

    storage = study_storage(study)
    stale_ids = stale_trial_ids(storage, study_id(study))
    local_workers = files.running_workers()
    running = {trial_id(t): t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    for storage_id, worker in local_workers.items():
        if storage_id not in running and process_is_dead(worker):
            files.clear_running(storage_id)  # its trial ended (e.g. Ctrl-C) or was recovered elsewhere
    for storage_id, trial in running.items():
        worker = local_workers.get(storage_id, "")
        if worker and process_is_dead(worker):
            reason = f"worker {worker} died while running this trial"
        elif storage_id in stale_ids:
            reason = f"worker {worker or 'on another host'} stopped sending heartbeats"
        else:
            continue
        try:
            charged = records.epochs_run(trial.user_attrs)
            if charged:  # the epoch budget gets back the epoch in flight (hpo.driver._budget.EpochLedger)
                storage.set_trial_user_attr(storage_id, records.EPOCHS_RUN, min(charged, _epochs_finished(files, trial)))
            storage.set_trial_user_attr(storage_id, records.FAIL_REASON, reason)
            storage.set_trial_state_values(storage_id, state=TrialState.FAIL)
        except Exception:  # noqa: BLE001 - another process recovered it first; it queued the retry
            files.clear_running(storage_id)
            continue
        files.clear_running(storage_id)
        retry = retry_trial(study, spec, files, trial)
        out(f"[trial {trial.number:>4}] FAIL      {reason}; {retry}")


def taken_over(study: "optuna.Study", storage_id: int, out: Printer) -> bool:
    """Whether trial ``storage_id``, which this process was running when its write failed, was
    finished by another process meanwhile: failed as stale because this one was cut off (frozen,
    suspended, or without its database past the grace period) and retried elsewhere. Says so;
    the caller drops the trial's work here."""
    from hpo.storage import finished_trial

    trial = finished_trial(study, storage_id)  # from the database, not this process's cache
    if not trial.state.is_finished():
        return False
    reason = records.fail_reason(trial.user_attrs) or trial.state.name
    out(f"[trial {trial.number:>4}] DROPPED   finished by another worker while this one was cut off "
        f"({reason}); its retry goes on, what was trained here is dropped")
    return True


def _epochs_finished(files: StudyFiles, trial: "optuna.trial.FrozenTrial") -> int:
    """Epochs a dead trial finished itself: its checkpoint's (saved before an epoch is
    reported), less those it took over. A checkpoint only another host held, with no artifact
    store, is unknown here: then the epochs it reported. A trial of several evaluations (``cv``,
    ``repeats``) that finished one keeps its whole charge: which of its evaluations it took over
    is not recorded, so the epoch in flight stays charged (the budget is short by one epoch)."""
    if records.fold_epochs(trial.user_attrs):
        return records.epochs_run(trial.user_attrs)
    start = records.resumed_from_epoch(trial.user_attrs) or 1
    done = max(files.checkpoint(trial.number).epochs_done(), max(trial.intermediate_values, default=0))
    return max(0, done - start + 1)


def sweep_checkpoints(study: "optuna.Study", files: StudyFiles) -> None:
    """Remove checkpoints no trial will resume from, so disk use stays bounded.

    A checkpoint is kept while its trial runs, while a waiting or running retry or
    continuation refers to it (one that has just started may not have taken it over yet),
    and while its trial is paused (:mod:`hpo.schedulers`): a continuation may still need it.
    """
    from optuna.trial import TrialState

    numbers = files.checkpointed_trials()
    if not numbers:
        return
    live = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
    needed = {t.number for t in live if t.state == TrialState.RUNNING}
    needed |= {n for t in live if (n := records.retry_of(t.user_attrs)) is not None}
    needed |= {n for t in live if (n := records.continues(t.user_attrs)) is not None}
    needed |= set(paused_checkpoints(study))
    for number in numbers:
        if number not in needed:
            files.checkpoint(number).remove()
