"""Create or resume a study and top it up to its budget.

The budget is a *total*: a study whose script says ``n_trials=30`` should end with 30 finished
(complete or pruned) trials however often it is interrupted and re-run (optuna/optuna#2638).
Failed trials do not count; they are retried by running more trials, and several failures in
a row stop the study (KerasTuner's ``max_consecutive_failed_trials``).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import time
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator

from hpo.errors import SetupError, TooManyFailuresError, TrialFailure
from hpo.interrupts import TrialInterrupted, graceful_stop, stop_requested
from hpo.selection import chosen_for, chosen_trial, pareto_front
from hpo.spec import IDENTITY_FIELDS, StudySpec
from hpo.storage import mask_url, open_storage, resolve_url
from hpo.strategies import check_sampler_available, make_pruner, make_sampler
from hpo.study_files import HeldLock, StudyFiles, process_is_dead, storage_lock

if TYPE_CHECKING:
    from collections import Counter

    import optuna
    from optuna.trial import TrialState

    from hpo.data import Dataset

SPEC_ATTR = "hpo_spec"
FAIL_REASON_ATTR = "fail_reason"
FAIL_TRACEBACK_ATTR = "fail_traceback"
MAX_REASON_CHARS = 500
MAX_TRACEBACK_CHARS = 4000

Objective = Callable[["optuna.trial.Trial"], float]
Printer = Callable[[str], None]


@dataclass(frozen=True)
class RunOutcome:
    study_name: str
    metric: str
    storage: str  # masked
    n_finished: int
    budget: int
    best_value: float | None  # the metric of the best (or, multi-objective, the picked) trial
    pareto_size: int | None
    best_params: dict[str, Any] | None
    best_number: int | None
    trials_run: int  # by this call


def _print(line: str) -> None:
    print(line, flush=True)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    spec: StudySpec
    url: str
    shown: str  # the URL, masked
    study: "optuna.Study"
    files: StudyFiles
    is_new: bool
    module: ModuleType | None
    data: "Dataset | None"


def run(
    spec: StudySpec,
    *,
    storage_url: str | None = None,
    objective: Objective | None = None,
    out: Printer = _print,
) -> RunOutcome:
    """Create the study (or resume it) and run trials until the budget is met.

    With ``spec.workers`` above 1, trials run in that many worker processes (see
    :mod:`hpo.workers`); otherwise in this process. ``objective`` replaces the spec's Keras
    objective with any ``(trial) -> float`` callable (used by benchmarks and tests); the spec
    still supplies name, direction, sampler and budget.
    """
    prepared = _prepare(spec, storage_url, load_objective=objective is None, out=out)
    spec, study, files = prepared.spec, prepared.study, prepared.files  # a grid may set the budget
    finished = count_finished(study)
    if finished >= spec.n_trials:
        out(f"study {spec.name!r} already has {finished}/{spec.n_trials} finished trials; nothing to run")
        return _outcome(study, spec, prepared.shown, trials_run=0)

    verb = "created" if prepared.is_new else "resumed"
    workers = f", {spec.workers} workers" if spec.workers > 1 else ""
    if spec.multi_objective:
        goal = (f"{spec.metric} ({spec.direction}) and {spec.also_minimize} (minimize), "
                f"no pruning (Optuna prunes single-objective studies only)")
    else:
        goal = f"pruner {spec.pruner}, {spec.metric} ({spec.direction})"
    out(f"{verb} study {spec.name!r} in {prepared.shown}: {finished}/{spec.n_trials} finished, "
        f"sampler {spec.sampler}, {goal}{workers}")

    if objective is not None:  # a plain callable (tests, benchmarks): no Keras, no workers
        if spec.workers > 1:
            raise SetupError("several workers need the study's own objective, not a callable")
        trials_run = work_loop(study, spec, objective, files, out)
    elif spec.workers > 1 or spec.recycle_after:  # recycling needs worker processes
        from hpo.workers import supervise

        out(f"data {prepared.data.describe()}")
        trials_run = supervise(prepared.url, spec, files, study, out)
    else:
        assert prepared.module is not None and prepared.data is not None
        out(f"data {prepared.data.describe()}")
        objective = _keras_objective(prepared.module, prepared.data, spec, files, out)
        trials_run = work_loop(study, spec, objective, files, out)
    return _outcome(study, spec, prepared.shown, trials_run=trials_run)


WORKER_SEED_STRIDE = 100_003


def work(
    name: str, *, storage_url: str, max_trials: int | None = None, worker_number: int = 1,
    out: Printer = _print,
) -> int:
    """One worker process of ``hpo run --workers N``: run trials of a study its parent created
    until the budget is met, a stop is requested, or ``max_trials`` trials ran (recycling).
    Returns the number of trials run."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    stored, spec = load_hpo_study(name, storage_url=storage_url)
    from hpo.data import load_dataset
    from hpo.objectives import load_objective

    module = load_objective(spec.objective)
    data = load_dataset(spec.dataset, seed=spec.seed)
    # Each worker seeds its sampler differently, or N workers would propose the same points.
    seed = spec.seed + len(stored.get_trials(deepcopy=False)) + WORKER_SEED_STRIDE * worker_number
    sampler, pruner = _strategies(spec, seed, module, data)
    study = optuna.load_study(study_name=name, storage=stored._storage, sampler=sampler, pruner=pruner)
    files = StudyFiles(storage_url, name)
    _install_heartbeat_retries(study, spec, files, out)
    objective = _keras_objective(module, data, spec, files, out)
    recycling = f", replaced after {max_trials} trials" if max_trials else ""
    out(f"worker pid {os.getpid()} ready{recycling}")
    return work_loop(study, spec, objective, files, out, max_trials=max_trials)


