"""Run, resume and work on a study: the loop that composes the other rooms.

``run`` prepares the study (:mod:`hpo.driver._study_setup`), then runs trials until the budget is met
(:mod:`hpo.driver._budget`): in this process, or in worker processes (:mod:`hpo.driver._workers`), each of
which calls ``work``. Every trial goes through :func:`work_loop`: claim a slot of the budget,
run the trial (:mod:`hpo.trial._runner`) with its failures recorded (:mod:`hpo.driver._failures`),
print the progress line (:mod:`hpo.driver._progress`), keep the chosen trial's model.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Sequence

import hpo.records as records
from hpo._environment import PARENT_PID_ENV
from hpo._interrupts import end_deferral, graceful_stop, stop_requested
from hpo._keras_runtime import active_backend, long_lived_heap_frozen, select_backend, use_deterministic_ops
from hpo._selection import chosen_in_study
from hpo.data import MEMORY_DATASET
from hpo.driver._budget import EpochLedger, budget_state, claim_slot, count_finished, slot_lock
from hpo.driver._devices import describe, worker_device
from hpo.driver._failures import ConsecutiveFailureGuard, TrialFunction, recording_failures
from hpo.driver._outcome import RunOutcome, outcome_of
from hpo.driver._progress import ProgressPrinter, start_line
from hpo.driver._recovery import retry_trial, taken_over
from hpo.driver._scheduling import note_checkpoint_peak, release_paused, scheduler_of
from hpo.driver._study_setup import StudyConnection, load_objective_and_data, make_strategies, prepare, stored_spec
from hpo.driver._workers import supervise
from hpo.errors import SetupError, StorageError, TooManyFailuresError, TrialFailure, classify
from hpo.storage import StudyFiles, finished_trial, given_up, host_name, riding_out, trial_id
from hpo.study import StudySpec
from hpo.tracking import Trackers, check_targets, open_trackers
from hpo.trial import StudyContext

if TYPE_CHECKING:
    import optuna

    from hpo.data import Data, TrainingData
    from hpo.objectives import Objective
    from hpo.schedulers import Scheduler
    from hpo.trial import TrialValue

Printer = Callable[[str], None]
# Each worker seeds its sampler differently, or N workers would propose the same points.
WORKER_SEED_STRIDE = 100_003


def _print(line: str) -> None:
    print(line, flush=True)


def run(
    spec: StudySpec,
    *,
    storage_url: str | None = None,
    objective: TrialFunction | None = None,
    out: Printer = _print,
    data: "Data | None" = None,
    gpus: Sequence[str] = (),
) -> RunOutcome:
    """Create the study (or resume it) and run trials until the budget is met.

    With ``spec.workers`` above 1 (or worker recycling on), trials run in worker processes
    (see :mod:`hpo.driver._workers`); otherwise in this process. ``objective`` replaces the spec's
    Keras objective with any ``(trial) -> value`` callable (used by benchmarks and tests); the
    spec still supplies name, direction, sampler and budget. ``data`` (an ``hpo.Data`` the
    caller holds) replaces ``spec.dataset``: it cannot be handed to worker processes, so its
    trials run in this process.
    """
    if gpus and spec.workers == 1 and not spec.recycle_after:
        from hpo.driver._devices import CUDA_ENV

        os.environ[CUDA_ENV] = gpus[0]  # training here: its GPU, before TensorFlow is imported
    if objective is None:
        select_backend(spec.backend)  # before the objective module imports Keras
    if data is not None:
        if spec.workers > 1:
            raise SetupError("data passed from Python trains in this process; use workers=1 "
                             "(or a data module: dataset='my_data.py')")
        spec = spec.with_overrides(dataset=MEMORY_DATASET, recycle_after=0)
    # A run that trains here checks its metric before the study exists; workers check theirs.
    trains_here = objective is None and spec.workers == 1 and not spec.recycle_after
    if objective is None:
        check_targets(spec)
    prepared = prepare(spec, storage_url, load_objective=objective is None, out=out,
                       check=_check_metric if trains_here else None, data=data)
    spec, study, files = prepared.spec, prepared.study, prepared.files  # a grid may set the budget
    scheduler = scheduler_of(spec)  # this process's one scheduler
    finished = count_finished(study)
    if budget_state(study, spec, scheduler, files).done:
        out(f"study {spec.name!r} already has {finished}/{spec.n_trials} finished trials"
            f"{'' if spec.epoch_budget is None else ' or its epoch budget spent'}; nothing to run")
        return outcome_of(study, spec, prepared.shown, trials_run=0, scheduler=scheduler)

    trackers = open_trackers(spec, study, out, prepare=True) if objective is None else None
    out(start_line(spec, prepared.shown, finished, is_new=prepared.is_new, keras=objective is None))

    if objective is not None:  # a plain callable (tests, benchmarks): no Keras, no workers
        if spec.workers > 1:
            raise SetupError("several workers need the study's own objective, not a callable")
        trials_run = work_loop(study, spec, objective, files, out, scheduler=scheduler)
        return outcome_of(study, spec, prepared.shown, trials_run=trials_run, scheduler=scheduler)
    module, loaded = prepared.objective, prepared.data
    assert module is not None and loaded is not None
    out(f"data {loaded.describe()}")
    trials_run = _train(prepared.url, spec, files, study, out, gpus, scheduler, trackers=trackers, here=lambda: work_loop(
        study, spec, _trial_runner(StudyContext(spec, module, loaded, files, scheduler, _ledger(study, spec, files),
                                                trackers, out)), files, out, scheduler=scheduler, trackers=trackers))
    return outcome_of(study, spec, prepared.shown, trials_run=trials_run, scheduler=scheduler)


def resume(
    name: str, *, storage_url: str | None = None, overrides: dict[str, Any] | None = None,
    out: Printer = _print, data: "Data | None" = None, gpus: Sequence[str] = (),
) -> RunOutcome:
    """Continue study ``name`` with the settings stored with it (``overrides`` replace some)."""
    spec = stored_spec(name, storage_url=storage_url)
    return run(spec.with_overrides(**(overrides or {})), storage_url=storage_url, out=out, data=data, gpus=gpus)


def join(name: str, *, storage_url: str, overrides: dict[str, Any] | None = None,
         out: Printer = _print, gpus: Sequence[str] = ()) -> RunOutcome:
    """``hpo worker NAME``: run trials of a stored study on this machine (in ``workers``
    processes) until its budget is met, beside the workers of any other machine. The study's
    stored settings stay as they are; ``overrides`` (workers, heartbeat) apply here only."""
    import optuna

    from hpo.storage import mask_url

    spec = stored_spec(name, storage_url=storage_url).with_overrides(**(overrides or {}))
    select_backend(spec.backend)
    check_targets(spec)
    connection = StudyConnection(storage_url, spec, out, create=False)
    study, files = optuna.load_study(study_name=name, storage=connection.storage), connection.files
    shown = mask_url(storage_url)
    out(f"joined study {name!r} in {shown} from {host_name()}: {count_finished(study)}/{spec.n_trials} "
        f"finished, {spec.workers} worker(s) here")
    trackers, scheduler = open_trackers(spec, study, out, prepare=True), scheduler_of(spec)
    trials_run = _train(storage_url, spec, files, study, out, gpus, scheduler, trackers=trackers,
                        here=lambda: work(name, storage_url=storage_url, out=out, overrides=overrides))
    return outcome_of(study, spec, shown, trials_run=trials_run, scheduler=scheduler)


def _train(url: str, spec: StudySpec, files: StudyFiles, study: "optuna.Study", out: Printer, gpus: Sequence[str],
           scheduler: "Scheduler | None", *, here: Callable[[], int], trackers: "Trackers | None" = None) -> int:
    """The one path of ``run`` and ``join`` to their trials: worker processes (several, or
    recycled ones), else ``here()`` in this process. Returns the number of trials run. The
    ``trackers`` (:mod:`hpo.tracking`) hear when the study's budget is met."""
    if gpus:  # how the workers use them
        out(describe(list(gpus), spec.workers) or "")
    try:  # recycling needs worker processes too
        pool = spec.workers > 1 or spec.recycle_after
        trials_run = supervise(url, spec, files, study, out, gpus, scheduler) if pool else here()
        if trackers is not None:
            chosen = chosen_in_study(study, spec.pick_within)
            trackers.study_ended(budget_state(study, spec, scheduler, files).done,
                                 chosen.number if chosen is not None else None)
    finally:
        if trackers is not None:
            trackers.close()  # what an interrupted trial's epochs left queued
    return trials_run


