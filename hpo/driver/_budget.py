"""The budget: counting a study's trials by state, and claiming a slot before a trial starts.

The budget is a *total*: a study whose script says ``n_trials=30`` should end with 30 finished
(complete or pruned) trials however often it is interrupted and re-run (optuna/optuna#2638).
Failed trials do not count; they are replaced by running more trials.

Several processes share one budget through :func:`claim_slot`: a process counts finished and
running trials under the study's slot lock (:func:`slot_lock`) and keeps the lock until its
trial is RUNNING in storage. On PostgreSQL and MySQL the lock is the database's own (an
advisory lock), so workers of any number of hosts share it; on SQLite, which serves one host,
it is a file lock of this host.

Two more budgets share the lock. ``epoch_budget`` counts epochs: :class:`EpochLedger` grants
each epoch of a trial before it starts, so the study's total is exact however many workers
train. And with a scheduler (:mod:`hpo.schedulers`), a free worker continues a paused trial
before it starts a new configuration (:func:`hpo.driver._scheduling.promote`), decided under the
same lock, so two hosts never promote the same trial.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

import hpo.records as records
from hpo._interrupts import stop_requested
from hpo.driver._confirmation import is_recheck, leaders_to_recheck, queue_recheck
from hpo.driver._recovery import recover_dead_trials
from hpo.driver._scheduling import promote, release_copied, resumable
from hpo.schedulers import epochs_charged
from hpo.storage import SERVER_BACKENDS, DatabaseLock, count_by_state, rdb_storage, study_id, trial_id
from hpo.storage import epochs_charged as stored_epochs_charged
from hpo.trial import fold_count

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from hpo.schedulers import NextTrial, Scheduler
    from hpo.storage import StudyFiles
    from hpo.study import StudySpec

# How often a worker whose budget is all taken by running trials looks again. At the end of a
# study the others wait this long, at most, after the last trial ends before they exit (one
# count query a poll).
BUDGET_POLL_S = 0.25


class SlotLock(Protocol):
    """A lock acquired and released by separate calls (``release`` is idempotent)."""

    def acquire(self) -> None: ...

    def release(self) -> None: ...


def slot_lock(study: "optuna.Study", files: "StudyFiles") -> SlotLock:
    """The lock :func:`claim_slot` holds: the database's on PostgreSQL and MySQL (any number of
    hosts), else a file lock of this host (SQLite, one host)."""
    storage = rdb_storage(study)
    if storage is not None:
        backend = storage.engine.dialect.name
        if backend in SERVER_BACKENDS:
            # Optuna's own MaxTrialsCallback counts without a lock: with 6 processes on
            # PostgreSQL and a budget of 20 it let 24-25 trials start (measured in issue 16);
            # the lock held from the count until `ask` has made the trial RUNNING gives 20.
            return DatabaseLock(storage.engine, f"hpo-slot-{study_id(study)}")
    return files.slot_lock()


def count_finished(study: "optuna.Study") -> int:
    """Trials that count towards the budget: complete or pruned (not failed, not running)."""
    from optuna.trial import TrialState

    counts = count_by_state(study)
    return counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]


def count_configurations(study: "optuna.Study") -> int:
    """Finished trials that were a configuration's first: with a scheduler, the budget counts
    configurations (PBT members), not their pauses and continuations; with ``confirm_top``,
    the search's trials, not the re-checks."""
    from optuna.trial import TrialState

    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return sum(not queued_by_scheduler(t.user_attrs) and not is_recheck(t.user_attrs) for t in finished)


def count_started(study: "optuna.Study") -> int:
    """Trials that have started (in any state but waiting)."""
    from optuna.trial import TrialState

    counts = count_by_state(study)
    return sum(counts.values()) - counts[TrialState.WAITING]


@dataclass(frozen=True)
class BudgetState:
    """What the budget allows now: start a trial (a continuation of ``promotion`` when one is
    due), wait (``running`` trials may still free a slot or pause), or nothing more (``done``)."""

    may_start: bool
    done: bool
    running: int
    promotion: "NextTrial | None" = None
    recheck: "FrozenTrial | None" = None  # a leader to re-check (confirm_top), queued by claim_slot


def queued_by_scheduler(attrs: records.Attrs) -> bool:
    """Whether a trial goes on from another's checkpoint at a scheduler's word (a continuation,
    a later PBT segment, or a retry of one), rather than being a configuration's first."""
    return records.continues(attrs) is not None or records.pbt_parent(attrs) is not None