def resume(
    name: str, *, storage_url: str | None = None, overrides: dict[str, Any] | None = None,
    out: Printer = _print,
) -> RunOutcome:
    """Continue study ``name`` with the settings stored with it (``overrides`` replace some)."""
    spec = stored_spec(name, storage_url=storage_url)
    return run(spec.with_overrides(**(overrides or {})), storage_url=storage_url, out=out)


def stored_spec(name: str, *, storage_url: str | None = None) -> StudySpec:
    """The settings saved with study ``name`` by ``hpo run``."""
    return load_hpo_study(name, storage_url=storage_url)[1]


def load_hpo_study(name: str, *, storage_url: str | None = None) -> tuple["optuna.Study", StudySpec]:
    """Study ``name`` (opened read-only: nothing is created) and the settings stored with it."""
    import optuna

    url = resolve_url(storage_url)
    storage = open_storage(url, create=False)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SetupError(f"no study named {name!r} in {mask_url(url)} (see `hpo ls`)") from None
    data = study.user_attrs.get(SPEC_ATTR)
    if data is None:
        raise SetupError(f"study {name!r} was not created by hpo run; run it with a study script")
    return study, StudySpec.from_dict(data)


def _prepare(spec: StudySpec, storage_url: str | None, *, load_objective: bool, out: Printer) -> _Prepared:
    """Everything before the first trial, in an order that loses nothing when it fails:
    objective and data first (a missing file stops the run before a study exists), then the
    study, created once under a lock so that processes starting at the same moment do not
    race on a new database's schema (optuna/optuna#1092)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we print our own line per trial
    check_sampler_available(spec.sampler)
    module: ModuleType | None = None
    data: "Dataset | None" = None
    if load_objective:
        from hpo.data import load_dataset
        from hpo.objectives import load_objective as load_module

        module = load_module(spec.objective)
        data = load_dataset(spec.dataset, seed=spec.seed)  # once per process, never per trial
    if spec.sampler == "grid":
        spec = _fit_budget_to_grid(spec, module, out)

    url = resolve_url(storage_url, spec.storage)
    files = StudyFiles(url, spec.name)
    with storage_lock(url):
        storage = open_storage(url, create=True)
        study, is_new = _create_or_load(spec, storage, out, module, data)
        _install_heartbeat_retries(study, spec, files, out)
        _recover_dead_trials(study, spec, files, out)
        _sweep_checkpoints(study, files)
        if is_new:
            _enqueue_first_trials(study, spec, module)
    return _Prepared(spec, url, mask_url(url), study, files, is_new, module, data)


def count_finished(study: "optuna.Study") -> int:
    """Trials that count towards the budget: complete or pruned (not failed, not running)."""
    from optuna.trial import TrialState

    counts = count_by_state(study)
    return counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]


# --------------------------------------------------------------------------------------------
# Study creation
# --------------------------------------------------------------------------------------------
def _fit_budget_to_grid(spec: StudySpec, module: ModuleType | None, out: Printer) -> StudySpec:
    """Check the grid against the objective and say, before any training, how it compares
    with the budget: a smaller grid becomes the budget (Optuna would repeat its points)."""
    from hpo.grid import check_grid
    from hpo.strategies import grid_size, require_grid

    require_grid(spec.grid)
    if module is not None:
        check_grid(spec.grid, getattr(module, "DEFAULT_PARAMS", {}), module.suggest)
    size = grid_size(spec.grid)
    if size > spec.n_trials:
        out(f"note: the grid has {size} points and the budget is {spec.n_trials} trials: "
            f"{size - spec.n_trials} points will not be tried (--n-trials {size} covers the grid)")
    elif size < spec.n_trials:
        out(f"note: the grid has {size} points; the budget is {size} trials, not {spec.n_trials}")
        spec = spec.with_overrides(n_trials=size)
    return spec


def _strategies(
    spec: StudySpec, seed: int, module: ModuleType | None, data: "Dataset | None",
) -> tuple["optuna.samplers.BaseSampler", "optuna.pruners.BasePruner"]:
    import optuna

    defaults = getattr(module, "DEFAULT_PARAMS", None) or {}
    sampler = make_sampler(spec.sampler, seed=seed, grid=spec.grid, defaults=defaults)
    if spec.multi_objective:  # Optuna cannot prune a multi-objective trial (no report)
        return sampler, optuna.pruners.NopPruner()
    pruner = make_pruner(spec.pruner, max_epochs=spec.max_epochs, metric=spec.metric,
                         direction=spec.direction, n_classes=data.n_classes if data else None,
                         options=spec.pruner_options)
    return sampler, pruner


def _create_or_load(
    spec: StudySpec, storage, out: Printer, module: ModuleType | None = None,
    data: "Dataset | None" = None,
) -> tuple["optuna.Study", bool]:
    import optuna

    try:
        study_id = storage.get_study_id_from_name(spec.name)
    except KeyError:
        study_id = None

    n_existing = 0
    if study_id is not None:
        directions = [d.name.lower() for d in storage.get_study_directions(study_id)]
        if directions != spec.directions:
            raise SetupError(
                f"study {spec.name!r} already exists with direction {'/'.join(directions)}, "
                f"not {'/'.join(spec.directions)}; use another --study-name"
            )
        stored = storage.get_study_user_attrs(study_id).get(SPEC_ATTR)
        if stored is not None:
            _report_differences(spec, StudySpec.from_dict(stored), out)
        n_existing = len(storage.get_all_trials(study_id, deepcopy=False))

    # A sampler seeded identically on every resume would repeat its first proposals
    # (optuna/optuna#3255); offsetting by the trials already stored keeps runs reproducible
    # from a fresh study while a resumed study explores new points.
    sampler, pruner = _strategies(spec, spec.seed + n_existing, module, data)
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        directions=spec.directions,
        load_if_exists=True,
    )
    if study.user_attrs.get(SPEC_ATTR) != spec.to_dict():
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
    return study, study_id is None


def _report_differences(spec: StudySpec, stored: StudySpec, out: Printer) -> None:
    differences = spec.differences(stored)
    identity = [d for d in differences if d[0] in IDENTITY_FIELDS]
    if identity:
        changes = ", ".join(f"{key} {old!r} -> {new!r}" for key, old, new in identity)
        raise SetupError(
            f"study {spec.name!r} exists with different {changes}; these define the study, "
            f"so use a new --study-name"
        )
    if differences:
        changes = ", ".join(f"{key} {old!r} -> {new!r}" for key, old, new in differences)
        out(f"note: study {spec.name!r} continues with changed settings: {changes}")


def _enqueue_first_trials(study: "optuna.Study", spec: StudySpec, module: ModuleType | None) -> None:
    """The study's first trials: the objective's recommended defaults, the script's
    ``enqueue`` list, then the best trials of the study named by ``warm_start``."""
    first: list[dict[str, Any]] = []
    defaults = getattr(module, "DEFAULT_PARAMS", None) if module is not None else None
    # A grid study tries its grid; the defaults would take one of its trials.
    if spec.enqueue_defaults and defaults and spec.sampler != "grid":
        first.append(dict(defaults))
    first.extend(dict(params) for params in spec.enqueue)
    if spec.warm_start:
        first.extend(_warm_start_params(study, spec))
    for params in first:
        study.enqueue_trial(params, skip_if_exists=True)


def _warm_start_params(study: "optuna.Study", spec: StudySpec) -> list[dict[str, Any]]:
    """Parameters of the ``warm_start_trials`` best complete trials of the earlier study
    ``spec.warm_start`` (in the same storage), best first, by its first objective."""
    import optuna

    try:
        earlier = optuna.load_study(study_name=spec.warm_start, storage=study._storage)
    except KeyError:
        raise SetupError(f"warm_start: no study named {spec.warm_start!r} in this storage (see `hpo ls`)") from None
    complete = earlier.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise SetupError(f"warm_start: study {spec.warm_start!r} has no complete trial to start from")
    maximize = earlier.directions[0].name == "MAXIMIZE"
    complete.sort(key=lambda t: t.values[0], reverse=maximize)
    return [dict(t.params) for t in complete[:spec.warm_start_trials]]


# --------------------------------------------------------------------------------------------
# Trials left RUNNING by a dead process
# --------------------------------------------------------------------------------------------
def recover_dead_trials(study: "optuna.Study", spec: StudySpec, files: StudyFiles, out: Printer) -> None:
    """:func:`_recover_dead_trials` under the storage's lock (one process recovers a trial)."""
    with storage_lock_for(study):
        _recover_dead_trials(study, spec, files, out)