def work(
    name: str, *, storage_url: str, max_trials: int | None = None, worker_number: int = 1,
    out: Printer = _print, overrides: dict[str, Any] | None = None,
) -> int:
    """One worker process: trials of a study another process created until the budget is met, a
    stop is asked or ``max_trials`` ran (recycling); how many ran. Started while the server is
    away (a replacement, or slow to start), it waits: the storage answered when the run began."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = riding_out(lambda: stored_spec(name, storage_url=storage_url)).with_overrides(**(overrides or {}))
    select_backend(spec.backend)
    module, data = load_objective_and_data(spec)
    connection = riding_out(lambda: StudyConnection(storage_url, spec, out, create=False))
    storage, files = connection.storage, connection.files
    n_stored = len(storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False))
    seed = spec.seed + n_stored + WORKER_SEED_STRIDE * worker_number
    sampler, pruner = make_strategies(spec, seed, module, data)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    trackers = open_trackers(spec, study, out)
    scheduler = scheduler_of(spec)  # this process's one scheduler
    objective = _trial_runner(StudyContext(spec, module, data, files, scheduler, _ledger(study, spec, files), trackers, out))
    _check_metric(module, data, spec)
    recycling = f", replaced after {max_trials} trials" if max_trials else ""
    out(f"worker pid {os.getpid()} ready on {worker_device()}, Keras on {active_backend()}{recycling}")
    try:
        return work_loop(study, spec, objective, files, out, scheduler=scheduler, max_trials=max_trials, trackers=trackers)
    finally:
        if trackers is not None:
            trackers.close()


def _ledger(study: "optuna.Study", spec: StudySpec, files: StudyFiles) -> EpochLedger | None:
    return EpochLedger(study, spec.epoch_budget, slot_lock(study, files)) if spec.epoch_budget else None


def _trial_runner(context: "StudyContext") -> TrialFunction:
    """The trial function of this process's trials, on Keras (imported here)."""
    from hpo.trial import TrialRunner

    active_backend()  # imports Keras
    if context.spec.deterministic:
        use_deterministic_ops()
    return TrialRunner(context)