def budget_state(study: "optuna.Study", spec: "StudySpec", scheduler: "Scheduler | None" = None,
                 files: "StudyFiles | None" = None) -> BudgetState:
    """Read the budget once (the caller holds the slot lock). Finished and running trials
    count towards ``n_trials`` (with a scheduler, configurations: continuations do not count),
    granted epochs towards ``epoch_budget``."""
    from optuna.trial import TrialState

    if scheduler is None and spec.confirm_top:
        return _with_rechecks(study, spec)
    if scheduler is None:
        counts = count_by_state(study)
        finished, running = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED], counts[TrialState.RUNNING]
        epochs_left = spec.epoch_budget is None or stored_epochs_charged(study) < spec.epoch_budget
        may_start = finished + running < spec.n_trials and epochs_left
        done = finished >= spec.n_trials or (not epochs_left and running == 0)
        return BudgetState(may_start, done and not may_start, running)
    # A scheduler reads every trial's curve to rank them (a few ms at a few hundred trials).
    trials = study.get_trials(deepcopy=False)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    if spec.epoch_budget is not None and epochs_charged(trials) >= spec.epoch_budget:
        return BudgetState(False, running == 0, running)
    if any(t.state == TrialState.WAITING and queued_by_scheduler(t.user_attrs) for t in trials):
        return BudgetState(True, False, running)  # a continuation queued by another worker
    promotion = scheduler.next_trial(trials, can_resume=lambda number: files is None or resumable(files, number))
    if promotion is not None:
        return BudgetState(True, False, running, promotion)
    configurations = [t for t in trials if not queued_by_scheduler(t.user_attrs)]
    taken = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) for t in configurations)
    if taken < spec.n_trials:
        return BudgetState(True, False, running)
    return BudgetState(False, running == 0, running)


def _with_rechecks(study: "optuna.Study", spec: "StudySpec") -> BudgetState:
    """:func:`budget_state` of a study that re-checks its leaders once the search's budget is
    met (:mod:`hpo.driver._confirmation`): re-checks count towards neither budget."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    search = [t for t in trials if not is_recheck(t.user_attrs)]
    finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in search)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    searching = sum(t.state == TrialState.RUNNING for t in search)
    epochs_left = spec.epoch_budget is None or stored_epochs_charged(study) < spec.epoch_budget
    if finished < spec.n_trials and (epochs_left or searching):
        return BudgetState(finished + searching < spec.n_trials and epochs_left, False, running)
    if searching:
        return BudgetState(False, False, running)  # the leaders are known once the search ends
    if any(t.state == TrialState.WAITING and is_recheck(t.user_attrs) for t in trials):
        return BudgetState(True, False, running)  # a re-check's retry
    leaders = leaders_to_recheck(trials, spec)
    if leaders:
        return BudgetState(True, False, running, recheck=leaders[0])
    return BudgetState(False, running == 0, running)


def claim_slot(
    study: "optuna.Study", spec: "StudySpec", files: "StudyFiles", slot: SlotLock,
    out: Callable[[str], None], scheduler: "Scheduler | None" = None,
) -> bool:
    """Take the slot lock when the budget allows one more trial; False when it is met.

    Finished and running trials both count, and the lock stays held until the new trial is
    RUNNING in storage, so N workers of this host never start more trials than the budget
    has left. While every remaining slot is taken by a running trial, wait: that trial may
    fail (it does not count then) and need replacing, or pause and be promoted. With the
    database's lock (:func:`slot_lock`) this holds for workers of any number of hosts. With a
    scheduler, a paused trial due for promotion is queued here (its continuation is the
    next trial ``optimize`` starts).
    """
    announced = False
    while True:
        if files.has_dead_worker():
            recover_dead_trials(study, spec, files, out)
        slot.acquire()
        state = budget_state(study, spec, scheduler, files)
        if state.may_start:
            if state.promotion is not None:
                assert scheduler is not None
                promote(study, spec, state.promotion)
                release_copied(study, scheduler, files)
            if state.recheck is not None:
                queue_recheck(study, spec, state.recheck)
                seeds = f" x {spec.repeats} seeds" if spec.repeats > 1 else ""
                out(f"re-checking trial {state.recheck.number} ({spec.metric} {state.recheck.value:.4g}) "
                    f"on {fold_count(spec, confirming=True)} fresh folds{seeds}")
            return True  # held until the trial starts
        slot.release()
        if state.done:
            return False
        if not announced:
            out(f"waiting: the rest of the budget is taken by {state.running} running trial(s)")
            announced = True
        if stop_requested():
            raise KeyboardInterrupt  # stopped while waiting: no trial of ours is running
        time.sleep(BUDGET_POLL_S)
        recover_dead_trials(study, spec, files, out)  # stale heartbeats of other hosts


class EpochLedger:
    """Grants a trial's epochs one at a time against the study's ``epoch_budget``, under the
    slot lock, so that workers of any number of hosts together train exactly the budget.

    A trial's first epoch was granted when it started (:func:`budget_state` counts a running
    trial as at least one epoch); each further one is asked for at the end of the epoch before
    and charged as the trial's ``epochs_run``. Refused, the trial ends with its best epoch so
    far. A dead trial is charged the epochs its checkpoint holds (:mod:`hpo.driver._recovery`),
    so the epoch it lost is granted again to its retry.
    """

    def __init__(self, study: "optuna.Study", budget: int, lock: SlotLock) -> None:
        self.study, self.budget, self.lock = study, budget, lock

    def grants(self, trial: "optuna.trial.BaseTrial") -> Callable[[], bool]:
        """The trial's ``grant()``: True when it may train one more epoch (charged to it)."""
        own = 0
        number = trial_id(trial)  # type: ignore[arg-type]

        def grant() -> bool:
            nonlocal own
            if own > 0:
                self.lock.acquire()
                try:
                    if stored_epochs_charged(self.study, excluding=number) + own + 1 > self.budget:
                        return False
                    own += 1
                    trial.set_user_attr(records.EPOCHS_RUN, own)
                finally:
                    self.lock.release()
                return True
            own = 1  # granted by the trial's start
            trial.set_user_attr(records.EPOCHS_RUN, own)
            return True

        return grant