def _recover_dead_trials(study: "optuna.Study", spec: StudySpec, files: StudyFiles, out: Printer) -> None:
    """Fail RUNNING trials whose worker is gone, with the reason stored, and queue retries.

    Optuna's heartbeat also fails stale trials, but only after its grace period and without a
    reason (a finished trial's attributes can no longer be written). A worker of this host
    whose process is gone is provably dead, so its trial is recovered at once; a trial of
    another host is recovered here once its heartbeat is stale.
    """
    from optuna.trial import TrialState

    storage = study._storage
    # Optuna's own fail_stale_trials() reads the same private helper.
    stale_ids = set(storage._get_stale_trial_ids(study._study_id)) if hasattr(storage, "_get_stale_trial_ids") else set()
    local_workers = files.running_workers()
    running = {t._trial_id: t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    for trial_id, worker in local_workers.items():
        if trial_id not in running and process_is_dead(worker):
            files.clear_running(trial_id)  # its trial ended (e.g. Ctrl-C) or was recovered elsewhere
    for trial_id, trial in running.items():
        worker = local_workers.get(trial_id, "")
        if worker and process_is_dead(worker):
            reason = f"worker {worker} died while running this trial"
        elif trial_id in stale_ids:
            reason = f"worker {worker or 'on another host'} stopped sending heartbeats"
        else:
            continue
        try:
            storage.set_trial_user_attr(trial_id, FAIL_REASON_ATTR, reason)
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except Exception:  # noqa: BLE001 - another process recovered it first; it queued the retry
            files.clear_running(trial_id)
            continue
        files.clear_running(trial_id)
        retry = _queue_retry(study, spec, files, trial.number, trial.params, trial.user_attrs)
        out(f"[trial {trial.number:>4}] FAIL      {reason}; {retry}")


def _queue_retry(
    study: "optuna.Study", spec: StudySpec, files: StudyFiles, number: int,
    params: dict[str, Any], user_attrs: dict[str, Any],
) -> str:
    from hpo.retries import queue_retry

    return queue_retry(study, number=number, params=params, user_attrs=user_attrs,
                       study_seed=spec.seed, max_retries=spec.max_retries, files=files)


def _install_heartbeat_retries(study: "optuna.Study", spec: StudySpec, files: StudyFiles, out: Printer) -> None:
    """Retry the trials Optuna's heartbeat check fails (trials of workers on other hosts)."""
    storage = _rdb_storage(study)
    if storage is None:
        return

    def retry_stale(study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        retry = _queue_retry(study, spec, files, trial.number, trial.params, trial.user_attrs)
        out(f"[trial {trial.number:>4}] FAIL      its worker stopped sending heartbeats; {retry}")

    storage.heartbeat_stale_trial_callback = retry_stale


def _sweep_checkpoints(study: "optuna.Study", files: StudyFiles) -> None:
    """Remove checkpoints no trial will resume from, so disk use stays bounded.

    A checkpoint is kept while its trial runs, and while a waiting or running retry refers
    to it (a retry that has just started may not have taken it over yet).
    """
    from optuna.trial import TrialState

    numbers = files.checkpointed_trials()
    if not numbers:
        return
    from hpo.retries import RETRY_OF_ATTR

    live = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
    needed = {t.number for t in live if t.state == TrialState.RUNNING}
    needed |= {int(t.user_attrs[RETRY_OF_ATTR]) for t in live if RETRY_OF_ATTR in t.user_attrs}
    for number in numbers:
        if number not in needed:
            files.checkpoint(number).remove()


# --------------------------------------------------------------------------------------------
# The optimisation loop
# --------------------------------------------------------------------------------------------
def _keras_objective(
    module: ModuleType, data: "Dataset", spec: StudySpec, files: StudyFiles, out: Printer,
) -> Objective:
    from hpo.keras_runtime import prepare_keras, use_deterministic_ops

    prepare_keras()
    if spec.deterministic:
        use_deterministic_ops()
    from hpo.objectives import make_objective

    return make_objective(module, data, spec, files, warn=out)


@contextlib.contextmanager
def _long_lived_heap_frozen() -> Iterator[None]:
    """Exempt what is alive when the loop starts (TensorFlow, Keras, the data) from garbage
    collection until it ends: the full collection of every Keras trial (in clear_session)
    would otherwise walk the 320,000 objects TensorFlow and Keras keep, 0.12 s a trial. Only
    cyclic garbage among those objects waits for the end of the loop; the trials' own
    objects are collected as before."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def work_loop(
    study: "optuna.Study", spec: StudySpec, objective: Objective, files: StudyFiles, out: Printer,
    *, max_trials: int | None = None,
) -> int:
    """Run trials one at a time until the budget is met; returns how many ran here.

    Each trial first claims a slot of the budget (see :func:`_claim_slot`), so several
    processes on one study end with exactly ``n_trials`` finished trials.
    """
    progress = ProgressPrinter(study, spec.n_trials, count_finished(study), out, spec.pick_within)
    guard = ConsecutiveFailureGuard(spec.max_consecutive_failures)

    def after_trial(study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        # One callback, not three: Optuna deep-copies the trial for each callback.
        files.clear_running(trial._trial_id)
        progress(study, trial)
        guard(study, trial)
        _drop_superseded_models(study, files)

    slot = files.slot_lock()
    recorded = _recording_failures(objective, study, spec, files, slot)
    parent = os.environ.get(PARENT_PID_ENV)
    trials_run = 0
    try:
        with graceful_stop(), _long_lived_heap_frozen():
            while max_trials is None or trials_run < max_trials:
                if stop_requested() or (parent and str(os.getppid()) != parent):
                    raise KeyboardInterrupt  # stopped between trials: nothing to record
                if not _claim_slot(study, spec, files, slot, out):
                    break
                try:
                    # No gc_after_trial: a Keras trial starts with clear_session(), which
                    # collects; a second full collection cost 0.2 s of a 1.5 s 2-epoch trial.
                    study.optimize(recorded, n_trials=1, catch=(TrialFailure,),
                                   callbacks=[after_trial])
                finally:
                    slot.release()  # when the trial never started
                trials_run += 1
                if guard.tripped:
                    raise TooManyFailuresError(
                        f"{guard.limit} trials failed in a row, stopping study {spec.name!r}; "
                        f"last reason: {guard.last_reason}"
                    )
    finally:
        slot.release()
    return trials_run


PARENT_PID_ENV = "HPO_PARENT_PID"
BUDGET_POLL_S = 1.0


def _claim_slot(
    study: "optuna.Study", spec: StudySpec, files: StudyFiles, slot: HeldLock, out: Printer,
) -> bool:
    """Take the slot lock when the budget allows one more trial; False when it is met.

    Finished and running trials both count, and the lock stays held until the new trial is
    RUNNING in storage, so N workers of this host never start more trials than the budget
    has left. While every remaining slot is taken by a running trial, wait: that trial may
    fail (it does not count then) and need replacing. The lock is local, so workers of
    several hosts can overshoot by the trials they start at the same moment.
    """
    from optuna.trial import TrialState

    announced = False
    while True:
        if files.has_dead_worker():
            recover_dead_trials(study, spec, files, out)
        slot.acquire()
        counts = count_by_state(study)
        finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        if finished < spec.n_trials and finished + counts[TrialState.RUNNING] < spec.n_trials:
            return True  # held until the trial starts
        slot.release()
        if finished >= spec.n_trials:
            return False
        if not announced:
            out(f"waiting: the rest of the budget is taken by {counts[TrialState.RUNNING]} running trial(s)")
            announced = True
        if stop_requested():
            raise KeyboardInterrupt  # stopped while waiting: no trial of ours is running
        time.sleep(BUDGET_POLL_S)
        recover_dead_trials(study, spec, files, out)  # stale heartbeats of other hosts


def _rdb_storage(study: "optuna.Study") -> "optuna.storages.RDBStorage | None":
    """The study's RDBStorage: Optuna wraps it in a private caching layer (``_backend``)."""
    from optuna.storages import RDBStorage

    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, RDBStorage) else None


def storage_lock_for(study: "optuna.Study") -> contextlib.AbstractContextManager[None]:
    storage = _rdb_storage(study)
    return storage_lock(storage.url) if storage is not None else contextlib.nullcontext()


def count_by_state(study: "optuna.Study") -> "Counter[TrialState]":
    """Trials per state, counted in the database where it is one: Optuna's own counting loads
    every trial, which costs milliseconds per trial on a study of a few thousand."""
    import collections

    storage = _rdb_storage(study)
    if storage is not None:
        from optuna.storages._rdb import models
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        query = (
            select(models.TrialModel.state, func.count())
            .where(models.TrialModel.study_id == study._study_id)
            .group_by(models.TrialModel.state)
        )
        with Session(storage.engine) as session:
            return collections.Counter(dict(session.execute(query).all()))
    return collections.Counter(t.state for t in study.get_trials(deepcopy=False))


def _drop_superseded_models(study: "optuna.Study", files: StudyFiles) -> None:
    """Keep the saved models of the best trial(s) and of running trials only."""
    kept = files.kept_models()
    if len(kept) <= 1:
        return
    from optuna.trial import TrialState

    if len(study.directions) == 1:
        best = {study.best_trial.number}
    else:
        best = {t.number for t in study.best_trials}
    running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    files.drop_models(number for number in kept if number not in best | running)


def _recording_failures(
    objective: Objective, study: "optuna.Study", spec: StudySpec, files: StudyFiles, slot: HeldLock,
) -> Objective:
    """Store why a trial failed on the trial itself, then let Optuna mark it FAIL.

    Exceptions from one trial become :class:`TrialFailure` (the study goes on); a
    :class:`SetupError` (e.g. the monitored metric does not exist) and Ctrl-C stop the study.
    An interrupted trial is retried from its checkpoint by the next run.
    """
    import optuna

    def recorded(trial: "optuna.trial.Trial") -> float:
        slot.release()  # the trial is RUNNING in storage now, so it counts there
        files.mark_running(trial._trial_id)
        try:
            return objective(trial)
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt as error:
            reason = _store_reason(trial, error)
            retry = _queue_retry(study, spec, files, trial.number, trial.params, trial.user_attrs)
            with contextlib.suppress(Exception):
                trial.set_user_attr(FAIL_REASON_ATTR, f"{reason}; {retry}")
            raise
        except SetupError as error:
            _store_reason(trial, error)
            raise
        except Exception as error:
            reason = _store_reason(trial, error)
            raise TrialFailure(reason) from error

    return recorded


def describe_failure(error: BaseException) -> str:
    if isinstance(error, TrialInterrupted):
        return f"{error} (Ctrl-C or SIGTERM)"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C or SIGTERM)"
    name = type(error).__name__
    text = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, MemoryError) or "ResourceExhausted" in name or "out of memory" in text.lower():
        return f"out of memory: {name}: {text}"[:MAX_REASON_CHARS]
    return (f"{name}: {text}" if text else name)[:MAX_REASON_CHARS]