def _check_metric(module: "Objective", data: "TrainingData", spec: StudySpec) -> None:
    from hpo.trial import check_setup

    active_backend()  # imports Keras
    check_setup(module, data, spec)


def work_loop(
    study: "optuna.Study", spec: StudySpec, objective: TrialFunction, files: StudyFiles, out: Printer, *,
    scheduler: "Scheduler | None", max_trials: int | None = None, trackers: "Trackers | None" = None,
) -> int:
    """Run trials one at a time until the budget is met; returns how many ran here.

    Each trial first claims a slot of the budget (:func:`hpo.driver._budget.claim_slot`), so several
    processes on one study end with exactly ``n_trials`` finished trials.
    """
    from hpo.trial import drop_superseded_models

    progress = ProgressPrinter.for_study(spec, count_finished(study), out, worker_device(), scheduler=scheduler)
    guard = ConsecutiveFailureGuard(spec.max_consecutive_failures)

    slot = slot_lock(study, files)
    recorded = recording_failures(objective, lambda trial: retry_trial(study, spec, files, trial))
    # The trial `optimize` started, for after_trial (not an Optuna callback: Optuna reads the
    # whole trial back for those; hpo.storage._queries.finished_trial reads what it needs).
    running: list[int] = []
    lost: set[int] = set()  # trials another process finished while this one ran them

    def started(trial: "optuna.trial.Trial") -> TrialValue:
        slot.release()  # the trial is RUNNING in storage now, so it counts there
        running.append(trial_id(trial))
        files.mark_running(trial_id(trial))
        if scheduler is not None:  # which host paused or continued it (any host may go on)
            trial.set_user_attr(records.HOST, host_name())
        try:
            return recorded(trial)
        except Exception as error:
            if classify(error) == "taken_over":
                lost.add(trial_id(trial))
            raise

    def after_trial(trial_id: int) -> None:
        files.clear_running(trial_id)
        finished = finished_trial(study, trial_id)
        if trackers is not None:
            trackers.trial_finished(study, finished.number)
        progress(study, finished)
        guard.record(finished)
        drop_superseded_models(study, files, spec.pick_within)
        if records.paused_at_epoch(finished.user_attrs):
            note_checkpoint_peak(study, files)

    parent = os.environ.get(PARENT_PID_ENV)
    trials_run = 0
    try:
        with graceful_stop(), long_lived_heap_frozen():
            while max_trials is None or trials_run < max_trials:
                if stop_requested() or (parent and str(os.getppid()) != parent):
                    raise KeyboardInterrupt  # stopped between trials: nothing to record
                if not claim_slot(study, spec, files, slot, out, scheduler):
                    if scheduler is not None:
                        release_paused(study, files)  # the study is over: no paused trial goes on
                    break
                try:
                    # No gc_after_trial: a Keras trial starts with clear_session(), which
                    # collects; a second full collection cost 0.2 s of a 1.5 s 2-epoch trial.
                    study.optimize(started, n_trials=1, catch=(TrialFailure,))
                except Exception as error:
                    if (why := given_up()) is not None:
                        raise StorageError(why) from None  # not what Optuna made of it
                    # Optuna's own tell then fails too, in one of several ways; storage decides.
                    if not running or not (running[-1] in lost or classify(error) == "taken_over") \
                            or not taken_over(study, running[-1], out):
                        raise
                    files.clear_running(running.pop())  # its retry runs elsewhere; nothing to count here
                    continue
                finally:
                    slot.release()  # when the trial never started
                    end_deferral()  # an interrupted trial is stored whole: a second signal stops now
                if running:
                    after_trial(running.pop())
                trials_run += 1
                if guard.tripped:
                    raise TooManyFailuresError(
                        f"{guard.limit} trials failed in a row, stopping study {spec.name!r}; "
                        f"last reason: {guard.last_reason}"
                    )
    finally:
        slot.release()
    return trials_run