def _store_reason(trial: "optuna.trial.Trial", error: BaseException) -> str:
    reason = describe_failure(error)
    with contextlib.suppress(Exception):  # the reason is best effort; the FAIL state is not
        trial.set_user_attr(FAIL_REASON_ATTR, reason)
        if not isinstance(error, (KeyboardInterrupt, TrialFailure)):
            trace = "".join(traceback.format_exception(error))
            trial.set_user_attr(FAIL_TRACEBACK_ATTR, trace[-MAX_TRACEBACK_CHARS:])
    return reason


class ConsecutiveFailureGuard:
    """Stops the study after ``limit`` failed trials in a row."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.tripped = False
        self.last_reason = ""

    def __call__(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        from optuna.trial import TrialState

        if trial.state != TrialState.FAIL:
            self.in_a_row = 0
            return
        self.in_a_row += 1
        self.last_reason = trial.user_attrs.get(FAIL_REASON_ATTR, "no reason recorded")
        if self.in_a_row >= self.limit:
            self.tripped = True
            study.stop()


class ProgressPrinter:
    """One line per finished trial: number, state, value, best so far, time, elapsed, ETA.

    Counts and the best trial are read from storage, so with several workers every line
    shows the whole study's progress and the ETA its combined rate.
    """

    def __init__(self, study: "optuna.Study", budget: int, finished: int, out: Printer,
                 pick_within: float | None = None) -> None:
        self.budget = budget
        self.pick_within = pick_within
        self.finished = self.finished_at_start = finished
        self.out = out
        self.best: tuple[float, int] | None = None
        self.started = time.monotonic()

    def __call__(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        from optuna.trial import TrialState

        counts = count_by_state(study)
        self.finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        best = chosen_trial(study, self.pick_within)
        if best is not None:
            self.best = (best.values[0], best.number)
        self.out(self.format_line(trial))

    def format_line(self, trial: "optuna.trial.FrozenTrial") -> str:
        from optuna.trial import TrialState

        elapsed = time.monotonic() - self.started
        remaining = max(0, self.budget - self.finished)
        progress = self.finished - self.finished_at_start
        eta = elapsed / progress * remaining if progress > 0 else math.nan
        duration = trial.duration.total_seconds() if trial.duration else 0.0
        if trial.state == TrialState.COMPLETE:
            detail = "value=" + "/".join(f"{value:.4g}" if abs(value) >= 1e4 else f"{value:.4f}"
                                         for value in trial.values)
        elif trial.state == TrialState.PRUNED:
            last = trial.last_step
            detail = f"pruned at epoch {last}" if last is not None else "pruned"
        else:
            detail = trial.user_attrs.get(FAIL_REASON_ATTR, "failed")
        best = f"best={self.best[0]:.4f} (#{self.best[1]})" if self.best else "best=-"
        return (
            f"[trial {trial.number:>4}] {trial.state.name:<9} {detail:<24} {best}  "
            f"{duration:5.1f}s  {self.finished}/{self.budget} done  "
            f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}"
        )


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _outcome(study: "optuna.Study", spec: StudySpec, shown: str, *, trials_run: int) -> RunOutcome:
    best = chosen_for(study, spec)
    return RunOutcome(
        study_name=spec.name,
        metric=spec.metric,
        storage=shown,
        n_finished=count_finished(study),
        budget=spec.n_trials,
        best_value=best.values[0] if best else None,
        pareto_size=len(pareto_front(study)) if spec.multi_objective else None,
        best_params=dict(best.params) if best else None,
        best_number=best.number if best else None,
        trials_run=trials_run,
    )
